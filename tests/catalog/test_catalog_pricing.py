"""Every price rule, with exact Decimal totals and lines that add up."""

from __future__ import annotations

from decimal import Decimal

import pytest

from editstudio.catalog import EstimateInput, estimate, get_model, list_price
from editstudio.catalog.schema import ModelSpec
from editstudio.core.errors import InvalidRequest, UnsupportedParameter
from editstudio.core.request import EditRequest


def job(op: str, width: int, height: int, **kw: object) -> EstimateInput:
    return EstimateInput(operation=op, width=width, height=height, **kw)  # type: ignore[arg-type]


def assert_lines_add_up(model: ModelSpec, estimate_input: EstimateInput) -> Decimal:
    result = estimate(estimate_input, model)
    assert sum((line.amount_usd for line in result.lines), Decimal(0)) == result.total_usd
    assert all(isinstance(line.amount_usd, Decimal) for line in result.lines)
    return result.total_usd


def test_flat_price() -> None:
    model = get_model("wavespeed/qwen-image-edit")
    result = estimate(job("general_edit", 1024, 768), model)
    assert result.total_usd == Decimal("0.02")
    assert result.unit_usd == Decimal("0.02")
    assert [line.label for line in result.lines] == ["base price per image"]


def test_local_engine_costs_nothing() -> None:
    assert estimate(job("erase", 4000, 3000), get_model("local/engine")).total_usd == Decimal("0")


@pytest.mark.parametrize(
    ("width", "height", "expected"),
    [(1024, 1024, "0.15"), (4095, 2000, "0.15"), (4096, 2000, "0.18"), (3000, 5000, "0.18")],
)
def test_resolution_tier_follows_the_longest_side(width: int, height: int, expected: str) -> None:
    model = get_model("wavespeed/nano-banana-pro-edit-ultra")
    assert assert_lines_add_up(model, job("general_edit", width, height)) == Decimal(expected)


def test_resolution_step_is_its_own_line() -> None:
    result = estimate(job("general_edit", 5000, 3000), get_model("wavespeed/nano-banana-pro-edit-ultra"))
    assert [line.amount_usd for line in result.lines] == [Decimal("0.15"), Decimal("0.03")]


def test_named_resolution_overrides_the_size() -> None:
    model = get_model("wavespeed/nano-banana-pro-edit-ultra")
    assert estimate(job("general_edit", 1000, 1000, resolution="8k"), model).total_usd == Decimal("0.18")
    with pytest.raises(UnsupportedParameter, match="16k"):
        estimate(job("general_edit", 1000, 1000, resolution="16k"), model)


def test_outpaint_expansion_counts_towards_the_output_size() -> None:
    model = get_model("wavespeed/nano-banana-pro-edit-ultra")
    near = job("general_edit", 4000, 1000)
    assert estimate(near, model).total_usd == Decimal("0.15")
    grown = job("general_edit", 4000, 1000, expand_px=(100, 0, 0, 0))
    assert estimate(grown, model).total_usd == Decimal("0.18")


@pytest.mark.parametrize(
    ("quality", "width", "height", "expected"),
    [
        ("low", 1024, 1024, "0.011"),
        ("low", 1536, 1024, "0.016"),
        ("medium", 1024, 1024, "0.042"),
        ("medium", 1024, 1536, "0.063"),
        ("high", 1024, 1024, "0.167"),
        ("high", 1536, 1024, "0.25"),
        (None, 1536, 1024, "0.25"),  # default is high: the most a run can cost
        ("auto", 1024, 1024, "0.167"),
    ],
)
def test_quality_by_shape(quality: str | None, width: int, height: int, expected: str) -> None:
    for model_id in ("openai/gpt-image-1", "wavespeed/gpt-image-1"):
        model = get_model(model_id)
        assert assert_lines_add_up(model, job("general_edit", width, height, quality=quality)) == Decimal(
            expected
        )


