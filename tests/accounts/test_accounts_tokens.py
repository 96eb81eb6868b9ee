"""API tokens: shown once, stored only hashed, refused once revoked or when the user is disabled."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from editstudio.accounts import (
    IssuedToken,
    create_token,
    create_user,
    disable_user,
    hash_token,
    list_tokens,
    revoke_token,
    verify_token,
)
from editstudio.core.errors import AuthError, Forbidden, NotFound
from editstudio.db import ApiToken, Base

Sessions = async_sessionmaker[AsyncSession]


async def _issue(sessions: Sessions, name: str = "ana") -> IssuedToken:
    async with sessions() as session:
        user = await create_user(session=session, name=name, tier="pro")
    async with sessions() as session:
        return await create_token(session=session, user_id=user.id)


async def _verify(sessions: Sessions, token: str) -> str:
    async with sessions() as session:
        return (await verify_token(session=session, token=token)).id


async def test_a_token_verifies_as_its_user_and_records_its_use(sessions: Sessions) -> None:
    issued = await _issue(sessions)

    assert issued.token.startswith("es_") and len(issued.token) > 40
    assert await _verify(sessions, issued.token) == issued.info.user_id
    async with sessions() as session:
        [info] = await list_tokens(session=session, user_id=issued.info.user_id)
    assert info.prefix == issued.token[:10]
    assert info.last_used_at is not None
    assert issued.token not in repr(issued)


async def test_tokens_are_never_stored_in_clear(sessions: Sessions) -> None:
    issued = [await _issue(sessions, "ana"), await _issue(sessions, "bo")]
    await _verify(sessions, issued[0].token)
    async with sessions() as session:
        await revoke_token(session=session, token_id=issued[1].info.id)

    stored: list[str] = []
    async with sessions() as session:
        for table in Base.metadata.sorted_tables:
            for row in (await session.execute(select(table))).all():
                stored.extend(str(value) for value in row)
    text = "\n".join(stored)

    for token in issued:
        secret = token.token.removeprefix("es_")
        assert secret[8:] not in text  # no part of the secret beyond the display prefix
        assert hash_token(token.token) in text  # the scan does see the token rows


@pytest.mark.parametrize("token", ["", "es_", "es_not-a-real-token", "Bearer es_x", "sk-openai-like"])
async def test_unknown_tokens_are_refused(sessions: Sessions, token: str) -> None:
    await _issue(sessions)
    with pytest.raises(AuthError) as caught:
        await _verify(sessions, token)
    assert caught.value.http_status == 401


async def test_a_revoked_token_is_refused_and_revoking_again_keeps_the_first_time(sessions: Sessions) -> None:
    issued = await _issue(sessions)
    async with sessions() as session:
        first = await revoke_token(session=session, token_id=issued.info.id)
    async with sessions() as session:
        again = await revoke_token(session=session, token_id=issued.info.id)

    assert first.revoked_at is not None and again.revoked_at == first.revoked_at
    with pytest.raises(AuthError, match="revoked"):
        await _verify(sessions, issued.token)


async def test_a_disabled_users_tokens_are_forbidden(sessions: Sessions) -> None:
    issued = await _issue(sessions)
    async with sessions() as session:
        await disable_user(session=session, user_id=issued.info.user_id)
    with pytest.raises(Forbidden):
        await _verify(sessions, issued.token)


async def test_tokens_for_unknown_users_or_ids_are_not_found(sessions: Sessions) -> None:
    async with sessions() as session:
        with pytest.raises(NotFound):
            await create_token(session=session, user_id="nobody")
    async with sessions() as session:
        with pytest.raises(NotFound):
            await revoke_token(session=session, token_id="tok_missing")
    async with sessions() as session:
        assert (await session.scalars(select(ApiToken))).all() == []
