"""The one place the test suite decides what an unreachable PostgreSQL server means.

Locally, tests that need PostgreSQL are skipped when it does not answer; under CI (``CI=true``)
they fail instead, so a broken database setup cannot pass as a green run. ``pyproject.toml`` puts
``tests/`` on ``sys.path`` (pytest's ``pythonpath``), so every folder's conftest can import this.
"""

from __future__ import annotations

import os

import pytest

from editstudio.db.testing import postgres_server_url, postgres_unavailable


async def require_postgres() -> str:
    """The PostgreSQL server URL tests may use; skips the test (fails it under CI) if unreachable."""
    problem = await postgres_unavailable()
    if problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(problem)
        pytest.skip(problem)
    return postgres_server_url()
