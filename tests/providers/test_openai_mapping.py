"""The pure OpenAI mapping (``providers/openai.py``) on values, offline: sizes, settings, the
multipart call, reply parsing, error classification, redaction, and the mask conversion."""

from __future__ import annotations

import json
from email.parser import BytesParser
from email.policy import HTTP

import httpx
import numpy as np
import pytest
from openai_kit import MODEL, box_mask, encode, gradient, open_png
from pydantic import SecretStr

from editstudio.catalog import get_model
from editstudio.core import (
    ContentRejected,
    EditRequest,
    ImageTooLarge,
    MissingField,
    ProviderError,
    ProviderKeyRejected,
    ProviderOutputInvalid,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
    UnsupportedParameter,
)
from editstudio.imaging import ImageLimits, load_mask
from editstudio.providers.http import Deadline, HttpCall, HttpReply, ProviderHttp
from editstudio.providers.images import Blob, transparent_where_edit
from editstudio.providers.openai import (
    EditInputs,
    OpenAICredentials,
    build_edit,
    choose_size,
    classify_error,
    compose_prompt,
    edit_settings,
    parse_edit,
    redact,
)

SPEC = get_model(MODEL)
KEY = "sk-test-mapping-key-000111222333"
CREDS = OpenAICredentials(SecretStr(KEY), "https://api.example.test/")
PNG = Blob(encode(gradient(64, 64)), "image/png", 64, 64)


def req(**fields: object) -> EditRequest:
    base: dict[str, object] = {"operation": "general_edit", "image": PNG.data, "prompt": "x"}
    base.update(fields)
    return EditRequest(**base)  # type: ignore[arg-type]


def reply(status: int, body: object, headers: dict[str, str] | None = None) -> HttpReply:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return HttpReply(status, headers or {}, raw)


def openai_error(
    message: str, *, code: str | None = None, type_: str = "invalid_request_error"
) -> dict[str, object]:
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


@pytest.mark.parametrize(
    ("size", "chosen"),
    [
        ((1000, 1000), "1024x1024"),
        ((124, 100), "1024x1024"),  # under the 1.25 ratio pricing calls square
        ((125, 100), "1536x1024"),
        ((3000, 1000), "1536x1024"),
        ((100, 125), "1024x1536"),
        ((64, 640), "1024x1536"),
    ],
)
def test_the_size_is_the_one_closest_to_the_input_shape(size: tuple[int, int], chosen: str) -> None:
    assert choose_size(*size) == chosen


def test_settings_default_to_the_catalogue_quality_and_the_chosen_size() -> None:
    settings = edit_settings(req(), SPEC, (300, 200))
    assert (settings.size, settings.quality) == ("1536x1024", "high")
    assert settings.output_format is None and settings.output_compression is None
    assert settings.background is None and settings.input_fidelity is None


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"quality": "ultra"}, "quality"),
        ({"quality": 3}, "quality"),
        ({"size": "2048x2048"}, "size"),
        ({"background": "checkered"}, "background"),
        ({"input_fidelity": "medium"}, "input_fidelity"),
        ({"num_images": 2}, "num_images"),
    ],
)
def test_values_openai_would_refuse_are_refused_before_sending(extra: dict[str, object], field: str) -> None:
    with pytest.raises(UnsupportedParameter) as caught:
        edit_settings(req(extra=extra), SPEC, (64, 64))
    assert caught.value.details["field"] == field


def test_a_transparent_background_needs_an_output_format_with_alpha() -> None:
    with pytest.raises(UnsupportedParameter, match="png or webp"):
        edit_settings(req(extra={"background": "transparent"}, output_format="jpeg"), SPEC, (64, 64))
    ok = edit_settings(req(extra={"background": "transparent"}, output_format="webp"), SPEC, (64, 64))
    assert ok.background == "transparent"


def test_output_compression_is_sent_only_when_set_and_only_for_lossy_formats() -> None:
    assert edit_settings(req(output_format="jpeg"), SPEC, (64, 64)).output_compression is None
    assert (
        edit_settings(req(output_format="jpeg", output_quality=70), SPEC, (64, 64)).output_compression == 70
    )
    assert (
        edit_settings(req(output_format="png", output_quality=70), SPEC, (64, 64)).output_compression is None
    )


def test_extra_size_auto_is_chosen_here_so_the_price_is_known() -> None:
    settings = edit_settings(req(extra={"size": "AUTO"}), SPEC, (100, 300))
    assert settings.size == "1024x1536" and settings.size_reason.startswith("auto")


