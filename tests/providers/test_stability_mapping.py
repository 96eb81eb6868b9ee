"""The pure Stability mapping (``providers/stability.py``) on values, and the registry's wiring."""

from __future__ import annotations

import base64
import json

import pytest
from pydantic import SecretStr
from stability_kit import STABILITY_MODELS, gradient_png

from editstudio.catalog.loader import get_model
from editstudio.catalog.schema import ModelSpec
from editstudio.core import EditRequest
from editstudio.core.errors import (
    ConfigurationError,
    ContentRejected,
    ImageTooLarge,
    InvalidRequest,
    ProviderJobFailed,
    ProviderOutputInvalid,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
    UnsupportedOperation,
    UnsupportedParameter,
)
from editstudio.core.remote import ResumableProvider
from editstudio.imaging import ImageLimits
from editstudio.providers.http import Done, Failed, HttpReply, Pending
from editstudio.providers.images import Blob, fit_bytes
from editstudio.providers.registry import provider_for
from editstudio.providers.stability import (
    StabilityCredentials,
    SubmitInputs,
    build_poll,
    build_submit,
    classify_error,
    classify_poll_error,
    endpoint_for,
    parse_image,
    parse_poll,
    parse_submit_async,
)
from editstudio.providers.stability_provider import ResumableStabilityProvider, StabilityProvider
from editstudio.settings import Settings

KEY = "sk-mapping-test-SECRET"
CREDS = StabilityCredentials(SecretStr(KEY), "https://api.stability.test/")
IMAGE = Blob(gradient_png(64, 64), "image/png", 64, 64)


def error_reply(status: int, *errors: str, headers: dict[str, str] | None = None) -> HttpReply:
    body = json.dumps({"id": "err-123", "name": "some_error", "errors": list(errors)}).encode()
    return HttpReply(status, {"content-type": "application/json", **(headers or {})}, body)


@pytest.mark.parametrize(
    ("status", "cls", "retryable"),
    [
        (400, InvalidRequest, False),
        (401, ConfigurationError, False),
        (403, ContentRejected, False),
        (404, ProviderJobFailed, False),
        (413, ImageTooLarge, False),
        (422, InvalidRequest, False),
        (429, ProviderRateLimited, True),
        (500, ProviderUnavailable, True),
        (503, ProviderUnavailable, True),
        (504, ProviderTimeout, True),
    ],
)
def test_each_status_maps_to_its_error_with_stabilitys_words(
    status: int, cls: type[Exception], retryable: bool
) -> None:
    error = classify_error(error_reply(status, "first problem", "second problem"))

    assert type(error) is cls and error.retryable is retryable
    assert "first problem; second problem" in error.message
    assert error.details["request_id"] == "err-123" and error.details["status"] == status


def test_429_carries_retry_after_and_401_names_the_variable() -> None:
    limited = classify_error(error_reply(429, "slow", headers={"retry-after": "7"}))
    rejected = classify_error(error_reply(401, "bad key"))

    assert isinstance(limited, ProviderRateLimited) and limited.retry_after_s == 7.0
    assert rejected.details["env_var"] == "STABILITY_API_KEY" and "STABILITY_API_KEY" in rejected.message


def test_an_error_body_that_is_not_json_still_says_something() -> None:
    error = classify_error(HttpReply(502, {}, b"<html>Bad Gateway</html>"))

    assert isinstance(error, ProviderUnavailable) and "Bad Gateway" in error.message


def test_a_poll_404_means_the_result_is_gone() -> None:
    assert isinstance(classify_poll_error(error_reply(404, "not found")), ProviderJobFailed)
    assert "kept 24 h" in classify_poll_error(error_reply(404)).message
    assert isinstance(classify_poll_error(error_reply(500)), ProviderUnavailable)


def image_reply(finish: str | None = "SUCCESS", seed: str = "42", ctype: str = "image/png") -> HttpReply:
    headers = {"content-type": ctype, "seed": seed}
    if finish is not None:
        headers["finish-reason"] = finish
    return HttpReply(200, headers, b"\x89PNG-bytes")


def test_an_image_reply_is_done_with_its_seed_and_the_bytes_as_base64() -> None:
    done = parse_image(image_reply())

    assert isinstance(done, Done)
    assert base64.b64decode(done.outputs[0]) == b"\x89PNG-bytes"
    assert done.flags == {"finish_reason": "SUCCESS", "seed": 42}
    assert isinstance(parse_image(image_reply(finish=None)), Done)  # no header: success


@pytest.mark.parametrize(("finish", "rejected"), [("CONTENT_FILTERED", True), ("ERROR", False)])
def test_a_failed_finish_reason_is_failed(finish: str, rejected: bool) -> None:
    failed = parse_image(image_reply(finish), "abc")

    assert isinstance(failed, Failed) and failed.content_rejected is rejected and failed.remote_id == "abc"


