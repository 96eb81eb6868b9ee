"""``OpenAIProvider``: the I/O around the pure OpenAI mapping in ``providers/openai.py``.

OpenAI's image edit is one synchronous call: stage the inputs (``providers/images.py``, in a worker
thread), send the multipart request through ``ProviderHttp`` (retries, timeouts), decode the base64
image with the capped decoder and finish it. There is no remote job to collect later, so this is a
plain ``EditProvider``, not a ``ResumableProvider``.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import partial
from typing import Any

import httpx
from pydantic import SecretStr

from editstudio.catalog.loader import Catalog
from editstudio.catalog.pricing import EstimateInput, estimate
from editstudio.catalog.schema import ModelSpec
from editstudio.core.errors import ContentRejected
from editstudio.core.provider import ProgressCallback
from editstudio.core.request import EditRequest, EditResult
from editstudio.imaging import ImageLimits
from editstudio.providers.base import CatalogProvider, Reporter
from editstudio.providers.http import Deadline, HttpCall, HttpReply, ProviderHttp, Timeouts
from editstudio.providers.images import (
    PreparedInputs,
    finish_output,
    prepare_inputs,
    transparent_where_edit,
)
from editstudio.providers.openai import (
    PROVIDER,
    PROVIDER_NAME,
    QUALITIES,
    SIZES,
    EditInputs,
    EditReply,
    EditSettings,
    MiB,
    OpenAICredentials,
    build_edit,
    classify_error,
    dropped_fields,
    edit_settings,
    parse_edit,
    too_large,
)

# A high-quality edit takes tens of seconds and OpenAI's own SDK waits up to 600 s, so the 60 s read
# timeout that suits polling would cut good edits short.
EDIT_TIMEOUTS = Timeouts(read_s=300.0, write_s=120.0)


@dataclass(frozen=True)
class OpenAIOptions:
    """How one deployment talks to OpenAI.

    ``retry_ambiguous``: retry an edit whose reply never came (read timeout, 504), as OpenAI's SDK
    does. The edit cannot be collected afterwards, so a retry is the only way to a result, but OpenAI
    may bill both attempts; set it False to raise ``ProviderTimeout`` at once instead.
    """

    deadline_s: float = 600.0
    max_output_bytes: int = 64 * MiB
    retry_ambiguous: bool = True


class OpenAIProvider(CatalogProvider[OpenAICredentials, OpenAIOptions]):
    """``EditProvider`` for the OpenAI models of the catalogue (``openai/gpt-image-1``).

    Use ``async with provider:`` to share one connection pool across many edits; without it every
    call opens and closes its own.
    """

    name = PROVIDER
    model_noun = "an OpenAI model"

    def __init__(
        self,
        *,
        api_key: SecretStr,
        base_url: str,
        model: str | None = None,
        catalog: Catalog | None = None,
        limits: ImageLimits | None = None,
        http: ProviderHttp | None = None,
        options: OpenAIOptions | None = None,
    ) -> None:
        super().__init__(
            creds=OpenAICredentials(api_key, base_url),
            model=model,
            catalog=catalog,
            limits=limits,
            http=http or ProviderHttp(PROVIDER, timeouts=EDIT_TIMEOUTS),
            options=options or OpenAIOptions(),
        )
        self._classify = partial(classify_error, secrets=(api_key,))

    async def edit(
        self,
        request: EditRequest,
        *,
        model: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> EditResult:
        started = time.monotonic()
        spec = self._spec_for(request, model)
        report = Reporter(progress)
        deadline = Deadline(self.options.deadline_s)
        prepared, inputs = await asyncio.to_thread(self._stage, request, spec)
        settings = edit_settings(request, spec, prepared.sent_size)
        call = build_edit(request, spec, self._creds, inputs, settings)
        # The reply carries the image as base64 (4/3 of its size) plus a little JSON.
        call = replace(call, max_reply_bytes=self.options.max_output_bytes * 4 // 3 + MiB)
        report("submitting", 0.1)
        async with self.http.session() as client:
            reply = await self._send(client, call, deadline)
            parsed = parse_edit(reply)
            report("decoding", 0.9)
            output = await self.http.download(
                client, parsed.b64_json, max_bytes=self.options.max_output_bytes, deadline=deadline
            )
        finished = await asyncio.to_thread(
            finish_output, output, request, self.limits, provider=PROVIDER, provider_name=PROVIDER_NAME
        )
        report("done", 1.0)
        metadata = _metadata(request, prepared, settings, parsed)
        metadata.update(finished.metadata)
        return EditResult(
            image=finished.data,
            format=finished.format,
            width=finished.width,
            height=finished.height,
            provider=PROVIDER,
            model=spec.id,
            cost_usd=_cost(request, spec, settings, parsed),
            timings_ms={"total": (time.monotonic() - started) * 1000.0},
            metadata=metadata,
        )

    def _stage(self, request: EditRequest, spec: ModelSpec) -> tuple[PreparedInputs, EditInputs]:
        """Fit every image to the model's limits and convert the mask (CPU-bound: a worker thread)."""
        prepared = prepare_inputs(request, spec, self.limits)
        mask = transparent_where_edit(prepared.mask, self.limits) if prepared.mask is not None else None
        return prepared, EditInputs(prepared.image, prepared.references, mask)

    async def _send(self, client: httpx.AsyncClient, call: HttpCall, deadline: Deadline) -> HttpReply:
        try:
            return await self.http.send(
                client,
                call,
                classify=self._classify,
                deadline=deadline,
                idempotent=self.options.retry_ambiguous,
                what="edit",
            )
        except ContentRejected as exc:
            if exc.status == 413:
                raise too_large(exc) from exc
            raise


def _cost(request: EditRequest, spec: ModelSpec, settings: EditSettings, reply: EditReply) -> Decimal:
    """The catalogue's price for the size and quality OpenAI reports it made (what was sent when it
    does not say); ``auto`` quality is priced at the catalogue's default tier."""
    size = SIZES.get(reply.size or "", settings.size_px)
    quality = reply.quality if reply.quality in QUALITIES else settings.quality
    job = EstimateInput(operation=request.operation, width=size[0], height=size[1], quality=quality)
    return estimate(job, spec).total_usd


def _metadata(
    request: EditRequest, prepared: PreparedInputs, settings: EditSettings, reply: EditReply
) -> dict[str, Any]:
    metadata: dict[str, Any] = dict(prepared.metadata)
    dropped = {**dict(prepared.metadata.get("dropped", {})), **dropped_fields(request)}
    if dropped:
        metadata["dropped"] = dropped
    if request.mask is not None:
        metadata["mask"] = "sent as mask (transparent = edit)"
    metadata["size_sent"] = {"size": settings.size, "why": settings.size_reason}
    metadata["quality_sent"] = settings.quality
    metadata["images_sent"] = 1 + len(prepared.references)
    answered = {
        "size": reply.size,
        "quality": reply.quality,
        "output_format": reply.output_format,
        "background": reply.background,
        "created": reply.created,
    }
    metadata["openai"] = {k: v for k, v in answered.items() if v is not None}
    if reply.usage:
        metadata["usage"] = dict(reply.usage)
    if reply.request_id:
        metadata["request_id"] = reply.request_id
    return metadata
