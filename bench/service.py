"""Throughput and added latency of the HTTP API, with a zero-latency stub provider.

Run: ``.venv/bin/python bench/service.py`` (about a minute on 2 cores). The app runs in this
process on a fresh SQLite database in a temporary directory (the embedded default), driven through
httpx's ASGI transport, so the figures are the API's own work (routing, validation, auth,
reservation, job rows, events, the worker pool, settlement) without a network stack. The stub
answers instantly, so every millisecond of an edit's latency is added by the server.

- jobs/s: N edits submitted at once (202), timed until every job has succeeded.
- added latency: ``POST /edit?wait=30`` round trips (submit + run + complete) with 1, 50 and 200
  clients in flight at once; median and p95.
The result replaces the "service" section of ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from PIL import Image

from editstudio.api.app import create_app
from editstudio.api.context import API_PREFIX
from editstudio.core.operations import Operation
from editstudio.core.provider import EditProvider, ProgressCallback
from editstudio.core.request import EditRequest, EditResult, OutputFormat
from editstudio.jobs import JobService, JobServiceConfig
from editstudio.settings import Settings
from editstudio.storage import MemoryStore

RESULTS = Path(__file__).with_name("RESULTS.md")
START, END = "<!-- service:start -->", "<!-- service:end -->"
MODEL = "wavespeed/qwen-image-edit"
CONCURRENCY = (1, 50, 200)


class InstantProvider:
    """Answers every edit at once with the input bytes: zero provider latency."""

    name = "instant"

    def supports(self, operation: Operation) -> bool:
        return True

    async def edit(
        self, request: EditRequest, *, model: str | None = None, progress: ProgressCallback | None = None
    ) -> EditResult:
        return EditResult(
            image=request.image, format=OutputFormat.PNG, width=8, height=8, provider="instant", model=MODEL
        )


def _resolve(_model_id: str) -> EditProvider:
    return InstantProvider()


def _body() -> dict[str, str]:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (120, 30, 200)).save(buffer, format="PNG")
    image = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    return {"operation": "general_edit", "prompt": "x", "model": MODEL, "image_base64": image}


async def _throughput(client: httpx.AsyncClient, service: JobService, jobs: int) -> float:
    body = _body()
    started = time.perf_counter()
    submitted = await asyncio.gather(*(client.post(f"{API_PREFIX}/edit", json=body) for _ in range(jobs)))
    ids = [r.json()["id"] for r in submitted if r.status_code == 202]
    assert len(ids) == jobs, [r.status_code for r in submitted]
    done = await asyncio.gather(*(service.wait(user_id="local", job_id=i, timeout_s=120) for i in ids))
    assert all(job.state.value == "succeeded" for job in done)
    return jobs / (time.perf_counter() - started)


async def _latencies(client: httpx.AsyncClient, clients: int) -> list[float]:
    body = _body()

    async def one() -> float:
        started = time.perf_counter()
        response = await client.post(f"{API_PREFIX}/edit", params={"wait": 30}, json=body)
        assert response.status_code == 200, response.text
        return (time.perf_counter() - started) * 1000

    return list(await asyncio.gather(*(one() for _ in range(clients))))


async def run(jobs: int) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), wavespeed_api_key="bench")  # type: ignore[arg-type]
        config = JobServiceConfig.from_settings(settings)
        app = create_app(settings, blob_store=MemoryStore(), resolve_provider=_resolve, job_config=config)
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=120) as client,
        ):
            await _latencies(client, 1)  # warm-up: imports, first connections
            rate = await _throughput(client, app.state.context.jobs, jobs)
            rows = []
            for clients in CONCURRENCY:
                samples = sorted(await _latencies(client, clients))
                p95 = samples[min(len(samples) - 1, int(0.95 * len(samples)))]
                rows.append(f"| {clients} | {statistics.median(samples):.1f} | {p95:.1f} |")
    load = os.getloadavg()
    return "\n".join(
        [
            START,
            "## Service (HTTP API)",
            "",
            "`.venv/bin/python bench/service.py` — in-process app (SQLite file, "
            f"{config.workers} workers, {config.per_user_concurrency} per user), httpx ASGI transport, "
            "one user (single-user mode), a zero-latency stub provider.",
            f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}; load average at the end {load[0]:.1f} / {load[1]:.1f}.",
            "",
            f"Throughput: **{rate:.1f} jobs/s** ({jobs} edits submitted at once, until all succeeded).",
            "",
            "Added latency of `POST /edit?wait=30` (submit, run, settle, answer), ms:",
            "",
            "| clients at once | median | p95 |",
            "|---:|---:|---:|",
            *rows,
            "",
            "The provider takes no time, so this is all server: per job a reservation, the job row and "
            "its events, a claim, settlement; on SQLite every write transaction is serialised, and at "
            "50 and 200 clients the latency is mostly waiting for the worker pool.",
            END,
        ]
    )


def _write(section: str) -> None:
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + section + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    RESULTS.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200, help="edits for the throughput run")
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args()
    section = asyncio.run(run(args.jobs))
    print(section)
    if not args.no_write:
        _write(section)


if __name__ == "__main__":
    sys.exit(main())
