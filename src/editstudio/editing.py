"""The library's front door for one edit: pick the provider for a model and run the request."""

from __future__ import annotations

import asyncio

from editstudio.core.provider import ProgressCallback
from editstudio.core.request import EditRequest, EditResult
from editstudio.settings import Settings, get_settings

LOCAL_MODEL_ID = "local/engine"


async def run_edit(
    request: EditRequest,
    *,
    model: str | None = None,
    settings: Settings | None = None,
    progress: ProgressCallback | None = None,
) -> EditResult:
    """Run ``request`` on ``model`` (the local engine when None) and return the result."""
    from editstudio.providers.registry import provider_for

    model_id = model or LOCAL_MODEL_ID
    provider = provider_for(model_id, settings or get_settings())
    return await provider.edit(request, model=model_id, progress=progress)


def run_edit_sync(
    request: EditRequest,
    *,
    model: str | None = None,
    settings: Settings | None = None,
    progress: ProgressCallback | None = None,
) -> EditResult:
    """``run_edit`` for callers without an event loop (scripts, the CLI)."""
    return asyncio.run(run_edit(request, model=model, settings=settings, progress=progress))
