"""Users: create, list, disable, and single-user mode's implicit local user."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from editstudio.accounts import LOCAL_USER_ID, create_user, disable_user, get_user, list_users, single_user
from editstudio.core.errors import ConfigurationError, InvalidRequest, NotFound

Sessions = async_sessionmaker[AsyncSession]


async def test_create_list_and_disable(sessions: Sessions) -> None:
    async with sessions() as session:
        ana = await create_user(session=session, name="  ana ", tier="pro")
    async with sessions() as session:
        bo = await create_user(session=session, name="bo")
    async with sessions() as session:
        disabled = await disable_user(session=session, user_id=bo.id)
    async with sessions() as session:
        everyone = await list_users(session=session)
    async with sessions() as session:
        active = await list_users(session=session, include_disabled=False)
    async with sessions() as session:
        again = await get_user(session=session, user_id=ana.id)

    assert (ana.name, ana.tier, bo.tier) == ("ana", "pro", "free")
    assert disabled.disabled and not ana.disabled
    assert {u.id for u in everyone} == {ana.id, bo.id}
    assert [u.id for u in active] == [ana.id]
    assert again == ana


@pytest.mark.parametrize(
    ("name", "tier", "error"), [("", "free", InvalidRequest), ("x", "gold", ConfigurationError)]
)
async def test_bad_users_are_refused(
    sessions: Sessions, name: str, tier: str, error: type[Exception]
) -> None:
    async with sessions() as session:
        with pytest.raises(error):
            await create_user(session=session, name=name, tier=tier)


async def test_names_are_unique(sessions: Sessions) -> None:
    async with sessions() as session:
        await create_user(session=session, name="ana")
    async with sessions() as session:
        with pytest.raises(InvalidRequest, match="already exists"):
            await create_user(session=session, name="ana")


async def test_unknown_users_are_not_found(sessions: Sessions) -> None:
    async with sessions() as session:
        with pytest.raises(NotFound):
            await get_user(session=session, user_id="nobody")
    async with sessions() as session:
        with pytest.raises(NotFound):
            await disable_user(session=session, user_id="nobody")


async def test_single_user_mode_until_a_real_user_exists(sessions: Sessions) -> None:
    async with sessions() as session:
        local = await single_user(session=session)
    async with sessions() as session:
        again = await single_user(session=session)
    assert local is not None and local.id == LOCAL_USER_ID
    assert again == local

    async with sessions() as session:
        await create_user(session=session, name="ana")
    async with sessions() as session:
        assert await single_user(session=session) is None
