"""The engine tests' ``kit`` fixture: the synthetic-image builders and metrics of ``engine_kit``."""

from __future__ import annotations

import pytest
from engine_kit import Kit


@pytest.fixture
def kit() -> type[Kit]:
    return Kit
