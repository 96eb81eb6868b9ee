"""``compute_backoff`` and ``RetryPolicy``: pure, so checked over many inputs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from editstudio.jobs import RetryPolicy, compute_backoff


def test_backoff_doubles_from_the_base_up_to_the_cap() -> None:
    policy = RetryPolicy(base_delay_s=1.0, max_delay_s=5.0, factor=2.0, jitter=0.0)
    assert [compute_backoff(n, policy) for n in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_retry_after_wins_but_is_capped() -> None:
    policy = RetryPolicy(max_retry_after_s=30.0)
    assert compute_backoff(1, policy, retry_after_s=7.0) == 7.0
    assert compute_backoff(1, policy, retry_after_s=900.0) == 30.0


@given(attempt=st.integers(1, 50), jitter=st.floats(0.0, 0.999))
def test_backoff_stays_within_cap_plus_jitter(attempt: int, jitter: float) -> None:
    policy = RetryPolicy(base_delay_s=0.5, max_delay_s=8.0, jitter=0.2)
    delay = compute_backoff(attempt, policy, jitter=jitter)
    assert 0.5 <= delay <= 8.0 * 1.2


def test_policy_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(factor=0.5)
