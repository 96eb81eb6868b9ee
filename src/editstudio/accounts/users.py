"""Users: create, list, disable, and the implicit local user of single-user mode."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from editstudio.accounts.tiers import DEFAULT_TIERS, Tiers, tier_for
from editstudio.core.errors import InvalidRequest, NotFound
from editstudio.db.models import User

LOCAL_USER_ID = "local"
LOCAL_USER_NAME = "local"
# The one person using their own install is not metered against themselves.
LOCAL_USER_TIER = "enterprise"
MAX_NAME_CHARS = 200


@dataclass(frozen=True)
class UserInfo:
    id: str
    name: str
    tier: str
    created_at: datetime
    disabled: bool

    @classmethod
    def of(cls, row: User) -> UserInfo:
        return cls(id=row.id, name=row.name, tier=row.tier, created_at=row.created_at, disabled=row.disabled)


async def create_user(
    *, session: AsyncSession, name: str, tier: str = "free", tiers: Tiers = DEFAULT_TIERS
) -> UserInfo:
    clean = name.strip()
    if not clean or len(clean) > MAX_NAME_CHARS:
        raise InvalidRequest(f"a user name has 1 to {MAX_NAME_CHARS} characters", field="name")
    tier_for(tiers, tier)
    row = User(id=f"usr_{uuid.uuid4().hex}", name=clean, tier=tier)
    try:
        async with session.begin():
            session.add(row)
    except IntegrityError:
        raise InvalidRequest(f"a user named {clean!r} already exists", field="name") from None
    return UserInfo.of(row)


async def get_user(*, session: AsyncSession, user_id: str) -> UserInfo:
    async with session.begin():
        row = await session.get(User, user_id)
        if row is None:
            raise NotFound(f"no user {user_id!r}", user_id=user_id)
        return UserInfo.of(row)


async def list_users(*, session: AsyncSession, include_disabled: bool = True) -> list[UserInfo]:
    query = select(User).order_by(User.created_at, User.id)
    if not include_disabled:
        query = query.where(User.disabled.is_(False))
    async with session.begin():
        return [UserInfo.of(row) for row in await session.scalars(query)]


async def disable_user(*, session: AsyncSession, user_id: str) -> UserInfo:
    """Refuse the user's tokens from now on; idempotent. History and usage are kept."""
    async with session.begin():
        row = await session.get(User, user_id, with_for_update=True)
        if row is None:
            raise NotFound(f"no user {user_id!r}", user_id=user_id)
        row.disabled = True
    return UserInfo.of(row)


async def single_user(*, session: AsyncSession) -> UserInfo | None:
    """The implicit local user when no real users are configured, else ``None``.

    With no users the service runs unauthenticated for one person, whose jobs, assets and usage
    still need an owner: this returns that owner, creating it on first use.
    """
    async with session.begin():
        others = await session.scalar(select(func.count()).select_from(User).where(User.id != LOCAL_USER_ID))
        if others:
            return None
        row = await session.get(User, LOCAL_USER_ID)
        if row is None:
            row = User(id=LOCAL_USER_ID, name=LOCAL_USER_NAME, tier=LOCAL_USER_TIER)
            session.add(row)
    return UserInfo.of(row)
