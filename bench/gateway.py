"""What EditStudio's WaveSpeed path adds to an edit, over calling the same stub directly with httpx.

The loopback stub (tests/providers/wavespeed_stub.py) runs in a child process with zero processing
delay and no concurrency limit. For 1, 50 and 200 concurrent edits, each edit runs both ways:

- direct: a bare httpx client POSTs a ready-made JSON body (the image already a data URI), polls
  ``/predictions/{id}/result`` with the same interval until ``completed``, then GETs the output;
- editstudio: ``WaveSpeedProvider.edit()`` (decode and check the input, build the body, submit, poll,
  download with a cap, decode the output) inside ``async with`` (one shared connection pool).

Usage: ``.venv/bin/python bench/gateway.py [--write]``; ``--write`` appends the table to
bench/RESULTS.md under its "Gateway" heading (replacing only that section).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
from pydantic import SecretStr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "providers"))

from wavespeed_images import gradient_png  # noqa: E402
from wavespeed_stub import API_KEY  # noqa: E402

from editstudio.core import EditRequest  # noqa: E402
from editstudio.providers.http import PollPolicy, ProviderHttp  # noqa: E402
from editstudio.providers.wavespeed import WaveSpeedOptions, WaveSpeedProvider  # noqa: E402

MODEL_ID = "wavespeed/qwen-image-edit"
ROUTE = "wavespeed-ai/qwen-image/edit"
POLL_S = 0.01
LEVELS = {1: 60, 50: 4, 200: 2}  # concurrency -> rounds
SIDE = 256  # the model's minimum side: keeps the stub's own image work small
SECTION = "## Gateway: WaveSpeed adapter overhead"
NOTE = (
    "At 50 and 200 edits both sides queue on the stub, which shares the machine's cores with the client, "
    "so those rows measure contention more than adapter cost and swing by hundreds of ms between runs; "
    "the 1-edit row is the adapter's own cost."
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


async def measure(url: str) -> dict[int, dict[str, list[float]]]:
    image = gradient_png(SIDE, SIDE)
    body = {"prompt": "x", "image": "data:image/png;base64," + base64.b64encode(image).decode()}
    request = EditRequest(operation="general_edit", image=image, prompt="x")
    http = ProviderHttp("wavespeed", poll=PollPolicy(interval_s=POLL_S, max_interval_s=POLL_S))
    provider = WaveSpeedProvider(
        api_key=SecretStr(API_KEY), base_url=url, http=http, options=WaveSpeedOptions(deadline_s=120)
    )
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=64)
    results: dict[int, dict[str, list[float]]] = {}
    async with provider, httpx.AsyncClient(limits=limits, timeout=120) as client:
        await direct_edit(client, url, body)  # warm both paths
        await studio_edit(provider, request)
        for level, rounds in LEVELS.items():
            direct: list[float] = []
            studio: list[float] = []
            for _ in range(rounds):
                direct += await asyncio.gather(*(direct_edit(client, url, body) for _ in range(level)))
                studio += await asyncio.gather(*(studio_edit(provider, request) for _ in range(level)))
            results[level] = {"direct": direct, "editstudio": studio}
            print(
                f"{level:>4} concurrent: {summary(direct)} direct | {summary(studio)} editstudio", flush=True
            )
    return results


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def summary(values: list[float]) -> str:
    return f"median {statistics.median(values) * 1000:.1f} ms, p99 {p99(values) * 1000:.1f} ms"


def table(results: dict[int, dict[str, list[float]]]) -> str:
    lines = [
        "| concurrent edits | samples | direct median / p99 (ms) | EditStudio median / p99 (ms) "
        "| added median / p99 (ms) |",
        "|---|---|---|---|---|",
    ]
    for level, runs in results.items():
        d, s = runs["direct"], runs["editstudio"]
        dm, dp, sm, sp = statistics.median(d), p99(d), statistics.median(s), p99(s)
        lines.append(
            f"| {level} | {len(s)} | {dm * 1000:.1f} / {dp * 1000:.1f} | {sm * 1000:.1f} / {sp * 1000:.1f} "
            f"| {(sm - dm) * 1000:+.1f} / {(sp - dp) * 1000:+.1f} |"
        )
    return "\n".join(lines)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, {platform.system()}"


def write_section(text: str) -> None:
    path = ROOT / "bench" / "RESULTS.md"
    current = path.read_text() if path.exists() else "# Benchmark results\n"
    start = current.find(SECTION)
    if start >= 0:
        end = current.find("\n## ", start + len(SECTION))
        current = current[:start] + current[end + 1 :] if end >= 0 else current[:start]
    path.write_text(current.rstrip("\n") + "\n\n" + text.rstrip("\n") + "\n")


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
            f"`bench/gateway.py`, {time.strftime('%Y-%m-%d')}, {machine()}; run took {elapsed:.0f} s.",
            f"One {SIDE}×{SIDE} PNG edit on `{MODEL_ID}` against the loopback stub (a child process, zero "
            "processing delay, no concurrency limit); both sides poll every "
            f"{POLL_S * 1000:.0f} ms. Latency is per edit, submit to downloaded output; *added* is "
            "EditStudio minus direct httpx (decode and check the input, build the body, parse "
            "envelopes, capped download, decode and check the output).",
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
