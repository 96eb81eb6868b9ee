"""The relight model as a ``ResumableProvider``: submit once, collect later from a new instance (as
after a restart), against the loopback stub."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from stability_kit import (
    StabilityStub,
    box_mask,
    gradient,
    gradient_png,
    pixels,
    png,
    stability_provider,
)
from stability_stub import API_KEY

from editstudio.catalog.loader import get_model
from editstudio.catalog.schema import CreditPrice
from editstudio.core import EditRequest
from editstudio.core.errors import ProviderOutputInvalid
from editstudio.core.remote import RemoteHandle, ResumableProvider
from editstudio.imaging import DEFAULT_FEATHER_PX

MODEL = "stability/replace-background-and-relight"
WIDTH, HEIGHT = 160, 120


@pytest.fixture
def stub(stability_stub: StabilityStub) -> StabilityStub:
    """conftest's Stability stub under the name these tests use (conftest's ``stub`` is WaveSpeed's)."""
    return stability_stub


def relight_request(**fields: object) -> EditRequest:
    return EditRequest(
        operation="replace_background", image=gradient_png(WIDTH, HEIGHT), prompt="a forest", **fields
    )  # type: ignore[arg-type]


def resumable(stub: StabilityStub) -> ResumableProvider:
    provider = stability_provider(stub, MODEL)
    assert isinstance(provider, ResumableProvider)
    return provider


async def submitted(stub: StabilityStub, request: EditRequest) -> RemoteHandle:
    """Submit with one instance, through JSON as the job store keeps it."""
    handle = await resumable(stub).submit(request, model=MODEL)
    return RemoteHandle.from_dict(json.loads(json.dumps(handle.to_dict())))


async def test_a_new_instance_collects_what_another_submitted(stub: StabilityStub) -> None:
    stub.state.pending_polls = 2
    request = relight_request(seed=5)
    handle = await submitted(stub, request)
    assert stub.state.polls == []  # submit does not poll

    result = await resumable(stub).collect(request, handle, model=MODEL)

    assert len(stub.state.posts) == 1  # collected, never resubmitted
    assert len(stub.state.polls) == 3
    assert {p.path for p in stub.state.polls} == {f"/v2beta/results/{handle.remote_id}"}
    assert result.metadata["remote_id"] == handle.remote_id and result.seed == 5
    expected = 255 - gradient(WIDTH, HEIGHT).astype(int)
    assert np.abs(pixels(result.image).astype(int) - expected).mean() < 3
    price = get_model(MODEL).price
    assert isinstance(price, CreditPrice)
    assert str(result.cost_usd) == handle.state["cost_usd"]
    assert result.cost_usd == price.credits * price.usd_per_credit


async def test_collecting_again_after_a_crash_polls_the_same_result(stub: StabilityStub) -> None:
    request = relight_request()
    handle = await submitted(stub, request)

    first = await resumable(stub).collect(request, handle, model=MODEL)
    second = await resumable(stub).collect(request, handle, model=MODEL)

    assert first.image == second.image and len(stub.state.posts) == 1


async def test_the_handle_state_holds_no_key_and_no_image(stub: StabilityStub) -> None:
    handle = await submitted(stub, relight_request(background_image=gradient_png(200, 200)))

    text = json.dumps(handle.to_dict())

    assert API_KEY not in text and "Bearer" not in text
    assert len(text) < 2000 and handle.state["model"] == MODEL


async def test_a_mask_is_composited_by_the_collecting_instance(stub: StabilityStub) -> None:
    original = gradient(WIDTH, HEIGHT)
    mask = box_mask(WIDTH, HEIGHT, (40, 30, 120, 90))
    request = EditRequest(operation="replace_background", image=png(original), mask=png(mask), prompt="x")
    handle = await submitted(stub, request)
    assert handle.state["composite"] is True

    result = await resumable(stub).collect(request, handle, model=MODEL)

    out = pixels(result.image)
    band = cv2.dilate(mask, np.ones((2 * DEFAULT_FEATHER_PX + 1,) * 2, np.uint8)) > 0
    assert np.array_equal(out[~band], original[~band])
    assert np.abs(out[mask > 0].astype(int) - (255 - original[mask > 0].astype(int))).mean() < 3


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda h: RemoteHandle("wavespeed", h.remote_id, h.state), "cannot be collected from Stability"),
        (lambda h: RemoteHandle("stability", h.remote_id, {**h.state, "model": "stability/erase"}), "not"),
        (lambda h: RemoteHandle("stability", h.remote_id, {"model": MODEL}), "unreadable"),
    ],
    ids=["other-provider", "other-model", "unreadable-state"],
)
async def test_a_foreign_or_broken_handle_is_refused_before_polling(
    stub: StabilityStub, change: object, match: str
) -> None:
    handle = await submitted(stub, relight_request())

    with pytest.raises(ProviderOutputInvalid, match=match):
        await resumable(stub).collect(relight_request(), change(handle), model=MODEL)  # type: ignore[operator]

    assert stub.state.polls == []