@pytest.mark.parametrize(
    "reply",
    [image_reply("SOMETHING_NEW"), image_reply(ctype="application/json"), HttpReply(200, {}, b"")],
    ids=["unknown-finish-reason", "json", "empty"],
)
def test_an_unusable_image_reply_is_output_invalid(reply: HttpReply) -> None:
    with pytest.raises(ProviderOutputInvalid):
        parse_image(reply)


def test_poll_replies() -> None:
    pending = parse_poll(HttpReply(202, {}, b'{"id": "r1", "status": "in-progress"}'), "r1")
    assert pending == Pending("r1", "in-progress")
    assert isinstance(parse_poll(image_reply(), "r1"), Done)
    with pytest.raises(ProviderOutputInvalid):
        parse_poll(HttpReply(204, {}, b""), "r1")


def test_the_async_submit_needs_an_id() -> None:
    assert parse_submit_async(HttpReply(200, {}, b'{"id": "abc"}')) == Pending("abc", "in-progress")
    for body in (b"{}", b'{"id": ""}', b"[1]", b"nope"):
        with pytest.raises(ProviderOutputInvalid):
            parse_submit_async(HttpReply(200, {}, body))


def test_calls_carry_the_key_only_in_the_masked_header() -> None:
    request = EditRequest(operation="remove_background", image=IMAGE.data)
    call = build_submit(request, get_model("stability/remove-background"), CREDS, SubmitInputs(IMAGE))
    poll = build_poll("abc", CREDS)

    assert call.url == "https://api.stability.test/v2beta/stable-image/edit/remove-background"
    assert poll.url == "https://api.stability.test/v2beta/results/abc"
    for built in (call, poll):
        assert built.headers["authorization"] == f"Bearer {KEY}" and built.headers["accept"] == "image/*"
        assert KEY not in repr(built)
    assert KEY not in repr(CREDS)
    assert call.files is not None and set(call.files) == {"image"} and call.form == {}


def test_an_unknown_stability_route_is_refused_not_defaulted() -> None:
    spec = get_model("stability/erase").model_copy(update={"route": "v2beta/stable-image/edit/paint-it"})

    with pytest.raises(UnsupportedOperation, match="paint-it"):
        endpoint_for(spec)


def test_light_source_strength_needs_a_direction() -> None:
    request = EditRequest(
        operation="replace_background", image=IMAGE.data, prompt="x", extra={"light_source_strength": 0.5}
    )
    with pytest.raises(UnsupportedParameter, match="light_source_direction"):
        build_submit(
            request, get_model("stability/replace-background-and-relight"), CREDS, SubmitInputs(IMAGE)
        )


@pytest.mark.parametrize("model", STABILITY_MODELS, ids=lambda m: m.id)
def test_the_catalogue_agrees_with_the_endpoint_table(model: ModelSpec) -> None:
    endpoint = endpoint_for(model)

    assert model.params.seed == endpoint.seed
    assert model.params.negative_prompt == endpoint.negative_prompt
    assert model.native_mask == endpoint.mask and (model.params.mask_field or "mask") == "mask"
    assert set(model.output_formats) == set(endpoint.output_formats)
    assert (model.params.expand.value == "sides") == endpoint.sides


def test_the_registry_builds_the_right_class_with_the_poll_interval() -> None:
    settings = Settings(stability_api_key=SecretStr(KEY), stability_base_url="http://127.0.0.1:9")

    erase = provider_for("stability/erase", settings)
    relight = provider_for("stability/replace-background-and-relight", settings)
    slow = provider_for(
        "stability/replace-background-and-relight",
        settings.model_copy(update={"stability_poll_interval_s": 0.5}),
    )

    assert type(erase) is StabilityProvider and not isinstance(erase, ResumableProvider)
    assert isinstance(relight, ResumableStabilityProvider) and isinstance(relight, ResumableProvider)
    assert relight.http.poll_policy.interval_s == 10.0 == relight.http.poll_policy.max_interval_s
    assert isinstance(slow, ResumableStabilityProvider) and slow.http.poll_policy.interval_s == 0.5


def test_the_registry_names_the_variable_when_the_key_is_missing() -> None:
    with pytest.raises(ConfigurationError, match="STABILITY_API_KEY"):
        provider_for("stability/erase", Settings(stability_api_key=None))


def test_fit_bytes_keeps_small_inputs_and_refuses_what_cannot_fit() -> None:
    assert fit_bytes(IMAGE, len(IMAGE.data), ImageLimits()) == (IMAGE, {})
    with pytest.raises(ImageTooLarge, match="at most 100 bytes"):
        fit_bytes(IMAGE, 100, ImageLimits())
