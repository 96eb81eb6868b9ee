"""``editstudio worker``: the job workers and nothing else, for scaling out.

API nodes run ``editstudio serve --no-workers``; any number of worker processes share their
database (``EDITSTUDIO_DATABASE_URL``) and blob store (``EDITSTUDIO_BLOB_URL``, else the ``blobs``
directory under ``EDITSTUDIO_DATA_DIR``). Claims are conditional UPDATEs, so workers never run a
job twice.

SIGINT or SIGTERM stops a worker gracefully with ``JobService.stop(requeue=True)``: the jobs it is
running are cancelled and put straight back to ``queued`` (a cloud request already submitted is
kept and collected by whichever worker claims the job next), so a redeploy neither waits for long
edits nor leaves jobs for the lease to expire.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import signal
from typing import TYPE_CHECKING, Annotated

import typer

from editstudio.cli.app import TRACE, LogLevel, app, console, exit_on_error
from editstudio.core.errors import ConfigurationError
from editstudio.settings import Settings, get_settings

if TYPE_CHECKING:
    from editstudio.jobs.ports import BlobStore

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@app.command("worker")
def worker_command(
    workers: Annotated[
        int | None,
        typer.Option("--workers", min=1, help="Jobs run at once (EDITSTUDIO_JOB_WORKERS when not given)."),
    ] = None,
    log_level: Annotated[
        LogLevel, typer.Option("--log-level", case_sensitive=False, help="Log level (uvicorn's names).")
    ] = LogLevel.INFO,
) -> None:
    """Run queued jobs until SIGINT or SIGTERM, with no HTTP server (pair with serve --no-workers)."""
    logging.addLevelName(TRACE, "TRACE")
    logging.basicConfig(
        level=log_level.python_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    with exit_on_error():
        asyncio.run(run_workers(get_settings(), workers=workers))


async def run_workers(settings: Settings, *, workers: int | None = None) -> None:
    """Run the job service's workers on ``settings``' database and blobs until a stop signal."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, stop.set)
    try:
        await _work_until(stop, settings, workers)
    finally:
        for signum in STOP_SIGNALS:
            loop.remove_signal_handler(signum)


async def _work_until(stop: asyncio.Event, settings: Settings, workers: int | None) -> None:
    from sqlalchemy.engine import make_url

    from editstudio.db import create_engine_for, create_session_factory, database_url, upgrade_to_head
    from editstudio.jobs import JobService, JobServiceConfig

    blobs = _shared_blob_store(settings)
    config = JobServiceConfig.from_settings(settings)
    if workers is not None:
        config = dataclasses.replace(config, workers=workers)
    url = database_url(settings)
    await upgrade_to_head(url)
    engine = create_engine_for(url)
    try:
        service = JobService(create_session_factory(engine), blobs, settings, config=config)
        await service.start()
        try:
            where = make_url(url).render_as_string(hide_password=True)
            console.print(
                f"EditStudio worker: {config.workers} job(s) at a time on {where}; "
                "SIGINT/SIGTERM re-queues running jobs and exits",
                highlight=False,
                soft_wrap=True,
            )
            await stop.wait()
        finally:
            await service.stop(requeue=True)
    finally:
        await engine.dispose()


def _shared_blob_store(settings: Settings) -> BlobStore:
    from editstudio.storage import MemoryStore, blob_store_for

    blobs = blob_store_for(settings)
    if isinstance(blobs, MemoryStore):
        # Each process would get its own empty store: every job would miss its input.
        raise ConfigurationError(
            "a worker cannot share memory:// blobs with the API: set EDITSTUDIO_BLOB_URL to a "
            "file:// directory or s3:// bucket both can reach"
        )
    return blobs
