"""The restart proof at the process level: ``editstudio serve`` is killed with SIGKILL while jobs
are running and queued against the WaveSpeed stub; a new server on the same data finishes them
all, no prediction is submitted twice, and each job is charged once.
"""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from wavespeed_images import gradient_png
from wavespeed_kit import StubServer, running_stub
from wavespeed_stub import API_KEY

MODEL = "wavespeed/qwen-image-edit"
RUNNING = 3
QUEUED = 2
PREFIX = "/api/image-studio"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    script = Path(sys.executable).with_name("editstudio")
    with log.open("ab") as out:
        return subprocess.Popen(
            [str(script), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def wait_ready(client: httpx.Client, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited with {process.returncode}:\n{log.read_text()}")
        try:
            if client.get("/readyz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"server not ready in 60 s:\n{log.read_text()}")


def wait_until(condition: object, what: str, log: Path, timeout_s: float = 60) -> None:
    """A guard against a stall, not a speed bound: generous, because a loaded CI machine boots the
    server subprocess slowly."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}; server log tail:\n{log.read_text()[-3000:]}")


@pytest.fixture
def stub() -> Iterator[StubServer]:
    with running_stub() as server:
        yield server


def test_sigkilled_server_finishes_every_job_once_after_restart(stub: StubServer, tmp_path: Path) -> None:
    stub.state.holding = True
    stub.state.max_concurrency = RUNNING + QUEUED
    port = free_port()
    env = {
        **os.environ,
        "EDITSTUDIO_DATA_DIR": str(tmp_path / "data"),
        "EDITSTUDIO_WAVESPEED_BASE_URL": stub.url,
        "WAVESPEED_API_KEY": API_KEY,
        "EDITSTUDIO_JOB_WORKERS": str(RUNNING),
        "EDITSTUDIO_JOB_PER_USER_CONCURRENCY": str(RUNNING),
        "EDITSTUDIO_JOB_LEASE_S": "2",  # how soon the new server may take over a dead one's jobs
    }
    env.pop("EDITSTUDIO_DATABASE_URL", None)
    log = tmp_path / "serve.log"
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        job_ids, jobs, usage = _kill_and_restart(client, stub, port, env, log)
    _check_outcome(stub, job_ids, jobs, usage, log)


def _kill_and_restart(
    client: httpx.Client, stub: StubServer, port: int, env: dict[str, str], log: Path
) -> tuple[list[str], list[dict[str, Any]], dict[str, Any]]:
    """Queue jobs, SIGKILL the server while they run, restart it and wait for every job to end."""
    first = serve(port, env, log)
    try:
        wait_ready(client, first, log)
        job_ids = []
        for index in range(RUNNING + QUEUED):
            image = base64.b64encode(gradient_png(320 + index, 240)).decode()
            reply = client.post(
                f"{PREFIX}/edit",
                json={"operation": "general_edit", "image_base64": image, "prompt": "invert", "model": MODEL},
            )
            assert reply.status_code == 202, reply.text
            job_ids.append(reply.json()["id"])

        # Each running job has persisted its prediction id once the stub sees it polled.
        def running_jobs_polled() -> bool:
            polled = {r.path.split("/")[4] for r in stub.state.recorded("/predictions/", "GET")}
            return len(stub.state.submits) == RUNNING and len(polled) == RUNNING

        wait_until(running_jobs_polled, f"{RUNNING} predictions submitted and polled", log)
        states = [client.get(f"{PREFIX}/jobs/{job_id}").json()["state"] for job_id in job_ids]
        assert sorted(states) == sorted(["running"] * RUNNING + ["queued"] * QUEUED)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)

    second = serve(port, env, log)
    try:
        wait_ready(client, second, log)
        stub.state.holding = False

        def all_finished() -> bool:
            replies = [client.get(f"{PREFIX}/jobs/{job_id}").json() for job_id in job_ids]
            return all(r["state"] in ("succeeded", "failed", "cancelled") for r in replies)

        wait_until(all_finished, "every job to finish after the restart", log, timeout_s=90)
        jobs = [client.get(f"{PREFIX}/jobs/{job_id}").json() for job_id in job_ids]
        usage = client.get(f"{PREFIX}/usage").json()
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(20)
    return job_ids, jobs, usage


def _check_outcome(
    stub: StubServer, job_ids: list[str], jobs: list[dict[str, Any]], usage: dict[str, Any], log: Path
) -> None:
    assert [job["state"] for job in jobs] == ["succeeded"] * len(job_ids), log.read_text()
    assert len(stub.state.submits) == len(job_ids)  # one prediction per job, none resubmitted
    charged = sum(Decimal(job["cost_usd"]) for job in jobs)
    assert charged > 0
    assert usage["edits_used"] == len(job_ids)
    assert Decimal(usage["spend_usd"]) == charged  # each job charged once
    assert Decimal(usage["reserved_usd"]) == 0  # nothing left held by the dead server
