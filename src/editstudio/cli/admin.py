"""Operator commands: ``editstudio users ...``, ``editstudio jobs``, ``editstudio usage``.

They open the same database the server uses (``EDITSTUDIO_DATABASE_URL`` or the data directory),
migrating it first, and call the accounts and jobs libraries. A token is printed exactly once,
when it is made; only its hash is stored.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from editstudio.accounts import (
    IssuedToken,
    UserInfo,
    create_token,
    create_user,
    disable_user,
    list_tokens,
    list_users,
    load_tiers,
    revoke_token,
    usage_summary,
)
from editstudio.cli.app import app, console, exit_on_error
from editstudio.core.errors import NotFound
from editstudio.settings import get_settings

if TYPE_CHECKING:
    from editstudio.jobs import JobRecord, JobService

_T = TypeVar("_T")

users_app = typer.Typer(help="Create users and manage their API tokens.", no_args_is_help=True)
app.add_typer(users_app, name="users")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
UserArg = Annotated[str, typer.Argument(help="The user's name or id.")]


@asynccontextmanager
async def _database() -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    from editstudio.db import create_engine_for, create_session_factory, database_url, upgrade_to_head

    url = database_url(get_settings())
    await upgrade_to_head(url)
    engine = create_engine_for(url)
    try:
        yield create_session_factory(engine)
    finally:
        await engine.dispose()


def _run(work: Callable[[async_sessionmaker[AsyncSession]], Awaitable[_T]]) -> _T:
    async def main() -> _T:
        async with _database() as sessions:
            return await work(sessions)

    with exit_on_error():
        return asyncio.run(main())


async def _find_user(sessions: async_sessionmaker[AsyncSession], name_or_id: str) -> UserInfo:
    async with sessions() as session:
        users = await list_users(session=session)
    for user in users:
        if name_or_id in (user.id, user.name):
            return user
    raise NotFound(f"no user named {name_or_id!r} (`editstudio users list` shows them)", user=name_or_id)


def _echo_json(body: Any) -> None:
    typer.echo(json.dumps(body, indent=2, default=str))


def _print_token(issued: IssuedToken, user: UserInfo) -> None:
    console.print(f"API token for {user.name} (shown once; store it now):", highlight=False)
    # Plain echo: the token must copy-paste exactly, with no wrapping or markup.
    typer.echo(issued.token)


@users_app.command("create")
def users_create(
    name: Annotated[str, typer.Argument(help="A unique user name.")],
    tier: Annotated[str, typer.Option("--tier", help="free, pro, enterprise or a configured tier.")] = "free",
    no_token: Annotated[bool, typer.Option("--no-token", help="Do not issue a token now.")] = False,
) -> None:
    """Create a user and (unless --no-token) print its first API token, once."""

    async def work(sessions: async_sessionmaker[AsyncSession]) -> tuple[UserInfo, IssuedToken | None]:
        async with sessions() as session:
            user = await create_user(
                session=session, name=name, tier=tier, tiers=load_tiers(get_settings().tiers_file)
            )
            issued = None if no_token else await create_token(session=session, user_id=user.id)
        return user, issued

    user, issued = _run(work)
    console.print(f"created user {user.name} ({user.id}), tier {user.tier}", highlight=False)
    if issued is not None:
        _print_token(issued, user)


@users_app.command("token")
def users_token(user: UserArg) -> None:
    """Issue another API token for a user and print it, once."""

    async def work(sessions: async_sessionmaker[AsyncSession]) -> tuple[UserInfo, IssuedToken]:
        found = await _find_user(sessions, user)
        async with sessions() as session:
            return found, await create_token(session=session, user_id=found.id)

    found, issued = _run(work)
    _print_token(issued, found)


@users_app.command("revoke")
def users_revoke(token_id: Annotated[str, typer.Argument(help="The token's id (tok_...).")]) -> None:
    """Revoke an API token; requests with it get 401 from now on."""

    async def work(sessions: async_sessionmaker[AsyncSession]) -> str:
        async with sessions() as session:
            info = await revoke_token(session=session, token_id=token_id)
        return f"revoked {info.id} ({info.prefix}…) of {info.user_id}"

    console.print(_run(work), highlight=False)


@users_app.command("disable")
def users_disable(user: UserArg) -> None:
    """Disable a user: all their tokens are refused; history and usage stay."""

    async def work(sessions: async_sessionmaker[AsyncSession]) -> UserInfo:
        found = await _find_user(sessions, user)
        async with sessions() as session:
            return await disable_user(session=session, user_id=found.id)

    console.print(f"disabled {_run(work).name}", highlight=False)


@users_app.command("list")
def users_list(as_json: JsonOpt = False) -> None:
    """List users and their tokens (prefixes only: tokens are not stored)."""

    async def work(sessions: async_sessionmaker[AsyncSession]) -> list[dict[str, Any]]:
        async with sessions() as session:
            users = await list_users(session=session)
            rows = []
            for user in users:
                tokens = await list_tokens(session=session, user_id=user.id)
                rows.append(
                    {
                        "id": user.id,
                        "name": user.name,
                        "tier": user.tier,
                        "disabled": user.disabled,
                        "created_at": user.created_at.isoformat(),
                        "tokens": [
                            {"id": t.id, "prefix": t.prefix, "revoked": t.revoked_at is not None}
                            for t in tokens
                        ],
                    }
                )
        return rows

    rows = _run(work)
    if as_json:
        _echo_json({"data": rows, "count": len(rows)})
        return
    table = Table("id", "name", "tier", "disabled", "tokens", title=f"{len(rows)} users")
    for row in rows:
        active = [f"{t['id']} ({t['prefix']}…)" for t in row["tokens"] if not t["revoked"]]
        table.add_row(
            row["id"], row["name"], row["tier"], "yes" if row["disabled"] else "", "\n".join(active)
        )
    console.print(table)


@app.command("usage")
def usage_command(
    user: Annotated[str | None, typer.Option("--user", help="One user (name or id); default all.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Spend and edits this month per user, with what is left."""

    async def work(sessions: async_sessionmaker[AsyncSession]) -> list[dict[str, Any]]:
        if user is not None:
            users = [await _find_user(sessions, user)]
        else:
            async with sessions() as session:
                users = await list_users(session=session)
        tiers = load_tiers(get_settings().tiers_file)
        rows = []
        for found in users:
            async with sessions() as session:
                usage = await usage_summary(session=session, user_id=found.id, tiers=tiers)
            rows.append(
                {
                    "user": found.name,
                    "period": usage.period,
                    "tier": usage.tier,
                    "edits_used": usage.edits_used,
                    "edits_remaining": usage.edits_remaining,
                    "spend_usd": usage.spend_usd,
                    "remaining_usd": usage.usd_remaining,
                    "by_model": {
                        m.model: {"edits": m.edits, "spend_usd": m.spend_usd} for m in usage.by_model
                    },
                }
            )
        return rows

    rows = _run(work)
    if as_json:
        _echo_json({"data": rows, "count": len(rows)})
        return
    table = Table("user", "period", "tier", "edits", "edits left", "spend USD", "USD left")
    for row in rows:
        table.add_row(
            row["user"],
            row["period"],
            row["tier"],
            str(row["edits_used"]),
            _unlimited(row["edits_remaining"]),
            str(row["spend_usd"]),
            _unlimited(row["remaining_usd"]),
        )
    console.print(table)


