"""``ResumableProvider``: a provider whose paid work is started once and collected later.

A plain ``EditProvider.edit`` submits and polls in one call, so a worker that dies mid-poll can
only run it again, and pay again. A resumable provider splits the call in two::

    handle = await provider.submit(request, model=m)      # starts (and pays for) the remote job
    ... the job runner persists ``handle`` on the job row ...
    result = await provider.collect(request, handle, model=m, progress=cb)   # polls, downloads

After a restart the runner finds the persisted handle and calls ``collect`` again; ``submit`` is
never called twice for one job. ``RemoteHandle.state`` must be JSON-serialisable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

from editstudio.core.errors import ProviderOutputInvalid
from editstudio.core.provider import EditProvider, ProgressCallback
from editstudio.core.request import EditRequest, EditResult


@dataclass(frozen=True)
class RemoteHandle:
    """Enough to find a submitted remote job again: its provider, id and any poll details."""

    provider: str
    remote_id: str
    state: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "state", MappingProxyType(dict(self.state)))

    def to_dict(self) -> dict[str, Any]:
        return {"provider": self.provider, "remote_id": self.remote_id, "state": dict(self.state)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RemoteHandle:
        provider, remote_id, state = data.get("provider"), data.get("remote_id"), data.get("state", {})
        if not isinstance(provider, str) or not isinstance(remote_id, str) or not isinstance(state, Mapping):
            raise ProviderOutputInvalid(
                "a stored remote handle is malformed", provider=str(provider or "unknown")
            )
        return cls(provider, remote_id, state)


@runtime_checkable
class ResumableProvider(EditProvider, Protocol):
    """An ``EditProvider`` that can also submit once and collect (again) by handle."""

    async def submit(self, request: EditRequest, *, model: str) -> RemoteHandle: ...

    async def collect(
        self,
        request: EditRequest,
        handle: RemoteHandle,
        *,
        model: str,
        progress: ProgressCallback | None = None,
    ) -> EditResult: ...
