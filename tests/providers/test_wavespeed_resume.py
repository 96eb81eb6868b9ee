"""``WaveSpeedProvider`` as a ``ResumableProvider``: submit once, collect later (even from a new
instance, as after a restart), against the loopback stub."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from wavespeed_images import box_mask, decode, encode, gradient, gradient_png, inverted_resized
from wavespeed_kit import StubServer, make_provider
from wavespeed_stub import API_KEY

from editstudio.core import EditRequest
from editstudio.core.errors import ProviderJobFailed, ProviderOutputInvalid
from editstudio.core.remote import RemoteHandle, ResumableProvider
from editstudio.imaging import DEFAULT_FEATHER_PX
from editstudio.providers.wavespeed_provider import WaveSpeedOptions

MODEL = "wavespeed/qwen-image-edit"  # no mask field: a mask is composited after collect
WIDTH, HEIGHT = 300, 260  # above the model's 256 px minimum, so nothing is resized


def edit_request(**fields: object) -> EditRequest:
    return EditRequest(
        operation="general_edit", image=gradient_png(WIDTH, HEIGHT), prompt="invert it", **fields
    )  # type: ignore[arg-type]


async def submitted(stub: StubServer, request: EditRequest, **options: object) -> RemoteHandle:
    """Submit with one provider instance, then close it: a later collect must not depend on it."""
    async with make_provider(stub, options=WaveSpeedOptions(deadline_s=20.0, **options)) as first:  # type: ignore[arg-type]
        return await first.submit(request, model=MODEL)


def stored(handle: RemoteHandle) -> RemoteHandle:
    """The handle as the job store gives it back: through JSON."""
    return RemoteHandle.from_dict(json.loads(json.dumps(handle.to_dict())))


def test_the_provider_is_resumable(stub: StubServer) -> None:
    assert isinstance(make_provider(stub), ResumableProvider)


async def test_a_new_instance_collects_what_another_submitted(stub: StubServer) -> None:
    stub.state.max_concurrency = 0  # keep the job queued until the first instance is gone
    request = edit_request()
    handle = stored(await submitted(stub, request))
    assert stub.state.recorded("/predictions/") == []  # submit does not poll

    stub.state.max_concurrency = 2
    async with make_provider(stub) as second:
        result = await second.collect(request, handle, model=MODEL)

    assert len(stub.state.submits) == 1
    assert handle.remote_id in stub.state.jobs and result.metadata["remote_id"] == handle.remote_id
    expected = inverted_resized(gradient(WIDTH, HEIGHT), (WIDTH, HEIGHT))
    assert np.abs(decode(result.image).astype(int) - expected.astype(int)).mean() < 12
    assert result.model == MODEL and result.cost_usd > 0


async def test_the_handle_state_holds_no_key_and_no_image(stub: StubServer) -> None:
    handle = await submitted(stub, edit_request(mask=encode(box_mask(WIDTH, HEIGHT, (10, 10, 60, 60)))))

    text = json.dumps(handle.to_dict())

    assert API_KEY not in text and "Bearer" not in text
    assert "base64" not in text and len(text) < 2000
    assert handle.state["composite"] is True


async def test_a_mask_is_composited_by_the_collecting_instance(stub: StubServer) -> None:
    original = gradient(WIDTH, HEIGHT)
    mask = box_mask(WIDTH, HEIGHT, (100, 80, 200, 180))
    request = EditRequest(
        operation="general_edit", image=encode(original), mask=encode(mask), prompt="x", output_format="png"
    )
    handle = stored(await submitted(stub, request))

    async with make_provider(stub) as second:
        result = await second.collect(request, handle, model=MODEL)

    out = decode(result.image)
    kernel = np.ones((2 * DEFAULT_FEATHER_PX + 1, 2 * DEFAULT_FEATHER_PX + 1), np.uint8)
    band = cv2.dilate(mask, kernel) > 0
    assert np.array_equal(out[~band], original[~band])
    assert np.abs(out[mask > 0].astype(int) - (255 - original[mask > 0].astype(int))).mean() < 12


async def test_collect_after_the_job_failed_raises_job_failed(stub: StubServer) -> None:
    stub.state.fail_next_jobs.append("the GPU worker crashed")
    request = edit_request()
    handle = stored(await submitted(stub, request))

    async with make_provider(stub) as second:
        with pytest.raises(ProviderJobFailed, match="GPU worker crashed"):
            await second.collect(request, handle, model=MODEL)

    assert len(stub.state.submits) == 1


async def test_a_sync_mode_submit_carries_its_outputs_and_is_not_polled(stub: StubServer) -> None:
    request = edit_request()
    handle = stored(await submitted(stub, request, sync_mode=True))
    assert handle.state["done"]["outputs"]

    async with make_provider(stub) as second:
        result = await second.collect(request, handle, model=MODEL)

    assert stub.state.recorded("/predictions/") == []
    assert len(stub.state.submits) == 1 and decode(result.image).shape == (HEIGHT, WIDTH, 3)


async def test_edit_is_one_submit_and_one_collect(stub: StubServer) -> None:
    async with make_provider(stub) as provider:
        result = await provider.edit(edit_request(), model=MODEL)

    assert len(stub.state.submits) == 1
    assert result.metadata["remote_id"] in stub.state.jobs


async def test_a_handle_for_another_model_is_refused_before_any_request(stub: StubServer) -> None:
    request = edit_request()
    handle = await submitted(stub, request)
    seen = len(stub.state.requests)

    async with make_provider(stub) as second:
        with pytest.raises(ProviderOutputInvalid, match="submitted to"):
            await second.collect(request, handle, model="wavespeed/step1x-edit")

    assert len(stub.state.requests) == seen


@pytest.mark.parametrize(
    "state",
    [{}, {"model": MODEL, "cost_usd": "x", "submitted_at": 0, "composite": False}],
    ids=["empty", "bad-cost"],
)
async def test_an_unreadable_handle_state_is_provider_output_invalid(
    stub: StubServer, state: dict[str, object]
) -> None:
    async with make_provider(stub) as provider:
        with pytest.raises(ProviderOutputInvalid, match="unreadable"):
            await provider.collect(edit_request(), RemoteHandle("wavespeed", "r-1", state), model=MODEL)
