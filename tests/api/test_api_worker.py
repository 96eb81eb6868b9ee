"""Scale-out: an API node with no workers only queues jobs, and ``editstudio worker`` processes on
the same database and blob store run them; SIGTERM stops a worker with exit 0, putting the job it
was running back in the queue for the next worker (no second submit to the provider)."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from api_kit import PREFIX, b64, backend_database, make_settings, png_bytes
from PIL import Image
from typer.testing import CliRunner
from wavespeed_images import gradient_png
from wavespeed_kit import running_stub
from wavespeed_stub import API_KEY

from editstudio.cli import app as cli_app
from editstudio.jobs import JobServiceConfig
from editstudio.settings import Settings, get_settings

STOP_TIMEOUT_S = 30
STREAM_TIMEOUT_S = 60
# Variables of the test process that must not leak into a worker's configuration.
PROVIDER_KEYS = ("WAVESPEED_API_KEY", "STABILITY_API_KEY", "OPENAI_API_KEY", "HF_TOKEN")


@asynccontextmanager
async def api_only(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app as ``serve --no-workers`` builds it; events are re-read every 50 ms."""
    from editstudio.api.app import create_app

    config = JobServiceConfig(poll_interval_s=0.05)
    app = create_app(settings, run_workers=False, job_config=config)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://test") as client,
    ):
        yield client


def worker_env(settings: Settings, data_dir: Path, **extra: str) -> dict[str, str]:
    """The worker shares only the database and blob URLs; its data dir is its own."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("EDITSTUDIO_") and name not in PROVIDER_KEYS
    }
    assert settings.database_url is not None and settings.blob_url is not None
    env.update(
        EDITSTUDIO_DATABASE_URL=settings.database_url,
        EDITSTUDIO_BLOB_URL=settings.blob_url,
        EDITSTUDIO_DATA_DIR=str(data_dir),
        EDITSTUDIO_JOB_WORKERS="1",
        **extra,
    )
    return env


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    script = Path(sys.executable).with_name("editstudio")
    with log.open("ab") as out:
        return subprocess.Popen([str(script), "worker"], env=env, stdout=out, stderr=subprocess.STDOUT)


def stop_worker(process: subprocess.Popen[bytes]) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise


async def event_types(client: httpx.AsyncClient, url: str) -> list[str]:
    """The job's events, read until the stream ends with the terminal one."""
    async with asyncio.timeout(STREAM_TIMEOUT_S):
        reply = await client.get(url)
    assert reply.status_code == 200, reply.text
    return [line.removeprefix("event: ") for line in reply.text.splitlines() if line.startswith("event: ")]


async def until(condition: Callable[[], object], what: str, timeout_s: float = 30) -> None:
    async with asyncio.timeout(timeout_s):
        # The stub records requests in another thread and signals nothing, so re-check the
        # condition itself; no sleep stands in for "it has happened by now".
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    assert condition(), what


def shared_settings(tmp_path: Path, database_url: str, **overrides: Any) -> Settings:
    return make_settings(tmp_path / "api", database_url, blob_url=(tmp_path / "blobs").as_uri(), **overrides)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_api_only_node_queues_and_a_worker_process_runs_the_job(backend: str, tmp_path: Path) -> None:
    async with backend_database(backend, tmp_path) as url:
        settings = shared_settings(tmp_path, url)
        log = tmp_path / "worker.log"
        source = png_bytes(48, 32, seed=11)
        async with api_only(settings) as client:
            body = {
                "operation": "adjust",
                "brightness": 1.5,
                "image_base64": b64(source),
                "model": "local/engine",
            }
            # Half a second of waiting inside the API: nothing in this process runs the job.
            reply = await client.post(f"{PREFIX}/edit", params={"wait": 0.5}, json=body)
            assert reply.status_code == 202, reply.text
            job = reply.json()
            assert job["state"] == "queued"
            assert job["started_at"] is None

            worker = start_worker(worker_env(settings, tmp_path / "worker"), log)
            try:
                events = await event_types(client, job["links"]["events"])
            finally:
                exit_code = stop_worker(worker)
            done = (await client.get(job["links"]["self"])).json()
            output = await client.get(done["result"]["url"])
            head = await client.head(done["result"]["url"])

    assert exit_code == 0, log.read_text()
    assert events[0] == "queued"
    assert "started" in events
    assert events[-1] == "succeeded", log.read_text()
    assert done["state"] == "succeeded"
    assert output.status_code == 200
    edited = np.asarray(Image.open(io.BytesIO(output.content)).convert("RGB"), dtype=float)
    original = np.asarray(Image.open(io.BytesIO(source)).convert("RGB"), dtype=float)
    assert edited.shape == original.shape
    assert edited.mean() > original.mean() + 10  # brightness 1.5 ran in the worker
    assert head.status_code == 200
    assert int(head.headers["content-length"]) == len(output.content)


