"""Layering: ``editstudio.core`` imports no I/O library, and ``import editstudio`` stays light."""

from __future__ import annotations

import subprocess
import sys
import textwrap

BLOCKED = ("httpx", "sqlalchemy", "fastapi", "cv2", "PIL", "numpy", "pydantic")

_BLOCKER = textwrap.dedent(
    """
    import sys

    BLOCKED = {blocked!r}

    class Blocker:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"blocked import: {{name}}")
            return None

    sys.meta_path.insert(0, Blocker())
    """
)


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )


def test_core_imports_with_io_libraries_blocked() -> None:
    code = _BLOCKER.format(blocked=BLOCKED) + textwrap.dedent(
        """
        import editstudio.core as core
        request = core.EditRequest(operation="erase", image=b"x", mask=b"m")
        assert request.operation is core.Operation.ERASE
        print("ok")
        """
    )
    done = run_python(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_the_blocker_really_blocks() -> None:
    # Guards the test above: a blocker that let everything through would make it pass vacuously.
    done = run_python(_BLOCKER.format(blocked=BLOCKED) + "import httpx")
    assert done.returncode != 0
    assert "blocked import: httpx" in done.stderr


def test_import_editstudio_is_light() -> None:
    heavy = ("httpx", "sqlalchemy", "fastapi", "cv2")
    code = textwrap.dedent(
        f"""
        import sys
        import editstudio
        assert editstudio.EditRequest is not None
        print(",".join(m for m in {heavy!r} if m in sys.modules))
        """
    )
    done = run_python(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""
