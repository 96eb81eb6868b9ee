"""Pure pieces every cloud adapter's mapping module (``<slug>.py``) shares.

Like those modules, nothing here touches the network, files or the environment: it only builds
values and reads ``HttpReply`` values, so the pure/I/O split of each adapter stays as it was.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr

from editstudio.providers.http import HttpReply

REDACTED = "[redacted]"


@dataclass(frozen=True)
class BearerCredentials:
    """A base URL and an API key (or token) sent as ``Authorization: Bearer <key>``.

    Each adapter names its own subclass (``WaveSpeedCredentials``, ...) so mypy keeps one provider's
    credentials out of another's ``build_*`` functions. The key stays out of ``repr``.
    """

    api_key: SecretStr = field(repr=False)
    base_url: str

    def api_url(self, path: str) -> str:
        """``path`` below the base URL, with exactly one slash between them whatever either holds."""
        return f"{self.base_url.rstrip('/')}/{path.lstrip('/')}"

    @property
    def bearer(self) -> str:
        return f"Bearer {self.api_key.get_secret_value()}"

    @property
    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": self.bearer}


def json_object(reply: HttpReply, invalid: Callable[[str], Exception]) -> dict[str, Any]:
    """The reply's body as a JSON object; ``invalid(what)`` (the adapter's own error) otherwise."""
    try:
        payload = reply.json()
    except ValueError:
        raise invalid(f"the reply is not JSON: {reply.text(120)!r}") from None
    if not isinstance(payload, dict):
        raise invalid("the reply is not a JSON object")
    return payload


def redact_secrets(text: str, secrets: Iterable[SecretStr], pattern: re.Pattern[str]) -> str:
    """``text`` with every given secret, and anything ``pattern`` says looks like one, replaced:
    providers quote (parts of) the key they were given back in their error messages."""
    for secret in secrets:
        value = secret.get_secret_value()
        if value:
            text = text.replace(value, REDACTED)
    return pattern.sub(REDACTED, text)
