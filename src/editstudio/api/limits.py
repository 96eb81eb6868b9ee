"""A cap on request bodies, checked before a byte is buffered where the length is declared."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from editstudio.core.errors import ImageTooLarge

MiB = 1024 * 1024
# Base64 inflates by 4/3; an edit carries an image, a mask and maybe a background or references.
BODY_IMAGES_ALLOWANCE = 3
BASE64_NUM, BASE64_DEN = 4, 3


def max_body_bytes(max_image_bytes: int) -> int:
    """The largest request body accepted for images of at most ``max_image_bytes`` each."""
    return BODY_IMAGES_ALLOWANCE * max_image_bytes * BASE64_NUM // BASE64_DEN + MiB


class BodyLimitMiddleware:
    """Answer 413 at once when ``Content-Length`` is over the limit; count a chunked body and
    raise ``ImageTooLarge`` (which the error handler answers 413) when it runs over."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await _refuse(send, self.max_bytes)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _too_large(self.max_bytes)
            return message

        await self.app(scope, counting_receive, send)


def _too_large(limit: int) -> ImageTooLarge:
    return ImageTooLarge(f"the request body is over the {limit:,}-byte limit", limit_bytes=limit)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send: Send, limit: int) -> None:
    body = json.dumps(_too_large(limit).to_dict()).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
