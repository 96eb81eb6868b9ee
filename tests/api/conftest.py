"""API fixtures: a migrated app per test over an in-memory blob store (the helpers behind them
live in ``api_kit``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from api_kit import Api, make_settings, running_api


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(make_settings(tmp_path)) as running:
        yield running
