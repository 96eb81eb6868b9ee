"""The default path end to end: no model given, the real local engine, the catalogue's estimate."""

from __future__ import annotations

import io

from jobs_kit import MemoryBlobs, Sessions, fast_config, ledger_sums, png_bytes
from PIL import Image

from editstudio.core.jobs import JobState
from editstudio.core.operations import Operation
from editstudio.core.request import EditRequest
from editstudio.db.models import LedgerKind
from editstudio.jobs import JobEventType, JobService
from editstudio.settings import Settings


async def test_default_model_is_the_local_engine_and_its_output_is_stored(
    sessions: Sessions, blobs: MemoryBlobs, settings: Settings, user: str
) -> None:
    service = JobService(sessions, blobs, settings, config=fast_config())
    request = EditRequest(operation=Operation.ADJUST, image=png_bytes(64, 40), brightness=1.5)
    try:
        queued = await service.submit(user_id=user, request=request)
        await service.start()
        done = await service.wait(user_id=user, job_id=queued.id, timeout_s=30)
        types = [e.type async for e in service.events(user_id=user, job_id=queued.id)]
    finally:
        await service.stop()

    assert queued.model == "local/engine"
    assert done.state is JobState.SUCCEEDED, done.error_message
    assert done.used_model == "local/engine"
    assert types[0] is JobEventType.QUEUED and types[-1] is JobEventType.SUCCEEDED
    assert done.output_asset_id is not None
    with Image.open(io.BytesIO(blobs.blobs[done.output_asset_id])) as output:
        assert output.size == (64, 40)
    sums = await ledger_sums(sessions, [done.id])
    assert sums[LedgerKind.CAPTURE] == int(done.cost_usd * 1_000_000)  # type: ignore[operator]
