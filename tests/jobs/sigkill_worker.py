"""A worker process for the SIGKILL test: a JobService over a SQLite file, with a resumable
provider that talks to the test's loopback HTTP stub. Run: python sigkill_worker.py DB_URL DIR STUB_URL"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
import urllib.request
from decimal import Decimal
from pathlib import Path

from editstudio.core.operations import Operation
from editstudio.core.provider import ProgressCallback
from editstudio.core.remote import RemoteHandle
from editstudio.core.request import EditRequest, EditResult, OutputFormat
from editstudio.db import create_engine_for, create_session_factory
from editstudio.jobs import JobService, JobServiceConfig, RetryPolicy
from editstudio.settings import Settings
from editstudio.storage import LocalDirStore


class LoopbackRemote:
    name = "loopback"

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def supports(self, operation: Operation) -> bool:
        return True

    async def edit(
        self, request: EditRequest, *, model: str | None = None, progress: ProgressCallback | None = None
    ) -> EditResult:
        raise AssertionError("a resumable provider is never called through edit")

    def _call(self, path: str, body: bytes | None = None) -> dict[str, str]:
        with urllib.request.urlopen(f"{self.base_url}{path}", data=body, timeout=5) as response:
            return dict(json.loads(response.read()))

    async def submit(self, request: EditRequest, *, model: str) -> RemoteHandle:
        key = hashlib.sha256(request.image).hexdigest()
        reply = await asyncio.to_thread(self._call, "/submit", key.encode())
        return RemoteHandle(self.name, reply["id"])

    async def collect(
        self,
        request: EditRequest,
        handle: RemoteHandle,
        *,
        model: str,
        progress: ProgressCallback | None = None,
    ) -> EditResult:
        while True:
            reply = await asyncio.to_thread(self._call, f"/poll/{handle.remote_id}")
            if reply["status"] == "done":
                break
            await asyncio.sleep(0.05)  # the poll interval of a real provider adapter
        return EditResult(
            image=request.image,
            format=OutputFormat.PNG,
            width=8,
            height=8,
            provider=self.name,
            model=model,
            cost_usd=Decimal("0.02"),
        )


async def main(db_url: str, directory: Path, stub_url: str) -> None:
    engine = create_engine_for(db_url)
    config = JobServiceConfig(
        workers=2,
        per_user_concurrency=4,
        lease_s=0.6,
        poll_interval_s=0.05,
        retry=RetryPolicy(max_attempts=3, base_delay_s=0.01),
    )
    remote = LoopbackRemote(stub_url)
    service = JobService(
        create_session_factory(engine),
        LocalDirStore(directory),
        Settings(data_dir=directory),
        lambda model: remote,
        config=config,
        estimator=lambda r, m, s: Decimal("0.05"),
    )
    await service.start()
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Path(sys.argv[2]), sys.argv[3]))
