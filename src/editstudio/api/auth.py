"""Who is calling: a bearer token's user, or the implicit local user of single-user mode."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from editstudio.accounts import LOCAL_USER_ID, UserInfo, single_user, verify_token
from editstudio.core.errors import AuthError, ConfigurationError
from editstudio.db.models import User

CREATE_USER_HINT = (
    "create one with `editstudio users create NAME` and pass its token as Authorization: Bearer"
)


async def authenticate(*, session: AsyncSession, token: str | None, local_bind: bool) -> UserInfo:
    """The caller's user. Without a token only a loopback server with no users answers, as the
    local user; the message never repeats the token it was given."""
    if token:
        return await verify_token(session=session, token=token)
    if local_bind:
        user = await single_user(session=session)
        if user is not None:
            return user
        raise AuthError("this server has users: send Authorization: Bearer <token>")
    raise AuthError(f"an API token is required: {CREATE_USER_HINT}")


async def require_users(*, session: AsyncSession, host: str) -> None:
    """Refuse to serve on a non-loopback ``host`` while there is no user to authenticate."""
    async with session.begin():
        count = await session.scalar(select(func.count()).select_from(User).where(User.id != LOCAL_USER_ID))
    if not count:
        raise ConfigurationError(
            f"refusing to serve on {host} without authentication: there are no users; {CREATE_USER_HINT}",
            host=host,
        )
