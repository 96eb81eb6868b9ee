"""``WaveSpeedProvider``: the I/O around the pure WaveSpeed mapping in ``providers/wavespeed.py``.

``submit`` stages the inputs (``providers/images.py``), uploads the large ones and starts the paid job;
``collect`` polls, downloads and finishes the output; ``edit`` is the two under one deadline.
``SubmittedJob`` is the JSON state a ``RemoteHandle`` carries from one to the other, so a new
instance can collect after a restart. ``ProviderHttp`` does the sending, retries and polling.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
from pydantic import SecretStr

from editstudio.catalog.loader import Catalog
from editstudio.catalog.pricing import estimate
from editstudio.catalog.schema import ExpandStyle, ModelSpec, SizeStyle
from editstudio.core.errors import ProviderOutputInvalid
from editstudio.core.provider import ProgressCallback
from editstudio.core.remote import RemoteHandle
from editstudio.core.request import EditRequest, EditResult
from editstudio.imaging import ImageLimits
from editstudio.providers.base import CatalogProvider, Reporter
from editstudio.providers.http import Deadline, Done, Failed, Outcome, ProviderHttp
from editstudio.providers.images import (
    Blob,
    PreparedInputs,
    finish_output,
    prepare_inputs,
    restore_composite,
)
from editstudio.providers.wavespeed import (
    PROVIDER,
    PROVIDER_NAME,
    UPLOAD_THRESHOLD_BYTES,
    MiB,
    SubmitInputs,
    SubmitOptions,
    WaveSpeedCredentials,
    build_poll,
    build_submit,
    build_upload,
    classify_error,
    dropped_fields,
    failure_error,
    invalid_reply,
    parse_poll,
    parse_submit,
    parse_upload,
    size_fields,
)


@dataclass(frozen=True)
class WaveSpeedOptions:
    """How one deployment talks to WaveSpeed."""

    deadline_s: float = 600.0
    sync_mode: bool = False
    base64_output: bool = False
    webhook_url: str | None = None
    upload_threshold_bytes: int = UPLOAD_THRESHOLD_BYTES
    max_output_bytes: int = 64 * MiB


@dataclass(frozen=True)
class SubmittedJob:
    """What ``collect`` needs from ``submit``, kept in ``RemoteHandle.state``.

    JSON-safe and small: no key, no image bytes. The original image and mask that compositing needs
    come from the request again, which the job store keeps anyway. ``done`` is set when a sync-mode
    submit already returned the outputs, so nothing is polled.
    """

    model: str
    cost_usd: Decimal
    submitted_at: float  # epoch seconds, so a collect after a restart still reports the whole time
    composite: bool  # the mask goes into the original here (the model has no mask field)
    metadata: Mapping[str, Any] = field(default_factory=dict)
    done: Done | None = None

    def to_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "model": self.model,
            "cost_usd": str(self.cost_usd),
            "submitted_at": self.submitted_at,
            "composite": self.composite,
            "metadata": dict(self.metadata),
        }
        if self.done is not None:
            state["done"] = {
                "outputs": list(self.done.outputs),
                "timings_ms": dict(self.done.timings_ms),
                "flags": dict(self.done.flags),
            }
        return state

    @classmethod
    def from_state(cls, state: Mapping[str, Any], remote_id: str) -> SubmittedJob:
        """Read a stored state back; ``ProviderOutputInvalid`` when it is not one of ours."""
        try:
            done_state = state.get("done")
            done = None
            if done_state is not None:
                outputs = tuple(str(o) for o in done_state["outputs"])
                if not outputs:
                    raise ValueError("no outputs")
                done = Done(
                    outputs,
                    remote_id,
                    timings_ms={str(k): float(v) for k, v in dict(done_state.get("timings_ms", {})).items()},
                    flags=dict(done_state.get("flags", {})),
                )
            return cls(
                model=str(state["model"]),
                cost_usd=Decimal(str(state["cost_usd"])),
                submitted_at=float(state["submitted_at"]),
                composite=bool(state["composite"]),
                metadata=dict(state.get("metadata", {})),
                done=done,
            )
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            raise ProviderOutputInvalid(
                f"the stored handle of WaveSpeed job {remote_id} is unreadable ({type(exc).__name__})",
                provider=PROVIDER,
                request_id=remote_id,
            ) from exc


class WaveSpeedProvider(CatalogProvider[WaveSpeedCredentials, WaveSpeedOptions]):
    """``ResumableProvider`` for every WaveSpeed model of the catalogue.

    ``submit`` stages the inputs and starts the paid job, returning a ``RemoteHandle`` whose state
    says what ``collect`` needs; ``collect`` (on this instance or a new one after a restart) polls,
    downloads and post-processes. ``edit`` is the two in a row, under one deadline.

    Use ``async with provider:`` to share one connection pool across many edits; without it every
    call opens and closes its own.
    """

    name = PROVIDER
    model_noun = "a WaveSpeed model"

    def __init__(
        self,
        *,
        api_key: SecretStr,
        base_url: str,
        model: str | None = None,
        catalog: Catalog | None = None,
        limits: ImageLimits | None = None,
        http: ProviderHttp | None = None,
        options: WaveSpeedOptions | None = None,
    ) -> None:
        super().__init__(
            creds=WaveSpeedCredentials(api_key, base_url),
            model=model,
            catalog=catalog,
            limits=limits,
            http=http or ProviderHttp(PROVIDER),
            options=options or WaveSpeedOptions(),
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
        handle = await self._submit(request, spec, report, deadline)
        return await self._collect(request, handle, spec, report, deadline)

    async def submit(self, request: EditRequest, *, model: str) -> RemoteHandle:
        """Stage the inputs and start the job (the paid step); never retried once it may have started."""
        spec = self._spec_for(request, model)
        return await self._submit(request, spec, Reporter(None), Deadline(self.options.deadline_s))

    async def collect(
        self,
        request: EditRequest,
        handle: RemoteHandle,
        *,
        model: str,
        progress: ProgressCallback | None = None,
    ) -> EditResult:
        """Poll the submitted job (unless it already finished), download and post-process its output."""
        spec = self._spec_for(request, model)
        return await self._collect(
            request, handle, spec, Reporter(progress), Deadline(self.options.deadline_s)
        )

    async def _submit(
        self, request: EditRequest, spec: ModelSpec, report: Reporter, deadline: Deadline
    ) -> RemoteHandle:
        submitted_at = time.time()
        prepared = await asyncio.to_thread(prepare_inputs, request, spec, self.limits)
        cost = estimate(request, spec, input_size=prepared.output_size).total_usd
        async with self.http.session() as client:
            inputs, uploads = await self._stage_inputs(client, prepared, deadline)
            report("submitting", 0.1)
            outcome = await self._send_submit(client, request, spec, inputs, deadline)
        if isinstance(outcome, Failed):
            raise failure_error(outcome)
        if outcome.remote_id is None:
            raise invalid_reply("the prediction has no id")
        job = SubmittedJob(
            model=spec.id,
            cost_usd=cost,
            submitted_at=submitted_at,
            composite=prepared.composite_mask is not None,
            metadata=_submit_metadata(request, spec, prepared, uploads),
            done=outcome if isinstance(outcome, Done) else None,
        )
        report("queued", 0.2, f"WaveSpeed job {outcome.remote_id}")
        return RemoteHandle(PROVIDER, outcome.remote_id, job.to_state())

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
                f"a {handle.provider!r} handle cannot be collected from WaveSpeed", provider=PROVIDER
            )
        job = SubmittedJob.from_state(handle.state, handle.remote_id)
        if job.model != spec.id:
            raise ProviderOutputInvalid(
                f"WaveSpeed job {handle.remote_id} was submitted to {job.model}, not {spec.id}",
                provider=PROVIDER,
                request_id=handle.remote_id,
            )
        async with self.http.session() as client:
            done = job.done or await self._poll(client, handle.remote_id, deadline, report)
            report("downloading", 0.9)
            output = await self.http.download(
                client, done.outputs[0], max_bytes=self.options.max_output_bytes, deadline=deadline
            )
        into = None
        if job.composite:
            into = await asyncio.to_thread(restore_composite, request, self.limits, provider=PROVIDER)
        finished = await asyncio.to_thread(
            finish_output,
            output,
            request,
            self.limits,
            provider=PROVIDER,
            provider_name=PROVIDER_NAME,
            composite_into=into,
        )
        report("done", 1.0)
        metadata = {"remote_id": handle.remote_id, "outputs": len(done.outputs), **job.metadata}
        metadata.update(finished.metadata)
        metadata.update(done.flags)
        total_ms = max(time.time() - job.submitted_at, 0.0) * 1000.0
        return EditResult(
            image=finished.data,
            format=finished.format,
            width=finished.width,
            height=finished.height,
            provider=PROVIDER,
            model=spec.id,
            seed=request.seed if spec.params.seed else None,
            cost_usd=job.cost_usd,
            timings_ms={"total": total_ms, **done.timings_ms},
            metadata=metadata,
        )

    async def _stage_inputs(
        self, client: httpx.AsyncClient, prepared: PreparedInputs, deadline: Deadline
    ) -> tuple[SubmitInputs, int]:
        """Data URIs for small inputs; the media upload endpoint for large ones."""
        uploads = 0

        async def where(blob: Blob, name: str) -> str:
            nonlocal uploads
            if len(blob.data) <= self.options.upload_threshold_bytes:
                return blob.data_uri
            uploads += 1
            call = build_upload(blob, self._creds, name=name)
            reply = await self.http.send(
                client, call, classify=classify_error, deadline=deadline, what="upload"
            )
            return parse_upload(reply)

        image = await where(prepared.image, "image")
        references = tuple([await where(b, f"reference-{i}") for i, b in enumerate(prepared.references)])
        mask = await where(prepared.mask, "mask") if prepared.mask is not None else None
        inputs = SubmitInputs(
            image,
            references,
            mask,
            prepared.output_size,
            image_size=prepared.sent_size,
            placement=prepared.placement,
        )
        return inputs, uploads

    async def _send_submit(
        self,
        client: httpx.AsyncClient,
        request: EditRequest,
        spec: ModelSpec,
        inputs: SubmitInputs,
        deadline: Deadline,
    ) -> Outcome:
        options = SubmitOptions(self.options.sync_mode, self.options.base64_output, self.options.webhook_url)
        call = build_submit(request, spec, self._creds, inputs, options)
        reply = await self.http.send(
            client, call, classify=classify_error, deadline=deadline, idempotent=False, what="submit"
        )
        return parse_submit(reply)

    async def _poll(
        self, client: httpx.AsyncClient, remote_id: str, deadline: Deadline, report: Reporter
    ) -> Done:
        outcome = await self.http.poll(
            client,
            lambda: build_poll(remote_id, self._creds),
            parse_poll,
            classify=classify_error,
            deadline=deadline,
            on_pending=report.polling,
            remote_id=remote_id,  # a verified webhook for this prediction cuts the wait short
        )
        if isinstance(outcome, Failed):
            raise failure_error(outcome)
        return outcome


def _submit_metadata(
    request: EditRequest, spec: ModelSpec, prepared: PreparedInputs, uploads: int
) -> dict[str, Any]:
    """What the result will report about the inputs and the fields sent (JSON-safe: it is stored)."""
    metadata: dict[str, Any] = dict(prepared.metadata)
    dropped = {**dict(prepared.metadata.get("dropped", {})), **dropped_fields(request, spec)}
    if dropped:
        metadata["dropped"] = dropped
    if spec.params.size is not SizeStyle.NONE:
        metadata["size_sent"] = size_fields(spec, prepared.output_size, request)
    if spec.params.expand is ExpandStyle.CANVAS and prepared.placement is not None:
        metadata["canvas_sent"] = {"size": list(prepared.output_size), "at": list(prepared.placement)}
    if uploads:
        metadata["inputs_uploaded"] = uploads
    return metadata
