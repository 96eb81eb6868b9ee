"""``POST /webhooks/wavespeed``: WaveSpeed's signed notice that a prediction ended.

No user token: WaveSpeed calls it, and the HMAC signature over the raw body
(``providers.webhooks.verify_webhook``) is the authentication. A genuine delivery only wakes the poll
loop watching that prediction (``providers.wakeups``); its outputs and status are never trusted,
since the poller reads the result from WaveSpeed's API as usual. So a forged, replayed or lost
delivery can neither finish nor corrupt a job: at worst a job waits for its next regular poll.
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from editstudio.api.deps import ContextDep
from editstudio.api.errors import error_responses
from editstudio.api.schemas import WebhookReceived
from editstudio.core.errors import AuthError, InvalidRequest
from editstudio.providers.wakeups import PROCESS_WAKEUPS, Wakeups
from editstudio.providers.webhooks import verify_webhook

WAVESPEED = "wavespeed"

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


def get_wakeups() -> Wakeups:
    return PROCESS_WAKEUPS


WakeupsDep = Annotated[Wakeups, Depends(get_wakeups)]


@router.post(
    "/wavespeed",
    response_model=WebhookReceived,
    summary="WaveSpeed's signed prediction webhook",
    description=(
        "Called by WaveSpeed when a prediction submitted with this server's webhook URL ends. "
        "Signed with `webhook-id`, `webhook-timestamp` and `webhook-signature` headers (HMAC-SHA256 "
        "with `WAVESPEED_WEBHOOK_SECRET`; deliveries older than 300 s are refused). It only makes the "
        "job poll WaveSpeed sooner."
    ),
    responses=error_responses(400, 401, 413),
)
async def wavespeed_webhook(request: Request, context: ContextDep, wakeups: WakeupsDep) -> WebhookReceived:
    secret = context.settings.wavespeed_webhook_secret
    if secret is None:
        raise AuthError("WaveSpeed webhooks are not enabled here: WAVESPEED_WEBHOOK_SECRET is not set")
    raw_body = await request.body()  # the bytes as signed: parsed JSON would not verify
    verify_webhook(request.headers, raw_body, secret.get_secret_value(), time.time())
    prediction_id = _prediction_id(raw_body)
    return WebhookReceived(prediction_id=prediction_id, woken=wakeups.wake(WAVESPEED, prediction_id))


def _prediction_id(raw_body: bytes) -> str:
    """The prediction's id, from the payload itself or a ``{"data": ...}`` envelope."""
    try:
        payload: Any = json.loads(raw_body)
    except ValueError:
        raise InvalidRequest("the webhook body is not JSON") from None
    data = payload.get("data", payload) if isinstance(payload, dict) else None
    prediction_id = data.get("id") if isinstance(data, dict) else None
    if not isinstance(prediction_id, str) or not prediction_id:
        raise InvalidRequest("the webhook body names no prediction id")
    return prediction_id
