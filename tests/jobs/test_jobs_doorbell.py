"""The doorbell: one ring wakes one idle worker; rings nobody heard are kept for the next waits."""

from __future__ import annotations

import asyncio

from editstudio.jobs.doorbell import Doorbell


async def _waiters(bell: Doorbell, count: int) -> list[asyncio.Task[None]]:
    tasks = [asyncio.create_task(bell.wait(5)) for _ in range(count)]
    await asyncio.sleep(0.01)  # every task is now parked on the bell
    return tasks


async def test_one_ring_wakes_exactly_one_of_the_idle_workers() -> None:
    bell = Doorbell(workers=3)
    tasks = await _waiters(bell, 3)
    bell.ring()
    await asyncio.sleep(0.01)
    assert sum(t.done() for t in tasks) == 1
    bell.ring_all()
    await asyncio.wait_for(asyncio.gather(*tasks), 1)


async def test_a_ring_nobody_heard_is_kept_up_to_the_pool_size() -> None:
    bell = Doorbell(workers=2)
    for _ in range(5):
        bell.ring()  # every worker busy: nobody waiting
    await asyncio.wait_for(bell.wait(5), 0.5)
    await asyncio.wait_for(bell.wait(5), 0.5)
    started = asyncio.get_running_loop().time()
    await bell.wait(0.05)  # the two kept rings are spent: this one waits out its timeout
    assert asyncio.get_running_loop().time() - started >= 0.04


async def test_a_timed_out_waiter_does_not_swallow_a_later_ring() -> None:
    bell = Doorbell(workers=2)
    await bell.wait(0.01)  # times out, leaves nothing parked
    [task] = await _waiters(bell, 1)
    bell.ring()
    await asyncio.wait_for(task, 1)
