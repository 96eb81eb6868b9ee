"""``editstudio models | recommend | estimate`` through Typer's test runner."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from typer.testing import CliRunner

from editstudio.catalog import EstimateInput, estimate, get_model, list_models, load_catalog
from editstudio.cli import app
from editstudio.core.errors import InvalidRequest, ModelNotFound
from editstudio.settings import get_settings

KEY_NAMES = ["WAVESPEED_API_KEY", "STABILITY_API_KEY", "OPENAI_API_KEY", "HF_TOKEN"]

runner = CliRunner()


@pytest.fixture(autouse=True)
def no_keys(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in KEY_NAMES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"EDITSTUDIO_{name}", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def run_json(*args: str) -> Any:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_models_json_lists_the_catalogue() -> None:
    body = run_json("models")
    assert body["count"] == len(load_catalog())
    assert [m["id"] for m in body["models"]] == list(load_catalog().ids)


def test_models_accepts_dashed_operations() -> None:
    body = run_json("models", "--op", "remove-background")
    assert body["count"] == len(list_models(operation="remove_background"))
    assert all("remove_background" in m["operations"] for m in body["models"])


def test_models_min_size_filters_on_accepted_side() -> None:
    body = run_json("models", "--min-size", "4096")
    assert body["models"]
    assert all(m["largest_square_side"] >= 4096 for m in body["models"])
    assert len(body["models"]) < len(load_catalog())


def test_models_max_cost_and_tier() -> None:
    body = run_json("models", "--max-cost", "0.03", "--tier", "budget")
    assert body["models"]
    assert all(Decimal(m["list_price_usd"]) <= Decimal("0.03") for m in body["models"])
    assert {m["tier"] for m in body["models"]} == {"budget"}


def test_models_available_follows_configured_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    assert {m["provider"] for m in run_json("models", "--available")["models"]} == {"local"}
    monkeypatch.setenv("WAVESPEED_API_KEY", "ws-test")
    get_settings.cache_clear()
    assert {m["provider"] for m in run_json("models", "--available")["models"]} == {"local", "wavespeed"}


def test_models_table_shows_ids() -> None:
    result = runner.invoke(app, ["models", "--provider", "openai"])
    assert result.exit_code == 0
    assert "openai/gpt-image-1" in result.output
    assert "wavespeed/" not in result.output


def test_models_rejects_an_unknown_tier() -> None:
    result = runner.invoke(app, ["models", "--tier", "gold"])
    assert isinstance(result.exception, InvalidRequest)


def test_recommend_reads_the_size_from_an_image(tmp_path: Path) -> None:
    path = tmp_path / "in.png"
    Image.new("RGB", (3000, 2000)).save(path)
    body = run_json("recommend", "--op", "erase", "--image", str(path), "--mask", "--explain")
    assert [r["model"] for r in body["recommendations"]] == ["local/engine"]
    assert "3000×2000" in body["recommendations"][0]["reason"]
    assert len(body["recommendations"]) + len(body["excluded"]) == len(load_catalog())


def test_recommend_uses_configured_keys_and_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAVESPEED_API_KEY", "ws-test")
    monkeypatch.setenv("STABILITY_API_KEY", "sk-test")
    get_settings.cache_clear()
    args = ("recommend", "--op", "erase", "--width", "1024", "--height", "1024", "--mask")
    with_key = run_json(*args)
    assert {r["model"] for r in with_key["recommendations"]} == {
        "local/engine",
        "wavespeed/image-eraser",
        "stability/erase",
    }
    tight = run_json(*args, "--budget", "0.01")
    assert [r["model"] for r in tight["recommendations"]] == ["local/engine"]


def test_recommend_table_and_no_fit_message() -> None:
    result = runner.invoke(app, ["recommend", "--op", "general-edit", "--width", "800", "--height", "600"])
    assert result.exit_code == 0
    assert "No model can do this edit" in result.output
    assert "no wavespeed key configured" in result.output


def test_recommend_needs_a_size() -> None:
    result = runner.invoke(app, ["recommend", "--op", "erase"])
    assert isinstance(result.exception, InvalidRequest)


def test_estimate_json_matches_the_library() -> None:
    body = run_json(
        "estimate", "--model", "openai/gpt-image-1", "--op", "inpaint",
        "--width", "1536", "--height", "1024", "--quality", "medium",
    )  # fmt: skip
    expected = estimate(
        EstimateInput(operation="inpaint", width=1536, height=1024, quality="medium"),  # type: ignore[arg-type]
        get_model("openai/gpt-image-1"),
    )
    assert Decimal(body["total_usd"]) == expected.total_usd
    assert sum(Decimal(line["amount_usd"]) for line in body["lines"]) == expected.total_usd


def test_estimate_table_shows_total() -> None:
    result = runner.invoke(
        app, ["estimate", "--model", "stability/erase", "--op", "erase", "--width", "64", "--height", "64"]
    )
    assert result.exit_code == 0
    assert "0.03" in result.output


def test_estimate_unknown_model_raises_model_not_found() -> None:
    result = runner.invoke(
        app, ["estimate", "--model", "nope/model", "--op", "erase", "--width", "9", "--height", "9"]
    )
    assert isinstance(result.exception, ModelNotFound)


def test_estimate_refuses_an_operation_the_model_does_not_do() -> None:
    result = runner.invoke(
        app, ["estimate", "--model", "stability/erase", "--op", "upscale", "--width", "9", "--height", "9"]
    )
    assert isinstance(result.exception, InvalidRequest)
