"""The contract every provider and the local engine implement."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from editstudio.core.operations import Operation
from editstudio.core.request import EditRequest, EditResult


@dataclass(frozen=True)
class Progress:
    """A step of a running edit: ``fraction`` in [0, 1] when known."""

    stage: str
    fraction: float | None = None
    message: str = ""


ProgressCallback = Callable[[Progress], None]


@runtime_checkable
class EditProvider(Protocol):
    """Turns an ``EditRequest`` into an ``EditResult``, or raises an ``EditStudioError``."""

    name: str

    def supports(self, operation: Operation) -> bool: ...

    async def edit(
        self,
        request: EditRequest,
        *,
        model: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> EditResult: ...
