"""Catalogue endpoints and health: operations, models with the CLI's filters, recommend, estimate."""

from __future__ import annotations

from decimal import Decimal

from api_kit import PREFIX, Api, b64, png_bytes

from editstudio.catalog import list_models
from editstudio.core.operations import OPERATION_SPECS


async def test_operations_lists_every_operation_with_its_fields(api: Api) -> None:
    response = await api.client.get(f"{PREFIX}/edit/operations")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == len(OPERATION_SPECS) == len(body["data"])
    erase = next(op for op in body["data"] if op["id"] == "erase")
    assert erase["required"] == [["mask"]]


async def test_models_filters_match_the_library(api: Api) -> None:
    response = await api.client.get(f"{PREFIX}/edit/models", params={"op": "erase", "max_cost": "0.05"})
    assert response.status_code == 200
    ids = [m["id"] for m in response.json()["data"]]
    expected = [m.id for m in list_models(operation="erase", max_cost_usd=Decimal("0.05"))]
    assert ids == expected and "local/engine" in ids


async def test_models_available_keeps_only_configured_providers(api: Api) -> None:
    response = await api.client.get(f"{PREFIX}/edit/models", params={"available": "true"})
    providers = {m["provider"] for m in response.json()["data"]}
    assert providers <= {"local", "wavespeed"}
    assert all(m["available"] for m in response.json()["data"])


async def test_models_unknown_filter_value_is_422_in_the_error_shape(api: Api) -> None:
    response = await api.client.get(f"{PREFIX}/edit/models", params={"tier": "gold"})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error" and body["details"]["errors"][0]["field"] == "tier"


async def test_recommend_takes_the_seed_fields(api: Api) -> None:
    response = await api.client.post(
        f"{PREFIX}/edit/recommend",
        json={
            "operation": "erase",
            "image_resolution": {"width": 800, "height": 600},
            "preferences": {"prioritize_cost": True},
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert body["recommended_model"] == "local/engine"
    assert body["reason"]


async def test_recommend_reads_the_size_from_an_image(api: Api) -> None:
    response = await api.client.post(
        f"{PREFIX}/edit/recommend",
        json={"operation": "general_edit", "image_base64": b64(png_bytes(300, 200))},
    )
    assert response.status_code == 200
    assert response.json()["recommended_model"].startswith("wavespeed/")


async def test_estimate_is_exact_decimal(api: Api) -> None:
    response = await api.client.post(
        f"{PREFIX}/edit/estimate",
        json={"operation": "general_edit", "model": "wavespeed/qwen-image-edit", "width": 512, "height": 512},
    )
    assert response.status_code == 200
    assert Decimal(response.json()["total_usd"]) == Decimal("0.02")


async def test_estimate_unknown_model_is_404(api: Api) -> None:
    response = await api.client.post(
        f"{PREFIX}/edit/estimate",
        json={"operation": "erase", "model": "nobody/nothing", "width": 10, "height": 10},
    )
    assert response.status_code == 404 and response.json()["code"] == "model_not_found"


async def test_estimate_needs_a_size(api: Api) -> None:
    response = await api.client.post(
        f"{PREFIX}/edit/estimate", json={"operation": "erase", "model": "local/engine"}
    )
    assert response.status_code == 400 and response.json()["code"] == "missing_field"


async def test_health_ready_and_metrics(api: Api) -> None:
    assert (await api.client.get("/healthz")).json() == {"status": "ok"}
    ready = await api.client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["database"] == "ok"
    metrics = await api.client.get("/metrics")
    assert metrics.status_code == 200
    assert 'editstudio_http_requests_total{method="GET",route="/readyz",status="200"} 1.0' in metrics.text


async def test_unknown_path_is_404_in_the_error_shape(api: Api) -> None:
    response = await api.client.get(f"{PREFIX}/nothing-here")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
