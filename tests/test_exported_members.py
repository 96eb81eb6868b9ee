"""``editstudio.__all__`` is exactly the package's public names (as httpx checks its own)."""

from __future__ import annotations

import types

import editstudio
import editstudio.core


def public_names() -> set[str]:
    # Submodules become attributes of the package once imported; they are not public names.
    eager = {
        name
        for name, value in vars(editstudio).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    return eager | set(editstudio._LAZY) | {"__version__"}


def test_all_is_exactly_the_public_names() -> None:
    assert set(editstudio.__all__) == public_names()


def test_all_has_no_duplicates() -> None:
    assert len(editstudio.__all__) == len(set(editstudio.__all__))


def test_every_exported_name_resolves() -> None:
    for name in editstudio.__all__:
        assert getattr(editstudio, name) is not None, name


def test_core_public_names_are_re_exported() -> None:
    missing = set(editstudio.core.__all__) - set(editstudio.__all__)
    assert not missing
    for name in editstudio.core.__all__:
        assert getattr(editstudio, name) is getattr(editstudio.core, name)


def test_library_entry_points_are_the_editing_ones() -> None:
    from editstudio import editing

    assert editstudio.run_edit is editing.run_edit
    assert editstudio.run_edit_sync is editing.run_edit_sync


def test_version_is_a_string() -> None:
    assert isinstance(editstudio.__version__, str) and editstudio.__version__