@app.command("jobs")
def jobs_command(
    user: Annotated[str | None, typer.Option("--user", help="One user (name or id); default all.")] = None,
    status: Annotated[str | None, typer.Option("--status", help="queued, running, succeeded, ...")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=200, help="Newest N jobs.")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """The newest jobs, across users or for one."""
    from editstudio.core.jobs import JobState
    from editstudio.jobs import JobFilter

    async def work(sessions: async_sessionmaker[AsyncSession]) -> list[JobRecord]:
        service = _job_service(sessions)
        if user is not None:
            users = [await _find_user(sessions, user)]
        else:
            async with sessions() as session:
                users = await list_users(session=session)
        filters = JobFilter(state=JobState(status) if status else None)
        found: list[JobRecord] = []
        for owner in users:
            page = await service.list(user_id=owner.id, filters=filters, limit=limit)
            found.extend(page.records)
        found.sort(key=lambda job: job.created_at, reverse=True)
        return found[:limit]

    jobs = _run(work)
    if as_json:
        _echo_json({"data": [_job_dict(job) for job in jobs], "count": len(jobs)})
        return
    table = Table(
        "id", "user", "state", "operation", "model", "cost USD", "created", title=f"{len(jobs)} jobs"
    )
    for job in jobs:
        cost = "" if job.cost_usd is None else str(job.cost_usd)
        table.add_row(
            job.id, job.user_id, job.state.value, job.operation, job.model, cost, job.created_at.isoformat()
        )
    console.print(table)


def _job_service(sessions: async_sessionmaker[AsyncSession]) -> JobService:
    # Reading only: the service is built for its queries and never started, so no worker runs.
    from editstudio.api.app import default_blob_store
    from editstudio.jobs import JobService

    settings = get_settings()
    return JobService(sessions, default_blob_store(settings), settings)


def _job_dict(job: JobRecord) -> dict[str, Any]:
    return {
        "id": job.id,
        "user_id": job.user_id,
        "state": job.state.value,
        "operation": job.operation,
        "model": job.model,
        "estimate_usd": job.estimate_usd,
        "cost_usd": job.cost_usd,
        "error_code": job.error_code,
        "created_at": job.created_at.isoformat(),
    }


def _unlimited(value: int | Decimal | None) -> str:
    return "unlimited" if value is None else str(value)
