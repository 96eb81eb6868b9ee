"""Throughput and added latency of the HTTP API, with a zero-latency stub provider.

Run: ``.venv/bin/python bench/service.py`` (about a minute on 2 cores). The app runs in this
process on a fresh SQLite database in a temporary directory (the embedded default), driven through
httpx's ASGI transport, so the figures are the API's own work (routing, validation, auth,
reservation, job rows, events, the worker pool, settlement) without a network stack. The stub
answers instantly, so every millisecond of an edit's latency is added by the server.

- jobs/s: N edits submitted at once (202), timed until every job has succeeded.
- latency: ``POST /edit?wait=30`` round trips (submit + run + complete) with 1, 50 and 200
  clients in flight at once; median and p95.
- baseline, run side by side: a bare FastAPI route that decodes the same body and calls the same
  provider, with no job, budget, storage or event (what a stateless proxy costs). The ratio is
  what durability, budgets and history cost per edit.
- the same EditStudio run on PostgreSQL (4 workers) when a server answers on 127.0.0.1:5432.
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
from dataclasses import dataclass
from pathlib import Path

import httpx
from fastapi import FastAPI
from PIL import Image

from editstudio.api.app import create_app
from editstudio.api.context import API_PREFIX
from editstudio.core.operations import Operation
from editstudio.core.provider import EditProvider, ProgressCallback
from editstudio.core.request import EditRequest, EditResult, OutputFormat
from editstudio.db.testing import postgres_server_url, postgres_unavailable, scratch_postgres_database
from editstudio.imaging import decode_base64
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


def _baseline_app() -> FastAPI:
    """The same request and provider call with nothing durable around it."""
    app = FastAPI()
    provider = InstantProvider()

    @app.post(f"{API_PREFIX}/edit")
    async def edit(body: dict[str, str]) -> dict[str, object]:
        request = EditRequest(
            operation=Operation.parse(body["operation"]),
            image=decode_base64(body["image_base64"]),
            prompt=body.get("prompt"),
        )
        result = await provider.edit(request, model=body.get("model"))
        return {"state": "succeeded", "width": result.width, "image": base64.b64encode(result.image).decode()}

    return app


async def _baseline_throughput(client: httpx.AsyncClient, jobs: int) -> float:
    body = _body()
    started = time.perf_counter()
    replies = await asyncio.gather(*(client.post(f"{API_PREFIX}/edit", json=body) for _ in range(jobs)))
    assert all(r.status_code == 200 for r in replies)
    return jobs / (time.perf_counter() - started)


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


@dataclass(frozen=True)
class Figures:
    rate: float  # edits per second
    latencies: dict[int, list[float]]  # clients at once -> sorted round trips, ms


async def _editstudio(jobs: int, tmp: Path, database_url: str | None, workers: int) -> Figures:
    settings = Settings(  # type: ignore[call-arg]
        data_dir=tmp, database_url=database_url, wavespeed_api_key="bench", job_workers=workers
    )
    config = JobServiceConfig.from_settings(settings)
    app = create_app(settings, blob_store=MemoryStore(), resolve_provider=_resolve, job_config=config)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=120) as client,
    ):
        await _latencies(client, 1)
        rate = await _throughput(client, app.state.context.jobs, jobs)
        latencies = {clients: sorted(await _latencies(client, clients)) for clients in CONCURRENCY}
    return Figures(rate, latencies)


async def _baseline(jobs: int) -> Figures:
    transport = httpx.ASGITransport(app=_baseline_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=120) as client:
        await _latencies(client, 1)
        rate = await _baseline_throughput(client, jobs)
        latencies = {clients: sorted(await _latencies(client, clients)) for clients in CONCURRENCY}
    return Figures(rate, latencies)


def _p95(samples: list[float]) -> float:
    return samples[min(len(samples) - 1, int(0.95 * len(samples)))]


def _rows(base: Figures, ours: Figures) -> list[str]:
    rows = []
    for clients in CONCURRENCY:
        b, o = base.latencies[clients], ours.latencies[clients]
        bm, om = statistics.median(b), statistics.median(o)
        cells = (
            f"{bm:.1f} / {_p95(b):.1f}",
            f"{om:.1f} / {_p95(o):.1f}",
            f"+{om - bm:.1f}",
            f"{om / bm:.1f}x",
        )
        rows.append(f"| {clients} | " + " | ".join(cells) + " |")
    return rows


async def run(jobs: int) -> str:
    base = await _baseline(jobs)
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = await _editstudio(jobs, Path(tmp), None, workers=2)
    postgres: Figures | None = None
    if await postgres_unavailable() is None:
        async with scratch_postgres_database(postgres_server_url()) as url:
            with tempfile.TemporaryDirectory() as tmp:
                postgres = await _editstudio(jobs, Path(tmp), url, workers=4)
    load = os.getloadavg()
    lines = [
        START,
        "## Service (HTTP API)",
        "",
        "`.venv/bin/python bench/service.py` — in-process app, httpx ASGI transport, one user "
        "(single-user mode), a zero-latency stub provider; baseline: a bare FastAPI route decoding "
        "the same body and calling the same provider, with no job, budget, storage or events, run "
        "side by side in the same process.",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; load average at the end {load[0]:.1f} / {load[1]:.1f}.",
        "",
        f"Throughput, {jobs} edits submitted at once until all succeeded: baseline "
        f"**{base.rate:.0f}/s**; EditStudio on SQLite (2 workers) **{sqlite.rate:.1f} jobs/s** "
        f"({base.rate / sqlite.rate:.0f}x slower)"
        + (
            f"; on PostgreSQL (4 workers) **{postgres.rate:.1f} jobs/s** ({base.rate / postgres.rate:.0f}x)."
            if postgres
            else "; PostgreSQL not reachable, not measured."
        ),
        "",
        "`POST /edit?wait=30` round trip (submit, run, settle, answer), ms, median / p95 — SQLite:",
        "",
        "| clients at once | baseline | EditStudio | added (median) | ratio |",
        "|---:|---:|---:|---:|---:|",
        *_rows(base, sqlite),
    ]
    if postgres:
        lines += [
            "",
            "PostgreSQL, 4 workers:",
            "",
            "| clients at once | baseline | EditStudio | added (median) | ratio |",
            "|---:|---:|---:|---:|---:|",
            *_rows(base, postgres),
        ]
    lines += [
        "",
        "The provider takes no time, so the added latency is all server: per job a reservation, the "
        "job row and its events, a claim, heartbeats and settlement, each a committed transaction. "
        "On SQLite every write transaction is serialised; at 50 and 200 clients most of the latency "
        "is jobs waiting for a worker, so throughput, not per-request overhead, sets it.",
        END,
    ]
    return "\n".join(lines)


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
