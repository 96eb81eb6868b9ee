"""``StabilityProvider``: the I/O around the pure Stability mapping in ``providers/stability.py``.

Six endpoints answer the edit in the reply to their POST, so ``edit`` is one call: stage the inputs
(``providers/images.py``), send, finish the output. ``replace-background-and-relight`` answers a job
id instead, so its model gets ``ResumableStabilityProvider``: ``submit`` starts (and pays for) the
job, ``collect`` polls ``/v2beta/results/{id}``, and a restarted worker collects with the stored
handle instead of submitting again. ``stability_provider_for`` picks the class for a model.
A synchronous endpoint has no remote id to come back to, so its provider is not resumable: the job
runner calls ``edit`` for it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from pydantic import SecretStr

from editstudio.catalog.loader import Catalog
from editstudio.catalog.pricing import estimate
from editstudio.catalog.schema import ModelSpec
from editstudio.core.errors import ProviderOutputInvalid, UnsupportedOperation
from editstudio.core.provider import ProgressCallback
from editstudio.core.remote import RemoteHandle
from editstudio.core.request import EditRequest, EditResult
from editstudio.imaging import ImageLimits
from editstudio.providers.base import CatalogProvider, Reporter
from editstudio.providers.http import Deadline, Done, Failed, PollPolicy, ProviderHttp
from editstudio.providers.images import (
    CompositeInputs,
    PreparedInputs,
    finish_output,
    fit_bytes,
    prepare_inputs,
    restore_composite,
)
from editstudio.providers.stability import (
    DEFAULT_POLL_INTERVAL_S,
    FORM_OVERHEAD_BYTES,
    MAX_REQUEST_BYTES,
    PROVIDER,
    PROVIDER_NAME,
    MiB,
    Sides,
    StabilityCredentials,
    SubmitInputs,
    build_poll,
    build_submit,
    classify_error,
    classify_poll_error,
    dropped_fields,
    endpoint_for,
    failure_error,
    parse_image,
    parse_poll,
    parse_submit_async,
)


@dataclass(frozen=True)
class StabilityOptions:
    """How one deployment talks to Stability."""

    deadline_s: float = 600.0
    max_output_bytes: int = 64 * MiB


def stability_poll_policy(interval_s: float = DEFAULT_POLL_INTERVAL_S) -> PollPolicy:
    """A steady interval: Stability rate-limits polls more frequent than every 10 s."""
    return PollPolicy(interval_s=interval_s, max_interval_s=interval_s, factor=1.0)


@dataclass(frozen=True)
class StabilityJob:
    """What ``collect`` needs from ``submit``, kept in ``RemoteHandle.state``: JSON, no key, no image."""

    model: str
    cost_usd: Decimal
    submitted_at: float  # epoch seconds, so a collect after a restart still reports the whole time
    composite: bool  # a mask is composited into the original after collect
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def to_state(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "cost_usd": str(self.cost_usd),
            "submitted_at": self.submitted_at,
            "composite": self.composite,
            "metadata": dict(self.metadata),
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any], remote_id: str) -> StabilityJob:
        try:
            return cls(
                model=str(state["model"]),
                cost_usd=Decimal(str(state["cost_usd"])),
                submitted_at=float(state["submitted_at"]),
                composite=bool(state["composite"]),
                metadata=dict(state.get("metadata", {})),
            )
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            raise ProviderOutputInvalid(
                f"the stored handle of Stability job {remote_id} is unreadable ({type(exc).__name__})",
                provider=PROVIDER,
                request_id=remote_id,
            ) from exc


class StabilityProvider(CatalogProvider[StabilityCredentials, StabilityOptions]):
    """``EditProvider`` for every Stability model of the catalogue (``edit`` only).

    Use ``async with provider:`` to share one connection pool across many edits; without it every
    call opens and closes its own.
    """

    name = PROVIDER
    model_noun = "a Stability model"

    def __init__(
        self,
        *,
        api_key: SecretStr,
        base_url: str,
        model: str | None = None,
        catalog: Catalog | None = None,
        limits: ImageLimits | None = None,
        http: ProviderHttp | None = None,
        options: StabilityOptions | None = None,
    ) -> None:
        super().__init__(
            creds=StabilityCredentials(api_key, base_url),
            model=model,
            catalog=catalog,
            limits=limits,
            http=http or ProviderHttp(PROVIDER, poll=stability_poll_policy()),
            options=options or StabilityOptions(),
        )

    async def edit(
        self,
        request: EditRequest,
        *,
        model: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> EditResult:
        spec = self._spec_for(request, model)
        report = Reporter(progress)
        deadline = Deadline(self.options.deadline_s)
        if endpoint_for(spec).asynchronous:
            handle = await self._submit(request, spec, deadline)
            report("queued", 0.2, f"Stability job {handle.remote_id}")
            return await self._collect(request, handle, spec, report, deadline)
        return await self._edit_now(request, spec, report, deadline)

    def _spec_for(self, request: EditRequest, model: str | None) -> ModelSpec:
        spec = super()._spec_for(request, model)
        endpoint_for(spec)  # an unknown route is refused before anything is prepared
        return spec

    async def _prepare(
        self, request: EditRequest, spec: ModelSpec
    ) -> tuple[PreparedInputs, SubmitInputs, Decimal, dict[str, Any]]:
        """Fit the inputs, build nothing yet: what the call, the price and the metadata need."""
        prepared = await asyncio.to_thread(
            prepare_inputs, request, spec, self.limits, separate_background=True
        )
        sides = None
        if prepared.canvas is not None and prepared.placement is not None:
            sides = Sides.of(prepared.canvas, prepared.sent_size, prepared.placement)
        others = sum(len(b.data) for b in (prepared.mask, prepared.background) if b is not None)
        budget = MAX_REQUEST_BYTES - FORM_OVERHEAD_BYTES - others
        image, reencoded = await asyncio.to_thread(fit_bytes, prepared.image, budget, self.limits)
        inputs = SubmitInputs(image, prepared.mask, prepared.background, sides)
        cost = estimate(request, spec, input_size=prepared.output_size).total_usd
        metadata = {**_submit_metadata(request, spec, prepared, sides), **reencoded}
        return prepared, inputs, cost, metadata

    async def _edit_now(
        self, request: EditRequest, spec: ModelSpec, report: Reporter, deadline: Deadline
    ) -> EditResult:
        started = time.monotonic()
        prepared, inputs, cost, metadata = await self._prepare(request, spec)
        call = build_submit(request, spec, self._creds, inputs)  # refuses bad fields before sending
        # The reply body is the image itself: stream it and stop at the output cap.
        call = replace(call, max_reply_bytes=self.options.max_output_bytes)
        async with self.http.session() as client:
            report("submitting", 0.1)
            reply = await self.http.send(
                client, call, classify=classify_error, deadline=deadline, idempotent=False, what="edit"
            )
            outcome = parse_image(reply)
            if isinstance(outcome, Failed):
                raise failure_error(outcome)
            report("downloading", 0.9)
            output = await self.http.download(
                client, outcome.outputs[0], max_bytes=self.options.max_output_bytes, deadline=deadline
            )
        elapsed_ms = (time.monotonic() - started) * 1000.0
        return await self._finish(
            request, spec, output, outcome, cost, metadata, prepared.composite, elapsed_ms, report
        )

    async def _submit(self, request: EditRequest, spec: ModelSpec, deadline: Deadline) -> RemoteHandle:
        submitted_at = time.time()
        prepared, inputs, cost, metadata = await self._prepare(request, spec)
        call = build_submit(request, spec, self._creds, inputs)
        async with self.http.session() as client:
            reply = await self.http.send(
                client, call, classify=classify_error, deadline=deadline, idempotent=False, what="submit"
            )
        pending = parse_submit_async(reply)
        job = StabilityJob(
            model=spec.id,
            cost_usd=cost,
            submitted_at=submitted_at,
            composite=prepared.composite_mask is not None,
            metadata=metadata,
        )
        return RemoteHandle(PROVIDER, pending.remote_id, job.to_state())

    async def _collect(
        self,
        request: EditRequest,
        handle: RemoteHandle,
        spec: ModelSpec,
        report: Reporter,
        deadline: Deadline,
    ) -> EditResult:
        if handle.provider != PROVIDER:
            raise ProviderOutputInvalid(
                f"a {handle.provider!r} handle cannot be collected from Stability", provider=PROVIDER
            )
        job = StabilityJob.from_state(handle.state, handle.remote_id)
        if job.model != spec.id:
            raise ProviderOutputInvalid(
                f"Stability job {handle.remote_id} was submitted to {job.model}, not {spec.id}",
                provider=PROVIDER,
                request_id=handle.remote_id,
            )
        remote_id = handle.remote_id
        async with self.http.session() as client:
            outcome = await self.http.poll(
                client,
                lambda: build_poll(remote_id, self._creds),
                lambda reply: parse_poll(reply, remote_id),
                classify=classify_poll_error,
                deadline=deadline,
                on_pending=report.polling,
                remote_id=remote_id,
            )
            if isinstance(outcome, Failed):
                raise failure_error(outcome)
            report("downloading", 0.9)
            output = await self.http.download(
                client, outcome.outputs[0], max_bytes=self.options.max_output_bytes, deadline=deadline
            )
        into = None
        if job.composite:
            into = await asyncio.to_thread(restore_composite, request, self.limits, provider=PROVIDER)
        elapsed_ms = max(time.time() - job.submitted_at, 0.0) * 1000.0
        metadata = {"remote_id": remote_id, **job.metadata}
        return await self._finish(
            request, spec, output, outcome, job.cost_usd, metadata, into, elapsed_ms, report
        )

    async def _finish(
        self,
        request: EditRequest,
        spec: ModelSpec,
        output: bytes,
        outcome: Done,
        cost: Decimal,
        metadata: Mapping[str, Any],
        composite_into: CompositeInputs | None,
        elapsed_ms: float,
        report: Reporter,
    ) -> EditResult:
        finished = await asyncio.to_thread(
            finish_output,
            output,
            request,
            self.limits,
            provider=PROVIDER,
            provider_name=PROVIDER_NAME,
            composite_into=composite_into,
        )
        report("done", 1.0)
        takes_seed = endpoint_for(spec).seed
        flags = {k: v for k, v in outcome.flags.items() if takes_seed or k != "seed"}
        seed = flags.get("seed", request.seed if takes_seed else None)
        merged = {**metadata, **finished.metadata, **flags}
        return EditResult(
            image=finished.data,
            format=finished.format,
            width=finished.width,
            height=finished.height,
            provider=PROVIDER,
            model=spec.id,
            seed=seed if isinstance(seed, int) else None,
            cost_usd=cost,
            timings_ms={"total": elapsed_ms},
            metadata=merged,
        )


class ResumableStabilityProvider(StabilityProvider):
    """``ResumableProvider`` for Stability's asynchronous endpoint (replace-background-and-relight).

    ``submit`` starts the paid job and returns a ``RemoteHandle`` (the result id plus a small JSON
    state); ``collect``, on this instance or a new one after a restart, polls it, downloads and
    finishes the output. ``edit`` is the two in a row under one deadline.
    """

    async def submit(self, request: EditRequest, *, model: str) -> RemoteHandle:
        spec = self._async_spec(request, model)
        return await self._submit(request, spec, Deadline(self.options.deadline_s))

    async def collect(
        self,
        request: EditRequest,
        handle: RemoteHandle,
        *,
        model: str,
        progress: ProgressCallback | None = None,
    ) -> EditResult:
        spec = self._async_spec(request, model)
        return await self._collect(
            request, handle, spec, Reporter(progress), Deadline(self.options.deadline_s)
        )

    def _async_spec(self, request: EditRequest, model: str) -> ModelSpec:
        spec = self._spec_for(request, model)
        if not endpoint_for(spec).asynchronous:
            raise UnsupportedOperation(
                f"{spec.id} answers in the reply to its request: there is no job to submit and "
                "collect; call edit()",
                model=spec.id,
            )
        return spec


def stability_provider_for(spec: ModelSpec, **kwargs: Any) -> StabilityProvider:
    """The provider for ``spec``: resumable for an asynchronous endpoint, plain otherwise."""
    cls = ResumableStabilityProvider if endpoint_for(spec).asynchronous else StabilityProvider
    return cls(model=spec.id, **kwargs)


def _submit_metadata(
    request: EditRequest, spec: ModelSpec, prepared: PreparedInputs, sides: Sides | None
) -> dict[str, Any]:
    """What the result reports about the inputs and the fields sent (JSON-safe: it is stored)."""
    metadata: dict[str, Any] = dict(prepared.metadata)
    dropped = {**dict(prepared.metadata.get("dropped", {})), **dropped_fields(request, spec)}
    if dropped:
        metadata["dropped"] = dropped
    if sides is not None:
        metadata["expand_sent"] = {k: int(v) for k, v in sides.as_fields().items()}
    if prepared.background is not None:
        metadata["background_sent"] = [prepared.background.width, prepared.background.height]
    return metadata