def test_the_call_is_a_multipart_post_with_the_key_only_in_the_header() -> None:
    settings = edit_settings(req(output_format="webp", output_quality=55), SPEC, (64, 64))
    mask = Blob(b"\x89PNG-mask", "image/png", 64, 64)

    call = build_edit(req(), SPEC, CREDS, EditInputs(PNG, (), mask), settings)

    assert (call.method, call.url) == ("POST", "https://api.example.test/v1/images/edits")
    assert call.headers == {"Authorization": f"Bearer {KEY}"}
    assert call.json is None and call.files is None
    assert dict(call.form or {}) == {
        "model": "gpt-image-1",
        "prompt": "x",
        "n": "1",
        "size": "1024x1024",
        "quality": "high",
        "output_format": "webp",
        "output_compression": "55",
    }
    assert [(name, part[0], part[2]) for name, part in call.parts] == [
        ("image", "image-0.png", "image/png"),
        ("mask", "mask.png", "image/png"),
    ]
    assert KEY not in repr(call)


def test_several_images_go_as_image_array_in_order() -> None:
    jpeg = Blob(encode(gradient(64, 64), "JPEG"), "image/jpeg", 64, 64)
    call = build_edit(req(), SPEC, CREDS, EditInputs(PNG, (jpeg, PNG)), edit_settings(req(), SPEC, (64, 64)))
    assert [(name, part[0]) for name, part in call.parts] == [
        ("image[]", "image-0.png"),
        ("image[]", "image-1.jpg"),
        ("image[]", "image-2.png"),
    ]


def test_oversized_inputs_and_too_many_images_are_refused_before_sending() -> None:
    settings = edit_settings(req(), SPEC, (64, 64))
    huge = Blob(b"\0" * (50 * 1024 * 1024), "image/png", 64, 64)
    with pytest.raises(ImageTooLarge, match="less than 52,428,800"):
        build_edit(req(), SPEC, CREDS, EditInputs(huge), settings)
    big_mask = Blob(b"\0" * (4 * 1024 * 1024), "image/png", 64, 64)
    with pytest.raises(ImageTooLarge) as caught:
        build_edit(req(), SPEC, CREDS, EditInputs(PNG, (), big_mask), settings)
    assert caught.value.details["field"] == "mask"
    with pytest.raises(UnsupportedParameter, match="at most 16 images"):
        build_edit(req(), SPEC, CREDS, EditInputs(PNG, (PNG,) * 16), settings)


def test_a_prompt_over_openais_cap_is_refused() -> None:
    request = req()
    object.__setattr__(request, "prompt", "p" * 32_001)  # EditRequest's own cap is lower today
    with pytest.raises(UnsupportedParameter, match="32,000"):
        build_edit(request, SPEC, CREDS, EditInputs(PNG), edit_settings(req(), SPEC, (64, 64)))


def test_operations_without_a_prompt_get_one_openai_accepts() -> None:
    colour = EditRequest(operation="replace_background", image=PNG.data, background_color="teal")
    assert "teal" in compose_prompt(colour)
    picture = EditRequest(operation="replace_background", image=PNG.data, background_image=PNG.data)
    assert "second image" in compose_prompt(picture)
    styled = EditRequest(operation="style_transfer", image=PNG.data, reference_images=(PNG.data,))
    assert "style" in compose_prompt(styled)
    assert compose_prompt(req(prompt="keep mine")) == "keep mine"
    with pytest.raises(MissingField):
        compose_prompt(EditRequest(operation="upscale", image=PNG.data))


def test_a_reply_gives_the_image_usage_and_what_openai_made() -> None:
    body = {
        "created": 1713833628,
        "data": [{"b64_json": "aGVsbG8="}],
        "background": "opaque",
        "output_format": "png",
        "quality": "low",
        "size": "1024x1024",
        "usage": {
            "input_tokens": 50,
            "input_tokens_details": {"image_tokens": 40, "text_tokens": 10, "note": "x"},
            "output_tokens": 272,
            "total_tokens": 322,
            "bogus": "not a count",
        },
    }

    parsed = parse_edit(reply(200, body, {"x-request-id": "req_123"}))

    assert parsed.b64_json == "aGVsbG8="
    assert (parsed.size, parsed.quality, parsed.output_format, parsed.background) == (
        "1024x1024",
        "low",
        "png",
        "opaque",
    )
    assert parsed.created == 1713833628 and parsed.request_id == "req_123"
    assert parsed.usage == {
        "input_tokens": 50,
        "input_tokens_details": {"image_tokens": 40, "text_tokens": 10},
        "output_tokens": 272,
        "total_tokens": 322,
    }


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b"<html>bad gateway</html>", "not JSON"),
        ([1, 2], "not a JSON object"),
        ({"created": 1}, "data"),
        ({"data": []}, "data"),
        ({"data": ["x"]}, "data"),
        ({"data": [{"url": "https://x"}]}, "b64_json"),
        ({"data": [{"b64_json": "  "}]}, "b64_json"),
    ],
)
def test_a_reply_without_an_image_is_output_invalid(body: object, match: str) -> None:
    with pytest.raises(ProviderOutputInvalid, match=match):
        parse_edit(reply(200, body))


