"""Job-level retry policy: how many attempts a job gets and how long it waits between them.

This is one level above ``providers.http``'s retries (which repeat a single HTTP call inside one
attempt): an attempt here is a whole provider run, and only errors whose class says
``retryable`` earn another one.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """``max_attempts`` runs per model; the delay grows by ``factor`` from ``base_delay_s``."""

    max_attempts: int = 3
    base_delay_s: float = 1.0
    max_delay_s: float = 30.0
    factor: float = 2.0
    jitter: float = 0.2  # fraction of the delay added at random so retries of many jobs spread out
    max_retry_after_s: float = 120.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay_s < 0 or self.max_delay_s < 0 or self.factor < 1:
            raise ValueError("delays must be >= 0 and factor >= 1")


def compute_backoff(
    attempt: int, policy: RetryPolicy, *, retry_after_s: float | None = None, jitter: float = 0.0
) -> float:
    """Seconds to wait after failed attempt ``attempt`` (counting from 1) before the next.

    A provider's ``Retry-After`` wins (capped by ``max_retry_after_s``). ``jitter`` in [0, 1) is
    passed in rather than drawn here so the function stays pure and testable.
    """
    if retry_after_s is not None:
        return min(max(retry_after_s, 0.0), policy.max_retry_after_s)
    delay = min(policy.base_delay_s * policy.factor ** max(attempt - 1, 0), policy.max_delay_s)
    return delay * (1.0 + policy.jitter * jitter)
