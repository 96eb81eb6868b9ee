"""The OpenAPI document as a contract for generated clients: stable operation ids, an example on
every request body and JSON response, examples that match their schemas, and HEAD on assets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from api_kit import PREFIX, Api, make_settings, png_bytes
from fastapi import FastAPI
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from pydantic import BaseModel

from editstudio.api import schemas
from editstudio.api.app import create_app, operation_id
from editstudio.api.examples import COMPONENT_EXAMPLES, ERROR_EXAMPLES
from editstudio.api.failures import STATUS_BY_CODE

JSON = "application/json"

# The ids the generated web client is built on. A change here renames a client function: it
# belongs in review, so the list is spelled out rather than derived.
EXPECTED_OPERATION_IDS = {
    f"GET {PREFIX}/edit/operations": "catalog-list_operations",
    f"GET {PREFIX}/edit/models": "catalog-list_catalog_models",
    f"POST {PREFIX}/edit/recommend": "catalog-recommend_models",
    f"POST {PREFIX}/edit/estimate": "catalog-estimate_cost",
    f"POST {PREFIX}/edit": "edit-submit_edit",
    f"GET {PREFIX}/jobs": "jobs-list_jobs",
    f"GET {PREFIX}/jobs/{{job_id}}": "jobs-get_job",
    f"POST {PREFIX}/jobs/{{job_id}}/cancel": "jobs-cancel_job",
    f"GET {PREFIX}/jobs/{{job_id}}/events": "jobs-stream_job_events",
    f"POST {PREFIX}/assets": "assets-upload_asset",
    f"GET {PREFIX}/assets/{{asset_id}}": "assets-download_asset",
    f"HEAD {PREFIX}/assets/{{asset_id}}": "assets-head_asset",
    f"GET {PREFIX}/usage": "usage-get_usage",
    f"POST {PREFIX}/webhooks/wavespeed": "webhooks-wavespeed_webhook",
    "GET /healthz": "health-healthz",
    "GET /readyz": "health-readyz",
    "GET /metrics": "health-metrics",
}

DOCUMENT: dict[str, Any] = create_app(make_settings(Path("/nonexistent"))).openapi()


def operations(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", operation


def component(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any] | None:
    ref = schema.get("$ref", "")
    prefix = "#/components/schemas/"
    return document["components"]["schemas"][ref.removeprefix(prefix)] if ref.startswith(prefix) else None


def examples_of(document: dict[str, Any], media: dict[str, Any]) -> list[Any]:
    """The examples a reader of ``media`` sees: on the media type, or on its component schema."""
    found = [media["example"]] if "example" in media else []
    found += [example["value"] for example in media.get("examples", {}).values()]
    schema = component(document, media.get("schema", {})) or media.get("schema", {})
    found += schema.get("examples", [])
    return found


def bodies(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every request body's and every JSON response's media type, with where it is."""
    for name, operation in operations(document):
        for media_type, media in operation.get("requestBody", {}).get("content", {}).items():
            yield f"{name} request {media_type}", media
        for status, response in operation["responses"].items():
            for media_type, media in response.get("content", {}).items():
                if media_type.endswith("json") and "schema" in media:
                    yield f"{name} {status} {media_type}", media


def missing_examples(document: dict[str, Any]) -> list[str]:
    return [where for where, media in bodies(document) if not examples_of(document, media)]


