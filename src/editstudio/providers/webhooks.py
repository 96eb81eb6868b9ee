"""Checking that a webhook really came from WaveSpeed, per its documented signing scheme.

WaveSpeed sends ``webhook-id``, ``webhook-timestamp`` (Unix seconds) and
``webhook-signature: v3,<hex>``, where ``<hex>`` is HMAC-SHA256 over
``"{webhook-id}.{webhook-timestamp}.{raw_body}"`` keyed with the account's webhook secret minus its
``whsec_`` prefix (used as text, not base64-decoded). Deliveries older than 300 s are refused, which
stops replays. The body must be the raw bytes as received: re-serialised JSON will not match.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from editstudio.core.errors import AuthError

SIGNATURE_VERSION = "v3"
SECRET_PREFIX = "whsec_"
MAX_AGE_S = 300
HEADER_ID = "webhook-id"
HEADER_TIMESTAMP = "webhook-timestamp"
HEADER_SIGNATURE = "webhook-signature"


def sign_webhook(webhook_id: str, timestamp: int, raw_body: bytes, secret: str) -> str:
    """The ``webhook-signature`` header value for this delivery."""
    key = secret.removeprefix(SECRET_PREFIX).encode()
    content = f"{webhook_id}.{timestamp}.".encode() + raw_body
    return f"{SIGNATURE_VERSION},{hmac.new(key, content, hashlib.sha256).hexdigest()}"


def verify_webhook(
    headers: Mapping[str, str], raw_body: bytes, secret: str, now: float, *, max_age_s: int = MAX_AGE_S
) -> None:
    """Return when the delivery is authentic and fresh; raise ``AuthError`` saying why not."""
    lowered = {k.lower(): v for k, v in headers.items()}
    missing = [h for h in (HEADER_ID, HEADER_TIMESTAMP, HEADER_SIGNATURE) if not lowered.get(h)]
    if missing:
        raise AuthError(f"webhook is missing header(s): {', '.join(missing)}", missing=missing)
    try:
        timestamp = int(lowered[HEADER_TIMESTAMP])
    except ValueError:
        raise AuthError("webhook-timestamp is not a Unix time in seconds") from None
    age = now - timestamp
    if abs(age) > max_age_s:
        raise AuthError(
            f"webhook timestamp is {age:.0f}s from now; deliveries must be within {max_age_s}s",
            age_s=round(age),
        )
    expected = sign_webhook(lowered[HEADER_ID], timestamp, raw_body, secret)
    # Several signatures may be sent space-separated while a secret is rotated.
    offered = lowered[HEADER_SIGNATURE].split()
    if not any(hmac.compare_digest(expected, candidate) for candidate in offered):
        raise AuthError("webhook signature does not match: wrong secret or altered body")