@pytest.mark.parametrize(
    ("status", "code", "headers", "cls", "retryable"),
    [
        (400, "moderation_blocked", {}, ContentRejected, False),
        (400, None, {}, ContentRejected, False),
        (401, "invalid_api_key", {}, ProviderKeyRejected, False),
        (403, None, {}, ProviderKeyRejected, False),
        (404, "model_not_found", {}, ProviderKeyRejected, False),
        (413, None, {}, ContentRejected, False),
        (429, None, {"retry-after": "7"}, ProviderRateLimited, True),
        (429, "insufficient_quota", {"retry-after": "7"}, ProviderKeyRejected, False),
        (408, None, {}, ProviderTimeout, True),
        (409, None, {}, ProviderUnavailable, True),
        (422, None, {}, ContentRejected, False),
        (500, None, {}, ProviderUnavailable, True),
        (502, None, {}, ProviderUnavailable, True),
        (504, None, {}, ProviderTimeout, True),
    ],
)
def test_errors_map_onto_the_error_tree(
    status: int, code: str | None, headers: dict[str, str], cls: type[ProviderError], retryable: bool
) -> None:
    error = classify_error(
        reply(status, openai_error("the words", code=code), {**headers, "x-request-id": "r1"})
    )
    assert type(error) is cls
    assert error.retryable is retryable
    assert "the words" in error.message
    assert (error.provider, error.status, error.request_id) == ("openai", status, "r1")
    assert error.details["error_code"] == code
    if cls is ProviderRateLimited:
        assert isinstance(error, ProviderRateLimited) and error.retry_after_s == 7.0


def test_an_error_body_that_is_not_openais_shape_still_gives_its_text() -> None:
    error = classify_error(reply(502, b"upstream connect error"))
    assert isinstance(error, ProviderUnavailable) and "upstream connect error" in error.message


def test_keys_are_redacted_from_openais_messages() -> None:
    plain = SecretStr("not-shaped-like-a-key-42")
    message = "Incorrect API key provided: sk-proj-abc***xyz. Also not-shaped-like-a-key-42."
    assert redact(message, [plain]) == "Incorrect API key provided: [redacted]. Also [redacted]."
    error = classify_error(reply(401, openai_error(message)), secrets=[plain])
    assert "not-shaped-like-a-key-42" not in str(error.to_dict()) and "sk-proj" not in error.message


def test_the_mask_goes_transparent_where_ours_is_white_and_reads_back_the_same() -> None:
    ours = box_mask(40, 30, (5, 6, 20, 25))
    blob = Blob(encode(ours), "image/png", 40, 30)

    converted = transparent_where_edit(blob, ImageLimits())

    image = open_png(converted.data)
    assert image.mode == "RGBA" and image.size == (40, 30) and converted.mime == "image/png"
    rgba = np.asarray(image)
    assert np.array_equal(rgba[..., 3] == 0, ours == 255)
    assert not rgba[..., :3].any()  # opaque black: never read as white strokes on a canvas
    assert np.array_equal(load_mask(converted.data, (40, 30)), ours)  # our own reader agrees


async def test_form_fields_and_repeated_parts_go_in_one_multipart_body() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    http = ProviderHttp("openai", transport_factory=lambda: httpx.MockTransport(handler))
    call = HttpCall(
        "POST",
        "https://api.example.test/upload",
        form={"prompt": "hi", "n": "1"},
        parts=(("image[]", ("a.png", b"AAA", "image/png")), ("image[]", ("b.png", b"BBB", "image/png"))),
    )
    async with http.session() as client:
        await http.send(client, call, classify=classify_error, deadline=Deadline(5))

    (sent,) = seen
    content_type = sent.headers["content-type"]
    assert content_type.startswith("multipart/form-data")
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + sent.content
    )
    parts = [
        (
            p.get_param("name", header="content-disposition"),
            p.get_param("filename", header="content-disposition"),
            p.get_payload(decode=True),
        )
        for p in message.iter_parts()
    ]
    assert parts == [
        ("prompt", None, b"hi"),
        ("n", None, b"1"),
        ("image[]", "a.png", b"AAA"),
        ("image[]", "b.png", b"BBB"),
    ]
