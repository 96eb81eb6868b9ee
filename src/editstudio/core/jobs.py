"""The job state machine: the states a job passes through and the moves allowed between them.

Pure data and one pure function; persistence and the runner build on it::

    queued ──> running ──> succeeded
      │  ^        │
      │  └────────┤ (requeued for a retry, or after a worker died)
      │           ├──> failed
      ├──> failed └──> cancelled
      └──> cancelled

``succeeded``, ``failed`` and ``cancelled`` are terminal: nothing leaves them, so a late worker
cannot resurrect a cancelled job or charge a failed one twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from editstudio.core.errors import JobConflict


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return not ALLOWED_TRANSITIONS[self]


ALLOWED_TRANSITIONS: Mapping[JobState, frozenset[JobState]] = MappingProxyType(
    {
        # queued -> failed: the job can be refused at pick-up (input asset gone, reservation lost)
        # without pretending it ever ran.
        JobState.QUEUED: frozenset({JobState.RUNNING, JobState.FAILED, JobState.CANCELLED}),
        # running -> queued: a retryable provider error or a dead worker puts the job back; the
        # provider_state kept on the row lets the next attempt poll instead of resubmitting.
        JobState.RUNNING: frozenset(
            {JobState.QUEUED, JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED}
        ),
        JobState.SUCCEEDED: frozenset(),
        JobState.FAILED: frozenset(),
        JobState.CANCELLED: frozenset(),
    }
)

TERMINAL_STATES: frozenset[JobState] = frozenset(s for s, nxt in ALLOWED_TRANSITIONS.items() if not nxt)


def can_transition(current: JobState, new: JobState) -> bool:
    return new in ALLOWED_TRANSITIONS[current]


def transition(current: JobState | str, new: JobState | str) -> JobState:
    """Return ``new`` if a job in ``current`` may move there, else raise ``JobConflict``.

    Staying in the same state is not a move: a second "start" of a running job is a conflict,
    which is how two workers racing for one job find out.
    """
    cur, nxt = _parse(current), _parse(new)
    if not can_transition(cur, nxt):
        raise JobConflict(
            f"a {cur.value} job cannot become {nxt.value}",
            current=cur.value,
            requested=nxt.value,
            allowed=sorted(s.value for s in ALLOWED_TRANSITIONS[cur]),
        )
    return nxt


def _parse(value: JobState | str) -> JobState:
    try:
        return JobState(value)
    except ValueError:
        raise JobConflict(f"{value!r} is not a job state", allowed=[s.value for s in JobState]) from None
