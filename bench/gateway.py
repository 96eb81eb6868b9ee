"""What EditStudio's WaveSpeed path adds to an edit, over calling the same stub directly with httpx.

The loopback stub (tests/providers/wavespeed_stub.py) runs in a child process with zero processing
delay and no concurrency limit. For 1, 50 and 200 concurrent edits, each edit runs both ways:

- direct: a bare httpx client POSTs a ready-made JSON body (the image already a data URI), polls
  ``/predictions/{id}/result`` with the same interval until ``completed``, then GETs the output;
- editstudio: ``WaveSpeedProvider.edit()`` (decode and check the input, build the body, submit, poll,
  download with a cap, decode the output) inside ``async with`` (one shared connection pool).

Usage: ``.venv/bin/python bench/gateway.py [--write]``; ``--write`` appends the table to
bench/RESULTS.md between its ``gateway`` markers (replacing only that section).

Method: each level runs several rounds of each path, interleaved A-B, B-A (a round at concurrency 1 is
``SEQUENTIAL_EDITS`` edits one after another; otherwise ``level`` edits at once). Each figure is the
median over rounds of a per-round median or p99, with the range over rounds; the added cost is taken
per pair of neighbouring rounds, so a change in the machine's load during the run cancels out.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from pydantic import SecretStr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "providers"))

from machine import describe  # noqa: E402
from wavespeed_images import gradient_png  # noqa: E402
from wavespeed_stub import API_KEY  # noqa: E402

from editstudio.core import EditRequest  # noqa: E402
from editstudio.providers.http import PollPolicy, ProviderHttp  # noqa: E402
from editstudio.providers.wavespeed_provider import WaveSpeedOptions, WaveSpeedProvider  # noqa: E402

MODEL_ID = "wavespeed/qwen-image-edit"
ROUTE = "wavespeed-ai/qwen-image/edit"
POLL_S = 0.01
LEVELS = {1: 9, 50: 9, 200: 7}  # concurrency -> rounds (odd, so the median is one round's value)
SEQUENTIAL_EDITS = 20  # a round at concurrency 1 is this many edits one after another
SIDE = 256  # the model's minimum side: keeps the stub's own image work small
SECTION = "## Gateway: WaveSpeed adapter overhead"
BEGIN, END = "<!-- gateway:start -->", "<!-- gateway:end -->"
NOTE = (
    "How to read it. Each cell is the median over rounds of a per-round figure, with the lowest and "
    "highest round in brackets; *added* is taken within a pair of rounds (EditStudio minus the direct "
    "round next to it) before the median, so a slow moment of the machine cancels out. The rounds "
    "alternate A-B, B-A. At 1 edit at a time the added median is the adapter's own cost per edit. At 50 "
    "and 200 the client, the stub and its image work share the 2 cores, so every edit waits for the "
    "CPU: latency there is queueing, and a p99 out of 50 or 200 samples is the worst one or two edits of "
    "the round, which is why p99 differences swing by hundreds of ms and can come out negative. The "
    "honest figure under load is the *added wall time per edit* (the difference in the time the whole "
    "round took, divided by its edits): once the machine is saturated, a round's wall time is the CPU "
    "work queued on it, so this is the extra CPU time each edit costs, which latency percentiles under "
    "queueing cannot show. Other work on a shared machine (see the load average) widens every range."
)


def serve(port: int) -> None:
    import uvicorn
    from wavespeed_stub import StubState, create_app

    state = StubState()
    state.max_concurrency = 1_000_000
    uvicorn.run(create_app(state), host="127.0.0.1", port=port, log_level="error", lifespan="off")


def start_stub() -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    child = subprocess.Popen([sys.executable, __file__, "--serve", str(port)], env=env)
    url = f"http://127.0.0.1:{port}"
    for _ in range(500):
        try:
            httpx.get(f"{url}/media/none", timeout=0.5)
            return child, url
        except httpx.TransportError:
            time.sleep(0.02)
    child.kill()
    raise RuntimeError("the stub did not start")


async def direct_edit(client: httpx.AsyncClient, url: str, body: dict[str, object]) -> float:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    started = time.perf_counter()
    submitted = (await client.post(f"{url}/api/v3/{ROUTE}", json=body, headers=headers)).json()["data"]
    while True:
        data = (
            await client.get(f"{url}/api/v3/predictions/{submitted['id']}/result", headers=headers)
        ).json()
        if data["data"]["status"] == "completed":
            break
        await asyncio.sleep(POLL_S)
    output = await client.get(data["data"]["outputs"][0])
    output.raise_for_status()
    return time.perf_counter() - started


async def studio_edit(provider: WaveSpeedProvider, request: EditRequest) -> float:
    started = time.perf_counter()
    await provider.edit(request, model=MODEL_ID)
    return time.perf_counter() - started


@dataclass(frozen=True)
class Round:
    """One round of one path: every edit's latency, and the round's wall time (first start to last end)."""

    latencies: list[float]
    wall_s: float

    @property
    def median(self) -> float:
        return statistics.median(self.latencies)

    @property
    def p99(self) -> float:
        return p99(self.latencies)


async def run_round(level: int, edit: Callable[[], Awaitable[float]]) -> Round:
    started = time.perf_counter()
    if level == 1:
        latencies = [await edit() for _ in range(SEQUENTIAL_EDITS)]
    else:
        latencies = list(await asyncio.gather(*(edit() for _ in range(level))))
    return Round(latencies, time.perf_counter() - started)


Paired = dict[int, list[tuple[Round, Round]]]  # level -> per round (direct, editstudio)


async def measure(url: str) -> Paired:
    image = gradient_png(SIDE, SIDE)
    body = {"prompt": "x", "image": "data:image/png;base64," + base64.b64encode(image).decode()}
    request = EditRequest(operation="general_edit", image=image, prompt="x")
    http = ProviderHttp("wavespeed", poll=PollPolicy(interval_s=POLL_S, max_interval_s=POLL_S))
    provider = WaveSpeedProvider(
        api_key=SecretStr(API_KEY), base_url=url, http=http, options=WaveSpeedOptions(deadline_s=120)
    )
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=64)
    results: Paired = {}
    async with provider, httpx.AsyncClient(limits=limits, timeout=120) as client:

        def direct() -> Awaitable[float]:
            return direct_edit(client, url, body)

        def studio() -> Awaitable[float]:
            return studio_edit(provider, request)

        await direct()  # warm both paths
        await studio()
        for level, rounds in LEVELS.items():
            pairs: list[tuple[Round, Round]] = []
            for index in range(rounds):
                # ABBA order: a drift in machine load over the run hits both paths alike.
                if index % 2 == 0:
                    d = await run_round(level, direct)
                    s = await run_round(level, studio)
                else:
                    s = await run_round(level, studio)
                    d = await run_round(level, direct)
                pairs.append((d, s))
            results[level] = pairs
            print(row(level, pairs), flush=True)
    return results


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def spread(values: list[float], *, signed: bool = False) -> str:
    """Median of the per-round values with their range, in ms."""
    fmt = "{:+.1f}" if signed else "{:.1f}"
    mid, low, high = (fmt.format(v * 1000) for v in (statistics.median(values), min(values), max(values)))
    return f"{mid} [{low}, {high}]"


def row(level: int, pairs: list[tuple[Round, Round]]) -> str:
    direct = [d for d, _ in pairs]
    studio = [s for _, s in pairs]
    edits = len(pairs[0][1].latencies)
    return (
        f"| {level} | {len(pairs)} × {edits} "
        f"| {spread([r.median for r in direct])} | {spread([r.p99 for r in direct])} "
        f"| {spread([r.median for r in studio])} | {spread([r.p99 for r in studio])} "
        f"| {spread([s.median - d.median for d, s in pairs], signed=True)} "
        f"| {spread([s.p99 - d.p99 for d, s in pairs], signed=True)} "
        f"| {spread([(s.wall_s - d.wall_s) / edits for d, s in pairs], signed=True)} |"
    )


def table(results: Paired) -> str:
    lines = [
        "| concurrent edits | rounds × edits | direct median | direct p99 | EditStudio median "
        "| EditStudio p99 | added median | added p99 | added wall time per edit |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [row(level, pairs) for level, pairs in results.items()]
    return "\n".join(lines)


def load_average() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.1f} / {five:.1f} / {fifteen:.1f}"


def write_section(text: str) -> None:
    """Replace this benchmark's section (between its markers) in place; other sections stay as they are."""
    path = ROOT / "bench" / "RESULTS.md"
    current = path.read_text() if path.exists() else "# Benchmark results\n"
    block = f"{BEGIN}\n{text.rstrip()}\n{END}"
    if BEGIN in current and END in current:
        head, _, rest = current.partition(BEGIN)
        _, _, tail = rest.partition(END)
        current = head + block + tail
    elif SECTION in current:  # written before the markers existed: up to the next section or marker
        start = current.index(SECTION)
        ends = [i for i in (current.find("\n## ", start + 1), current.find("\n<!--", start)) if i >= 0]
        end = min(ends) if ends else len(current)
        current = current[:start] + block + current[end:]
    else:
        current = current.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(current)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--write", action="store_true", help="write the table into bench/RESULTS.md")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    child, url = start_stub()
    try:
        started = time.perf_counter()
        results = asyncio.run(measure(url))
        elapsed = time.perf_counter() - started
    finally:
        child.terminate()
        child.wait(10)
    text = "\n".join(
        [
            SECTION,
            "",
            f"`bench/gateway.py`, {time.strftime('%Y-%m-%d')}, {describe()}; run took {elapsed:.0f} s; "
            f"load average at the end {load_average()}.",
            f"One {SIDE}×{SIDE} PNG edit on `{MODEL_ID}` against the loopback stub (a child process, zero "
            "processing delay, no concurrency limit); both sides poll every "
            f"{POLL_S * 1000:.0f} ms. Latency is per edit, submit to downloaded output; *added* is "
            "EditStudio minus direct httpx (decode and check the input, build the body, parse "
            "envelopes, capped download, decode and check the output). Times in ms: median of the "
            "per-round values [lowest, highest round].",
            "",
            table(results),
            "",
            NOTE,
        ]
    )
    print(text)
    if args.write:
        write_section(text)


if __name__ == "__main__":
    main()
