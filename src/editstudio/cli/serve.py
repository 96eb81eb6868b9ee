"""``editstudio serve``: the HTTP API on the embedded defaults, with one command."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from editstudio.cli.app import LogLevel, app, console, exit_on_error
from editstudio.settings import Settings, get_settings

DEFAULT_PORT = 8000


@app.command("serve")
def serve_command(
    host: Annotated[
        str, typer.Option("--host", help="Address to bind. Anything but loopback needs users.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="TCP port.")] = DEFAULT_PORT,
    log_level: Annotated[
        LogLevel, typer.Option("--log-level", case_sensitive=False, help="uvicorn log level.")
    ] = LogLevel.INFO,
    workers: Annotated[
        bool,
        typer.Option(
            "--workers/--no-workers",
            help="Run jobs in this process too; --no-workers: API only, `editstudio worker` runs them.",
        ),
    ] = True,
) -> None:
    """Serve the API (state under EDITSTUDIO_DATA_DIR and EDITSTUDIO_DATABASE_URL when set)."""
    import uvicorn

    from editstudio.api.app import create_app
    from editstudio.api.context import is_loopback

    settings = get_settings()
    with exit_on_error():
        if not is_loopback(host):
            # Checked before uvicorn starts, so the refusal is one clear line and an exit code
            # rather than a lifespan traceback.
            asyncio.run(_require_users(settings, host))
        mode = "single-user (no token) unless users exist" if is_loopback(host) else "token auth"
        jobs = "" if workers else "; API only: jobs run in `editstudio worker` processes"
        console.print(f"EditStudio API on http://{host}:{port}/docs, {mode}{jobs}", highlight=False)
        app = create_app(settings, host=host, run_workers=workers)
        uvicorn.run(app, host=host, port=port, log_level=log_level.value)


async def _require_users(settings: Settings, host: str) -> None:
    from editstudio.api.auth import require_users
    from editstudio.db import create_engine_for, create_session_factory, database_url, upgrade_to_head

    url = database_url(settings)
    await upgrade_to_head(url)
    engine = create_engine_for(url)
    try:
        async with create_session_factory(engine)() as session:
            await require_users(session=session, host=host)
    finally:
        await engine.dispose()
