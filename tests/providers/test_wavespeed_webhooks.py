"""Webhook deliveries from the stub, checked with ``verify_webhook`` and read with ``parse_webhook``."""

from __future__ import annotations

import asyncio
import time

import pytest
from wavespeed_images import gradient_png
from wavespeed_kit import StubServer, make_provider
from wavespeed_stub import WEBHOOK_SECRET

from editstudio.core import AuthError, EditRequest
from editstudio.providers.http import Done
from editstudio.providers.wavespeed import parse_webhook
from editstudio.providers.wavespeed_provider import WaveSpeedOptions
from editstudio.providers.webhooks import MAX_AGE_S, verify_webhook


@pytest.fixture
async def delivery(stub: StubServer) -> tuple[dict[str, str], bytes]:
    """Run one edit with a webhook pointed at the stub's sink and return what was delivered."""
    options = WaveSpeedOptions(deadline_s=20.0, webhook_url=f"{stub.url}/_sink/webhook")
    request = EditRequest(operation="general_edit", image=gradient_png(300, 200), prompt="x")
    async with make_provider(stub, options=options) as provider:
        await provider.edit(request, model="wavespeed/qwen-image-edit")
    assert await asyncio.to_thread(stub.state.webhook_arrived.wait, 10)
    assert stub.state.submits[0].query == {"webhook": f"{stub.url}/_sink/webhook"}
    return stub.state.webhooks[0]


def test_a_genuine_delivery_verifies_and_parses(delivery: tuple[dict[str, str], bytes]) -> None:
    headers, body = delivery

    verify_webhook(headers, body, WEBHOOK_SECRET, time.time())

    outcome = parse_webhook(body)
    assert isinstance(outcome, Done) and outcome.outputs[0].endswith(".jpeg")


def test_a_tampered_body_is_refused(delivery: tuple[dict[str, str], bytes]) -> None:
    headers, body = delivery
    with pytest.raises(AuthError, match="does not match"):
        verify_webhook(headers, body.replace(b"completed", b"failed"), WEBHOOK_SECRET, time.time())


def test_the_wrong_secret_is_refused(delivery: tuple[dict[str, str], bytes]) -> None:
    headers, body = delivery
    with pytest.raises(AuthError, match="does not match"):
        verify_webhook(headers, body, "whsec_someone-else", time.time())


def test_a_stale_delivery_is_refused(delivery: tuple[dict[str, str], bytes]) -> None:
    headers, body = delivery
    sent_at = int(headers["webhook-timestamp"])
    verify_webhook(headers, body, WEBHOOK_SECRET, sent_at + MAX_AGE_S)
    with pytest.raises(AuthError, match="within 300s"):
        verify_webhook(headers, body, WEBHOOK_SECRET, sent_at + MAX_AGE_S + 1)


def test_missing_headers_are_refused(delivery: tuple[dict[str, str], bytes]) -> None:
    headers, body = delivery
    partial = {k: v for k, v in headers.items() if k != "webhook-signature"}
    with pytest.raises(AuthError, match="webhook-signature"):
        verify_webhook(partial, body, WEBHOOK_SECRET, time.time())