def schema_problems(document: dict[str, Any], schema: dict[str, Any], example: Any) -> list[str]:
    # The components ride along so that "#/components/schemas/..." references resolve.
    root = {**schema, "components": document["components"]}
    validator = Draft202012Validator(root, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return [
        f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in validator.iter_errors(example)
    ]


# ------------------------------------------------------------------------------ operation ids


def test_operation_ids_are_the_reviewed_ones() -> None:
    found = {name: operation.get("operationId") for name, operation in operations(DOCUMENT)}
    assert found == EXPECTED_OPERATION_IDS, "a route was added or renamed: update EXPECTED_OPERATION_IDS"


def test_operation_ids_are_unique_and_every_operation_is_tagged() -> None:
    ids = [operation["operationId"] for _name, operation in operations(DOCUMENT)]
    assert len(ids) == len(set(ids))
    for name, operation in operations(DOCUMENT):
        assert operation.get("tags"), name
        assert operation["operationId"].startswith(f"{operation['tags'][0]}-"), name


def test_operation_ids_do_not_depend_on_the_app_instance() -> None:
    again = create_app(make_settings(Path("/elsewhere"))).openapi()
    assert [op["operationId"] for _n, op in operations(again)] == [
        op["operationId"] for _n, op in operations(DOCUMENT)
    ]


def test_an_untagged_route_is_refused_rather_than_named_by_accident() -> None:
    app = FastAPI(generate_unique_id_function=operation_id)
    with pytest.raises(IndexError):

        @app.get("/untagged")
        def untagged() -> None: ...


# ------------------------------------------------------------------------------ examples


def test_every_request_body_and_json_response_has_an_example() -> None:
    assert missing_examples(DOCUMENT) == []


class Plain(BaseModel):
    value: int


def test_the_example_check_notices_a_model_without_one() -> None:
    app = FastAPI(generate_unique_id_function=operation_id)

    @app.post("/plain", tags=["plain"])
    def plain(body: Plain) -> Plain:
        return body

    missing = missing_examples(app.openapi())
    assert "POST /plain request application/json" in missing
    assert "POST /plain 200 application/json" in missing


def test_every_error_status_the_api_declares_has_its_examples() -> None:
    declared = {
        int(status)
        for _name, operation in operations(DOCUMENT)
        for status, response in operation["responses"].items()
        if response.get("content", {}).get(JSON, {}).get("schema")
        == {"$ref": "#/components/schemas/ErrorBody"}
    }
    assert {400, 401, 402, 404, 409, 413, 422, 429, 502, 504} <= declared
    assert declared <= set(ERROR_EXAMPLES)


def error_example(status: int, name: str) -> dict[str, Any]:
    return cast(dict[str, Any], ERROR_EXAMPLES[status][name]["value"])


@pytest.mark.parametrize("status", sorted(ERROR_EXAMPLES))
def test_error_examples_carry_the_code_of_an_error_with_that_status(status: int) -> None:
    for name in ERROR_EXAMPLES[status]:
        code = error_example(status, name)["code"]
        assert STATUS_BY_CODE.get(code, 422 if code == "validation_error" else None) == status, name


@pytest.mark.parametrize("where", [where for where, _media in bodies(DOCUMENT)])
def test_examples_match_their_schema(where: str) -> None:
    media = dict(bodies(DOCUMENT))[where]
    examples = examples_of(DOCUMENT, media)
    assert examples
    for example in examples:
        assert schema_problems(DOCUMENT, media["schema"], example) == [], example


def test_component_examples_match_their_component() -> None:
    checked = 0
    for name, schema in DOCUMENT["components"]["schemas"].items():
        for example in schema.get("examples", []):
            assert schema_problems(DOCUMENT, schema, example) == [], name
            checked += 1
    assert checked >= 15


def test_the_schema_check_rejects_an_example_that_does_not_fit() -> None:
    job = DOCUMENT["components"]["schemas"]["JobPublic"]
    broken = {**job["examples"][0], "state": "sleeping"}
    del broken["links"]
    problems = schema_problems(DOCUMENT, {"$ref": "#/components/schemas/JobPublic"}, broken)
    assert any("links" in problem for problem in problems)
    assert any(problem.startswith("state:") for problem in problems)


async def test_the_validation_error_example_has_the_shape_the_api_sends(api: Api) -> None:
    reply = await api.client.post(f"{PREFIX}/edit", json={"operation": "bogus"})
    example = error_example(422, "validation_error")
    assert reply.status_code == 422
    body = reply.json()
    assert body.keys() == example.keys()
    assert body["code"] == example["code"]
    assert body["details"]["errors"][0].keys() == example["details"]["errors"][0].keys()


# ------------------------------------------------------------------------------ HEAD /assets


async def upload(client: httpx.AsyncClient, data: bytes) -> str:
    reply = await client.post(f"{PREFIX}/assets", files={"file": ("in.png", data, "image/png")})
    assert reply.status_code == 201, reply.text
    asset_id: str = reply.json()["id"]
    return asset_id


async def test_head_answers_gets_headers_without_the_body(api: Api) -> None:
    data = png_bytes(40, 30, seed=3)
    asset_id = await upload(api.client, data)
    got = await api.client.get(f"{PREFIX}/assets/{asset_id}")
    head = await api.client.head(f"{PREFIX}/assets/{asset_id}")
    assert got.status_code == head.status_code == 200
    assert head.content == b""
    for name in ("content-type", "content-length", "etag", "cache-control"):
        assert head.headers[name] == got.headers[name], name
    assert int(head.headers["content-length"]) == len(data)


async def test_head_does_not_read_the_blob(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    asset_id = await upload(api.client, png_bytes(20, 20, seed=4))

    async def no_reads(_digest: str) -> bytes:
        raise AssertionError("HEAD read the blob")

    monkeypatch.setattr(api.context.blobs, "get", no_reads)
    head = await api.client.head(f"{PREFIX}/assets/{asset_id}")
    assert head.status_code == 200
    assert head.headers["etag"] == f'"{asset_id}"'


async def test_head_revalidates_with_if_none_match(api: Api) -> None:
    asset_id = await upload(api.client, png_bytes(20, 20, seed=5))
    fresh = await api.client.head(f"{PREFIX}/assets/{asset_id}", headers={"If-None-Match": f'"{asset_id}"'})
    stale = await api.client.head(f"{PREFIX}/assets/{asset_id}", headers={"If-None-Match": '"other"'})
    assert fresh.status_code == 304
    assert fresh.headers["etag"] == f'"{asset_id}"'
    assert stale.status_code == 200


async def test_head_on_another_users_asset_is_not_found(api: Api) -> None:
    _alice, alice = await api.new_user("alice")
    _bob, bob = await api.new_user("bob")
    async with alice, bob:
        asset_id = await upload(alice, png_bytes(20, 20, seed=6))
        assert (await alice.head(f"{PREFIX}/assets/{asset_id}")).status_code == 200
        assert (await bob.head(f"{PREFIX}/assets/{asset_id}")).status_code == 404
        assert (await bob.head(f"{PREFIX}/assets/{'0' * 64}")).status_code == 404


def test_component_examples_are_the_examples_on_the_models() -> None:
    # COMPONENT_EXAMPLES is keyed by class name: a key naming no model would be silently unused.
    on_models = {
        name: model.model_config.get("json_schema_extra")
        for name, model in vars(schemas).items()
        if isinstance(model, type) and issubclass(model, BaseModel) and model.__module__ == schemas.__name__
    }
    carrying = {name for name, extra in on_models.items() if isinstance(extra, dict) and "examples" in extra}
    assert carrying == set(COMPONENT_EXAMPLES)
    for name in carrying:
        extra = on_models[name]
        assert isinstance(extra, dict) and extra["examples"] is COMPONENT_EXAMPLES[name], name