def test_square_threshold_is_a_ratio_of_1_25() -> None:
    model = get_model("openai/gpt-image-1")
    assert estimate(job("general_edit", 1249, 1000, quality="low"), model).total_usd == Decimal("0.011")
    assert estimate(job("general_edit", 1250, 1000, quality="low"), model).total_usd == Decimal("0.016")


def test_unknown_quality_is_refused_with_the_choices() -> None:
    with pytest.raises(UnsupportedParameter, match="low, medium, high"):
        estimate(job("general_edit", 1024, 1024, quality="ultra"), get_model("openai/gpt-image-1"))


def test_quality_without_shape_difference() -> None:
    model = get_model("wavespeed/ideogram-character")
    assert estimate(job("general_edit", 1536, 1024, quality="turbo"), model).total_usd == Decimal("0.10")
    assert estimate(job("general_edit", 1536, 1024, quality="quality"), model).total_usd == Decimal("0.20")


@pytest.mark.parametrize(
    ("model_id", "op", "expected"),
    [
        ("stability/erase", "erase", "0.03"),
        ("stability/inpaint", "inpaint", "0.03"),
        ("stability/outpaint", "outpaint", "0.04"),
        ("stability/search-and-replace", "search_replace", "0.04"),
        ("stability/search-and-recolor", "search_recolor", "0.05"),
        ("stability/remove-background", "remove_background", "0.02"),
        ("stability/replace-background-and-relight", "replace_background", "0.08"),
    ],
)
def test_stability_credits_at_one_cent(model_id: str, op: str, expected: str) -> None:
    result = estimate(job(op, 1024, 1024), get_model(model_id))
    assert result.total_usd == Decimal(expected)
    assert "credits" in result.lines[0].label


def test_outputs_multiply_the_unit_price() -> None:
    model = get_model("wavespeed/seedream-v4.5-edit-sequential")
    result = estimate(job("general_edit", 2048, 2048, num_outputs=4), model)
    assert result.total_usd == Decimal("0.16")
    assert result.num_outputs == 4
    assert result.lines[-1].amount_usd == Decimal("0.12")


def _many_outputs(model_id: str) -> ModelSpec:
    """The model as if it made several images per run (the API allows it; our adapters send one)."""
    model = get_model(model_id)
    return model.model_copy(update={"params": model.params.model_copy(update={"max_outputs": 10})})


def test_outputs_multiply_a_quality_price() -> None:
    model = _many_outputs("openai/gpt-image-1")
    total = assert_lines_add_up(model, job("general_edit", 1536, 1024, quality="medium", num_outputs=3))
    assert total == Decimal("0.189")


def test_more_outputs_than_the_model_makes_is_refused() -> None:
    with pytest.raises(UnsupportedParameter, match="at most 1"):
        estimate(job("general_edit", 1024, 1024, num_outputs=2), get_model("wavespeed/qwen-image-edit"))


def test_from_edit_request_reads_extra_and_never_decodes() -> None:
    request = EditRequest(
        operation="general_edit",
        image=b"not an image at all",
        prompt="make it blue",
        extra={"quality": "Low", "num_images": 2},
    )
    result = estimate(request, _many_outputs("openai/gpt-image-1"), input_size=(1024, 1024))
    assert result.total_usd == Decimal("0.022")


def test_edit_request_needs_an_input_size() -> None:
    request = EditRequest(operation="general_edit", image=b"x", prompt="p")
    with pytest.raises(InvalidRequest, match="input_size"):
        estimate(request, get_model("wavespeed/qwen-image-edit"))


def test_bad_extra_types_are_invalid_requests() -> None:
    request = EditRequest(operation="general_edit", image=b"x", prompt="p", extra={"num_images": "two"})
    with pytest.raises(InvalidRequest, match="num_images"):
        estimate(request, get_model("wavespeed/qwen-image-edit"), input_size=(10, 10))


def test_list_price_is_one_square_output_at_defaults() -> None:
    assert list_price(get_model("openai/gpt-image-1")) == Decimal("0.167")
    assert list_price(get_model("stability/erase")) == Decimal("0.03")