async def test_sigterm_requeues_the_running_job_and_the_next_worker_finishes_it(tmp_path: Path) -> None:
    async with backend_database("sqlite", tmp_path) as url:
        with running_stub() as stub:
            stub.state.holding = True  # the prediction stays "processing" until released
            settings = shared_settings(tmp_path, url)
            env = worker_env(
                settings,
                tmp_path / "worker",
                EDITSTUDIO_WAVESPEED_BASE_URL=stub.url,
                WAVESPEED_API_KEY=API_KEY,
                EDITSTUDIO_WAVESPEED_POLL_INTERVAL_S="0.05",
            )
            log = tmp_path / "worker.log"
            async with api_only(settings) as client:
                image = b64(gradient_png(320, 240))
                body = {
                    "operation": "general_edit",
                    "prompt": "invert",
                    "image_base64": image,
                    "model": "wavespeed/qwen-image-edit",
                }
                job = (await client.post(f"{PREFIX}/edit", json=body)).json()

                first = start_worker(env, log)
                try:
                    # A poll means the prediction's handle is committed to the job row.
                    await until(lambda: stub.state.recorded("/predictions/", "GET"), "the first poll")
                finally:
                    first_exit = stop_worker(first)
                requeued = (await client.get(job["links"]["self"])).json()

                stub.state.holding = False
                second = start_worker(env, log)
                try:
                    events = await event_types(client, job["links"]["events"])
                finally:
                    second_exit = stop_worker(second)
                done = (await client.get(job["links"]["self"])).json()

    assert first_exit == 0, log.read_text()
    assert requeued["state"] == "queued"
    assert second_exit == 0, log.read_text()
    assert events[-1] == "succeeded", log.read_text()
    assert done["state"] == "succeeded"
    assert len(stub.state.submits) == 1  # the second worker collected the first one's prediction


def test_serve_no_workers_builds_an_api_only_app(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    import editstudio.api.app

    built: list[dict[str, Any]] = []

    def fake_create_app(settings: Settings, **kwargs: Any) -> str:
        built.append(kwargs)
        return "app"

    monkeypatch.setattr(editstudio.api.app, "create_app", fake_create_app)
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: None)
    runner = CliRunner()
    api_only_run = runner.invoke(cli_app, ["serve", "--no-workers"])
    default_run = runner.invoke(cli_app, ["serve"])
    assert api_only_run.exit_code == default_run.exit_code == 0, api_only_run.output
    assert [kwargs["run_workers"] for kwargs in built] == [False, True]
    assert "API only" in api_only_run.output


def test_worker_refuses_blobs_it_cannot_share(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDITSTUDIO_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("EDITSTUDIO_BLOB_URL", "memory://")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli_app, ["worker"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 3  # ConfigurationError's exit code, before anything starts
    assert "memory://" in result.output


@pytest.mark.parametrize("command", ["worker", "serve"])
def test_a_log_level_uvicorn_does_not_know_is_a_usage_error(command: str) -> None:
    result = CliRunner().invoke(cli_app, [command, "--log-level", "verbose"])
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)  # click's usage error, not a crash
    assert "Invalid value for '--log-level'" in result.output
    assert "'verbose'" in result.output and "trace" in result.output
    assert "Traceback" not in result.output


def test_serve_hands_uvicorn_its_level_in_lower_case(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    import editstudio.api.app

    levels: list[object] = []
    monkeypatch.setattr(editstudio.api.app, "create_app", lambda settings, **kwargs: "app")
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: levels.append(kwargs["log_level"]))
    result = CliRunner().invoke(cli_app, ["serve", "--log-level", "DEBUG"])
    assert result.exit_code == 0, result.output
    assert levels == ["debug"] and type(levels[0]) is str
