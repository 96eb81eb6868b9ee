"""The dependencies routes declare, as ``Annotated`` aliases (``SessionDep``, ``CurrentUser``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from editstudio.accounts import UserInfo
from editstudio.api.auth import authenticate
from editstudio.api.context import ApiContext
from editstudio.jobs import JobService

# auto_error=False: a missing token is not always an error (single-user mode), and when it is,
# our handler answers in the one error shape rather than FastAPI's.
bearer = HTTPBearer(auto_error=False, description="An API token from `editstudio users token`.")


def get_context(request: Request) -> ApiContext:
    context: ApiContext = request.app.state.context
    return context


ContextDep = Annotated[ApiContext, Depends(get_context)]


async def get_session(context: ContextDep) -> AsyncIterator[AsyncSession]:
    async with context.sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


def get_jobs(context: ContextDep) -> JobService:
    return context.jobs


JobsDep = Annotated[JobService, Depends(get_jobs)]


async def get_current_user(
    context: ContextDep,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> UserInfo:
    token = credentials.credentials if credentials is not None else None
    return await authenticate(session=session, token=token, local_bind=context.local_bind)


CurrentUser = Annotated[UserInfo, Depends(get_current_user)]
