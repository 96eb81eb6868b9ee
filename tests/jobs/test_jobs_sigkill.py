"""A real crash: a worker process is killed with SIGKILL mid-job; another takes over.

The provider is a loopback HTTP stub in this process that counts submits per input and keeps
every remote job pending until the first worker is dead, so the kill always lands mid-job.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from jobs_kit import ESTIMATE_USD, Sessions, adjust_request, captures_per_job, fast_config, ledger_sums
from sigkill_worker import LoopbackRemote
from sqlalchemy import select

from editstudio.core.jobs import JobState
from editstudio.db.models import Job, LedgerKind
from editstudio.jobs import JobService
from editstudio.settings import Settings
from editstudio.storage import LocalDirStore

JOBS = 4
WORKER = Path(__file__).with_name("sigkill_worker.py")


class RemoteStub(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.submits: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.finish = threading.Event()
        self.submitted = threading.Condition(self.lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: RemoteStub

    def do_POST(self) -> None:
        key = self.rfile.read(int(self.headers["Content-Length"])).decode()
        with self.server.submitted:
            self.server.submits[key] += 1
            self.server.submitted.notify_all()
        self._json(f'{{"id": "r-{key[:16]}"}}')

    def do_GET(self) -> None:
        self._json('{"status": "done"}' if self.server.finish.is_set() else '{"status": "pending"}')

    def _json(self, body: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def remote() -> Iterator[RemoteStub]:
    server = RemoteStub()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


async def handles_saved(sessions: Sessions) -> list[str]:
    async with sessions() as session:
        return list(await session.scalars(select(Job.id).where(Job.provider_request_id.is_not(None))))


def spawn(database_url: str, directory: Path, remote: RemoteStub) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}
    process = subprocess.Popen(
        [sys.executable, str(WORKER), database_url, str(directory), remote.url],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    return process


async def test_sigkilled_worker_loses_nothing_and_submits_nothing_twice(
    database_url: str, sessions: Sessions, tmp_path: Path, settings: Settings, user: str, remote: RemoteStub
) -> None:
    blob_dir = tmp_path / "blobs"
    blob_dir.mkdir()
    # The API side of the deployment: it submits and watches, the worker processes run.
    api = JobService(
        sessions,
        LocalDirStore(blob_dir),
        settings,
        lambda model: LoopbackRemote(remote.url),
        config=fast_config(),
        estimator=lambda request, model, size: ESTIMATE_USD,
    )
    jobs = [
        await api.submit(user_id=user, request=adjust_request(seed=i), model="loopback/a")
        for i in range(JOBS)
    ]

    first = spawn(database_url, blob_dir, remote)
    # Kill once both workers have submitted and saved their handles and are polling. (Between a
    # submit's reply and the handle's commit a kill would resubmit: see docs/jobs.md.)
    with remote.submitted:
        assert remote.submitted.wait_for(lambda: sum(remote.submits.values()) >= 2, timeout=20)
    for _ in range(1000):  # another process writes them: poll the table, bounded
        if len(await handles_saved(sessions)) >= 2:
            break
        await asyncio.sleep(0.02)
    else:
        pytest.fail("the first worker never saved its remote handles")
    first.send_signal(signal.SIGKILL)
    first.wait()
    remote.finish.set()
    second = spawn(database_url, blob_dir, remote)
    try:
        done = [await api.wait(user_id=user, job_id=j.id, timeout_s=30) for j in jobs]
    finally:
        second.kill()
        second.wait()
        for process in (first, second):
            assert process.stdout is not None
            process.stdout.close()

    assert [r.state for r in done] == [JobState.SUCCEEDED] * JOBS
    assert sorted(remote.submits.values()) == [1] * JOBS
    assert await captures_per_job(sessions) == {j.id: 1 for j in jobs}
    sums = await ledger_sums(sessions)
    assert sums[LedgerKind.RESERVE] == sums[LedgerKind.CAPTURE] + sums.get(LedgerKind.RELEASE, 0)
