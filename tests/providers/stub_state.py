"""The scaffolding the loopback stubs' ``StubState`` classes share: a lock, reset on construction,
and queues of canned faults consumed one per request. It is test plumbing only; what each stub checks
and answers (the provider's contract) stays in that stub, written independently of the adapter."""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

F = TypeVar("F")


class LockedState:
    """State the stub's server thread and the test's thread both touch, so every access takes
    ``lock``. Subclasses define ``reset`` (run on construction and before each test)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        raise NotImplementedError


class QueuedFaults(LockedState, Generic[F]):
    """One fault queue for the whole stub (its single endpoint); ``reset`` sets ``faults = []``."""

    faults: list[F]

    def add_fault(self, fault: F, times: int = 1) -> None:
        with self.lock:
            self.faults.extend(fault for _ in range(times))

    def take_fault(self) -> F | None:
        with self.lock:
            return self.faults.pop(0) if self.faults else None


class EndpointFaults(LockedState, Generic[F]):
    """A fault queue per endpoint name, so a test can fail the poll and not the submit;
    ``reset`` sets ``faults = defaultdict(list)``."""

    faults: dict[str, list[F]]

    def add_fault(self, endpoint: str, fault: F, times: int = 1) -> None:
        with self.lock:
            self.faults[endpoint].extend(fault for _ in range(times))

    def take_fault(self, endpoint: str) -> F | None:
        with self.lock:
            queue = self.faults.get(endpoint)
            return queue.pop(0) if queue else None
