"""API tokens: issued once, stored only as a SHA-256 hash, verified in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from editstudio.accounts.users import UserInfo
from editstudio.core.errors import AuthError, Forbidden, NotFound
from editstudio.db.models import ApiToken, User
from editstudio.db.types import utcnow

TOKEN_PREFIX = "es_"
DISPLAY_PREFIX_CHARS = 10  # "es_" + 7 characters: enough to tell tokens apart, far from enough to guess one
# last_used_at is for humans ("used today"); writing it on every request would serialise all
# authenticated requests on SQLite for no gain.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class TokenInfo:
    id: str
    user_id: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, row: ApiToken) -> TokenInfo:
        return cls(
            id=row.id,
            user_id=row.user_id,
            prefix=row.prefix,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            revoked_at=row.revoked_at,
        )


@dataclass(frozen=True)
class IssuedToken:
    """The secret ``token`` exists only here: show it once, it cannot be recovered."""

    token: str
    info: TokenInfo

    def __repr__(self) -> str:
        return f"IssuedToken(token='{self.info.prefix}…', info={self.info!r})"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


async def create_token(*, session: AsyncSession, user_id: str) -> IssuedToken:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        id=f"tok_{uuid.uuid4().hex}",
        user_id=user_id,
        token_hash=hash_token(token),
        prefix=token[:DISPLAY_PREFIX_CHARS],
    )
    async with session.begin():
        if await session.get(User, user_id) is None:
            raise NotFound(f"no user {user_id!r}", user_id=user_id)
        session.add(row)
    return IssuedToken(token=token, info=TokenInfo.of(row))


async def verify_token(*, session: AsyncSession, token: str) -> UserInfo:
    """The user a token belongs to; ``AuthError`` if unknown or revoked, ``Forbidden`` if the
    user is disabled."""
    if not token.startswith(TOKEN_PREFIX):
        raise AuthError("not an EditStudio API token")
    digest = hash_token(token)
    async with session.begin():
        found = (
            await session.execute(
                select(ApiToken, User)
                .join(User, User.id == ApiToken.user_id)
                .where(ApiToken.token_hash == digest)
            )
        ).first()
        # The lookup already matched; comparing again in constant time keeps the decision itself
        # free of timing differences whatever the database's index does.
        if found is None or not hmac.compare_digest(found[0].token_hash, digest):
            raise AuthError("unknown API token")
        row, user = found
        if row.revoked_at is not None:
            raise AuthError("this API token was revoked", token_prefix=row.prefix)
        if user.disabled:
            raise Forbidden("this user is disabled", user_id=user.id)
        now = utcnow()
        if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
            row.last_used_at = now
        return UserInfo.of(user)


async def revoke_token(*, session: AsyncSession, token_id: str) -> TokenInfo:
    """Revoke a token; idempotent (the first revocation time is kept)."""
    async with session.begin():
        row = await session.get(ApiToken, token_id, with_for_update=True)
        if row is None:
            raise NotFound(f"no API token {token_id!r}", token_id=token_id)
        if row.revoked_at is None:
            row.revoked_at = utcnow()
    return TokenInfo.of(row)


async def list_tokens(*, session: AsyncSession, user_id: str) -> list[TokenInfo]:
    query = select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.created_at, ApiToken.id)
    async with session.begin():
        return [TokenInfo.of(row) for row in await session.scalars(query)]
