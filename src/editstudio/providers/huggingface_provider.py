"""``HuggingFaceProvider``: the I/O around the pure mapping in ``providers/huggingface.py``.

An ``hf-inference`` image-to-image call is one synchronous request whose reply is the image: stage
the input (``providers/images.py``, in a worker thread), send the JSON through ``ProviderHttp``
(retries honouring ``Retry-After`` and a loading model's ``estimated_time``, timeouts, a byte cap on
the reply), then finish the output. The task has no mask field, so a masked request is composited
into the original inside the feathered mask, as for WaveSpeed's mask-less models. There is no remote
job to collect later, so this is a plain ``EditProvider``.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import partial
from typing import Any

from pydantic import SecretStr

from editstudio.catalog.loader import Catalog
from editstudio.catalog.pricing import EstimateInput, estimate
from editstudio.catalog.schema import ModelSpec
from editstudio.core.errors import EditStudioError
from editstudio.core.provider import ProgressCallback
from editstudio.core.request import EditRequest, EditResult
from editstudio.imaging import ImageLimits
from editstudio.providers.base import CatalogProvider, Reporter
from editstudio.providers.http import Deadline, HttpReply, ProviderHttp, Timeouts
from editstudio.providers.huggingface import (
    PROVIDER,
    PROVIDER_NAME,
    HuggingFaceCredentials,
    ImageReply,
    MiB,
    build_edit,
    classify_error,
    dropped_fields,
    parse_image,
    parse_route,
)
from editstudio.providers.images import PreparedInputs, finish_output, prepare_inputs

# A diffusion run takes tens of seconds on a warm model; 60 s (the polling default) would cut it short.
EDIT_TIMEOUTS = Timeouts(read_s=300.0, write_s=120.0)


@dataclass(frozen=True)
class HuggingFaceOptions:
    """How one deployment talks to the Hugging Face router.

    ``retry_ambiguous``: retry an edit whose reply never came (read timeout, 504). The call cannot be
    collected afterwards, so a retry is the only way to a result, but hf-inference bills compute time
    and may bill both attempts; set it False to raise ``ProviderTimeout`` at once instead.
    """

    deadline_s: float = 600.0
    max_output_bytes: int = 64 * MiB
    retry_ambiguous: bool = True


class HuggingFaceProvider(CatalogProvider[HuggingFaceCredentials, HuggingFaceOptions]):
    """``EditProvider`` for the ``huggingface/*`` models of the catalogue (hf-inference route).

    Use ``async with provider:`` to share one connection pool across many edits; without it every
    call opens and closes its own.
    """

    name = PROVIDER
    model_noun = "a Hugging Face model"

    def __init__(
        self,
        *,
        token: SecretStr,
        base_url: str,
        model: str | None = None,
        catalog: Catalog | None = None,
        limits: ImageLimits | None = None,
        http: ProviderHttp | None = None,
        options: HuggingFaceOptions | None = None,
    ) -> None:
        super().__init__(
            creds=HuggingFaceCredentials(token, base_url),
            model=model,
            catalog=catalog,
            limits=limits,
            http=http or ProviderHttp(PROVIDER, timeouts=EDIT_TIMEOUTS),
            options=options or HuggingFaceOptions(),
        )
        self._secrets = (token,)

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
        prepared = await asyncio.to_thread(prepare_inputs, request, spec, self.limits)
        call = build_edit(request, spec, self._creds, prepared.image)
        call = replace(call, max_reply_bytes=self.options.max_output_bytes)
        report("submitting", 0.1)
        async with self.http.session() as client:
            reply = await self.http.send(
                client,
                call,
                classify=partial(self._classify, spec.id),
                deadline=deadline,
                idempotent=self.options.retry_ambiguous,
                what="edit",
            )
        parsed = parse_image(reply, max_bytes=self.options.max_output_bytes)
        report("decoding", 0.9)
        finished = await asyncio.to_thread(
            finish_output,
            parsed.data,
            request,
            self.limits,
            provider=PROVIDER,
            provider_name=PROVIDER_NAME,
            composite_into=prepared.composite,
        )
        report("done", 1.0)
        metadata = _metadata(request, spec, prepared, parsed)
        metadata.update(finished.metadata)
        return EditResult(
            image=finished.data,
            format=finished.format,
            width=finished.width,
            height=finished.height,
            provider=PROVIDER,
            model=spec.id,
            cost_usd=_cost(request, spec, prepared),
            timings_ms={"total": (time.monotonic() - started) * 1000.0},
            metadata=metadata,
        )

    def _classify(self, model_id: str, reply: HttpReply) -> EditStudioError:
        return classify_error(reply, model_id=model_id, secrets=self._secrets)

    def _spec_for(self, request: EditRequest, model: str | None) -> ModelSpec:
        spec = super()._spec_for(request, model)
        parse_route(spec)  # a route this adapter cannot send is refused before any work
        return spec


def _cost(request: EditRequest, spec: ModelSpec, prepared: PreparedInputs) -> Decimal:
    width, height = prepared.sent_size
    job = EstimateInput(operation=request.operation, width=width, height=height)
    return estimate(job, spec).total_usd


def _metadata(
    request: EditRequest, spec: ModelSpec, prepared: PreparedInputs, reply: ImageReply
) -> dict[str, Any]:
    metadata: dict[str, Any] = dict(prepared.metadata)
    dropped = {**dict(prepared.metadata.get("dropped", {})), **dropped_fields(request, spec)}
    if dropped:
        metadata["dropped"] = dropped
    route = parse_route(spec)
    metadata["huggingface"] = {
        "inference_provider": route.inference_provider,
        "model_id": route.model_id,
        "content_type": reply.content_type,
    }
    metadata["target_size_sent"] = list(prepared.sent_size)
    if reply.request_id:
        metadata["request_id"] = reply.request_id
    return metadata
