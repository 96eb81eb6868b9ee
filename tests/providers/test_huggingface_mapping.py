"""The pure Hugging Face mapping on values: routes, the request body, reply parsing and the error
table, with no network."""

from __future__ import annotations

import base64
import json

import pytest
from huggingface_kit import HF_MODELS, MODEL, encode, gradient
from pydantic import SecretStr

from editstudio.catalog import get_model
from editstudio.core import (
    ConfigurationError,
    EditRequest,
    ImageTooLarge,
    InvalidRequest,
    ProviderJobFailed,
    ProviderOutputInvalid,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
)
from editstudio.providers.http import HttpReply
from editstudio.providers.huggingface import (
    HuggingFaceCredentials,
    build_edit,
    classify_error,
    parse_image,
    parse_route,
    redact,
)
from editstudio.providers.images import Blob

TOKEN = "hf_MappingToken0123456789"
CREDS = HuggingFaceCredentials(SecretStr(TOKEN), "https://router.example/")


def reply(status: int, body: object = b"", **headers: str) -> HttpReply:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return HttpReply(status, {k.replace("_", "-"): v for k, v in headers.items()}, data)


@pytest.mark.parametrize("model", HF_MODELS)
def test_every_catalogue_route_is_an_hf_inference_model_path(model: str) -> None:
    route = parse_route(get_model(model))
    assert route.inference_provider == "hf-inference"
    assert route.path == get_model(model).route
    assert "/" in route.model_id


@pytest.mark.parametrize(
    "route", ["timbrooks/instruct-pix2pix", "hf-inference/timbrooks/x", "hf-inference/models/x"]
)
def test_a_malformed_route_is_a_configuration_error(route: str) -> None:
    spec = get_model(MODEL).model_copy(update={"route": route})
    with pytest.raises(ConfigurationError, match="route"):
        parse_route(spec)


def test_the_call_posts_base64_json_to_the_model_path_with_a_bearer_token() -> None:
    data = encode(gradient(32, 24))
    request = EditRequest(operation="general_edit", image=data, prompt="snow")

    call = build_edit(request, get_model(MODEL), CREDS, Blob(data, "image/png", 32, 24))

    assert call.method == "POST"
    assert call.url == "https://router.example/hf-inference/models/timbrooks/instruct-pix2pix"
    assert call.headers == {"Authorization": f"Bearer {TOKEN}"}
    assert call.json is not None and base64.b64decode(call.json["inputs"]) == data
    assert call.json["parameters"] == {"prompt": "snow", "target_size": {"width": 32, "height": 24}}
    assert TOKEN not in repr(call) and TOKEN not in repr(CREDS)


def test_an_image_reply_is_parsed_with_its_request_id() -> None:
    png = encode(gradient(8, 8))
    parsed = parse_image(reply(200, png, content_type="image/png", x_request_id="r-1"), max_bytes=10**6)
    assert (parsed.data, parsed.content_type, parsed.request_id) == (png, "image/png", "r-1")


def test_image_bytes_without_an_image_content_type_are_still_accepted_by_their_magic() -> None:
    png = encode(gradient(8, 8))
    assert parse_image(reply(200, png, content_type="application/octet-stream"), max_bytes=10**6).data == png


@pytest.mark.parametrize(
    ("body", "content_type", "match"),
    [
        ({"error": "nope"}, "application/json", "application/json: 'nope'"),
        (b"plain words", "text/plain", "text/plain"),
        (b"\x00\x01garbage", "application/octet-stream", "expected an image"),
        (b"", "image/png", "empty"),
    ],
)
def test_a_200_that_is_not_an_image_is_output_invalid(body: object, content_type: str, match: str) -> None:
    with pytest.raises(ProviderOutputInvalid, match=match):
        parse_image(reply(200, body, content_type=content_type), max_bytes=10**6)


def test_an_oversized_reply_is_output_invalid() -> None:
    with pytest.raises(ProviderOutputInvalid, match="10-byte limit"):
        parse_image(reply(200, encode(gradient(8, 8)), content_type="image/png"), max_bytes=10)


@pytest.mark.parametrize(
    ("status", "kind", "retryable"),
    [
        (400, InvalidRequest, False),
        (422, InvalidRequest, False),
        (401, ConfigurationError, False),
        (403, ConfigurationError, False),
        (404, ConfigurationError, False),
        (413, ImageTooLarge, False),
        (429, ProviderRateLimited, True),
        (500, ProviderUnavailable, True),
        (502, ProviderUnavailable, True),
        (503, ProviderUnavailable, True),
        (504, ProviderTimeout, True),
        (418, ProviderJobFailed, False),
    ],
)
def test_each_status_maps_to_its_error(status: int, kind: type, retryable: bool) -> None:
    error = classify_error(reply(status, {"error": "said the router"}), model_id=MODEL)
    assert type(error) is kind
    assert error.retryable is retryable
    assert "said the router" in error.message
    assert error.details["status"] == status


def test_a_loading_model_carries_estimated_time_as_its_retry_delay() -> None:
    error = classify_error(reply(503, {"error": "Model x is currently loading", "estimated_time": 12.5}))
    assert error.details["retry_after_s"] == 12.5
    assert "estimated 12.5s" in error.message


def test_retry_after_beats_estimated_time_and_a_plain_503_has_no_delay() -> None:
    both = classify_error(reply(503, {"error": "loading", "estimated_time": 40}, retry_after="3"))
    assert both.details["retry_after_s"] == 3.0
    plain = classify_error(reply(503, b"Service Unavailable"))
    assert plain.details["retry_after_s"] is None and "Service Unavailable" in plain.message


def test_tokens_are_redacted_from_messages() -> None:
    error = classify_error(
        reply(400, {"error": f"bad token {TOKEN} and hf_OtherToken987654321"}),
        secrets=(SecretStr(TOKEN),),
    )
    assert TOKEN not in error.message and "hf_OtherToken987654321" not in error.message
    assert redact("plain text") == "plain text"
