"""Recommendations: exclusions with reasons, preferences that matter, and a property test."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from editstudio.catalog import Catalog, ExclusionReason, Preference, UserTier, load_catalog, recommend
from editstudio.catalog.recommend import ALLOWED_MODEL_TIERS, DOWNSCALE_FLOOR, downscale_factor
from editstudio.catalog.schema import ModelSpec
from editstudio.core.operations import Operation


def spec(model_id: str, **overrides: Any) -> ModelSpec:
    data: dict[str, Any] = {
        "id": f"wavespeed/{model_id}",
        "provider": "wavespeed",
        "route": f"test/{model_id}",
        "name": model_id,
        "description": "test model",
        "operations": ["general_edit"],
        "tier": "mid",
        "quality": 5,
        "latency_s": 10,
        "output_format": "png",
        "price": {"kind": "flat", "usd": "0.02"},
        "limits": {"min_side": 64, "max_side": 4096, "max_pixels": 16777216},
        "params": {"size": "size", "image": "image"},
        "verified": True,
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return ModelSpec.model_validate(data)


def price(usd: str) -> dict[str, str]:
    return {"kind": "flat", "usd": usd}


# Four models, each the best at one thing: the preference alone must pick between them.
TRADE_OFFS = Catalog(
    (
        spec("cheap", price=price("0.005"), quality=5, latency_s=30),
        spec("premium", price=price("0.20"), quality=10, latency_s=30),
        spec("fast", price=price("0.06"), quality=4, latency_s=1),
        spec("allround", price=price("0.02"), quality=8, latency_s=10),
    )
)
WAVESPEED = {"wavespeed"}


def best(preference: str, catalog: Catalog = TRADE_OFFS, **kw: Any) -> str:
    result = recommend(
        "general_edit",
        input_size=(1024, 1024),
        preference=preference,
        configured_providers=WAVESPEED,
        catalog=catalog,
        **kw,
    )
    assert result.best is not None
    return result.best.model_id


def test_each_preference_changes_the_winner() -> None:
    winners = {p: best(p.value) for p in Preference}
    assert winners == {
        Preference.COST: "wavespeed/cheap",
        Preference.BALANCED: "wavespeed/allround",
        Preference.QUALITY: "wavespeed/premium",
        Preference.SPEED: "wavespeed/fast",
    }


def test_ranked_best_first_with_parts_in_unit_range() -> None:
    result = recommend(
        "general_edit", input_size=(1024, 1024), configured_providers=WAVESPEED, catalog=TRADE_OFFS
    )
    scores = [r.score for r in result.ranked]
    assert scores == sorted(scores, reverse=True)
    for rec in result.ranked:
        assert all(0 <= part <= 1 for part in vars(rec.parts).values())


def test_ties_break_by_id_and_repeat_exactly() -> None:
    twins = Catalog((spec("zeta"), spec("alpha"), spec("mid")))
    first = recommend("general_edit", input_size=(800, 600), configured_providers=WAVESPEED, catalog=twins)
    again = recommend("general_edit", input_size=(800, 600), configured_providers=WAVESPEED, catalog=twins)
    assert [r.model_id for r in first.ranked] == ["wavespeed/alpha", "wavespeed/mid", "wavespeed/zeta"]
    assert first == again


def test_reason_names_the_cheapest_truthfully() -> None:
    result = recommend(
        "general_edit", input_size=(3000, 2000), configured_providers=WAVESPEED, catalog=TRADE_OFFS
    )
    by_id = {r.model_id: r for r in result.ranked}
    assert "cheapest model that accepts 3000×2000 input" in by_id["wavespeed/cheap"].reason
    assert "cheapest" not in by_id["wavespeed/premium"].reason
    assert "highest quality" in by_id["wavespeed/premium"].reason
    assert "fastest" in by_id["wavespeed/fast"].reason


def reasons_for(model: ModelSpec, operation: str = "general_edit", **kw: Any) -> set[ExclusionReason]:
    args: dict[str, Any] = {"input_size": (1024, 1024), "configured_providers": WAVESPEED, **kw}
    result = recommend(operation, catalog=Catalog((model,)), **args)
    assert len(result.ranked) + len(result.excluded) == 1
    return {code for item in result.excluded for code, _ in item.reasons}


def test_operation_not_served() -> None:
    assert reasons_for(spec("m"), operation="erase") == {ExclusionReason.OPERATION}


def test_missing_provider_key() -> None:
    assert reasons_for(spec("m"), configured_providers=()) == {ExclusionReason.PROVIDER}


def test_free_tier_may_not_use_premium() -> None:
    assert reasons_for(spec("m", tier="premium"), user_tier="free") == {ExclusionReason.TIER}
    assert reasons_for(spec("m", tier="premium"), user_tier="pro") == set()


def test_input_below_the_minimum_side() -> None:
    assert reasons_for(spec("m", limits={"min_side": 256}), input_size=(200, 1000)) == {
        ExclusionReason.TOO_SMALL
    }


def test_large_input_is_downscaled_when_the_model_is_big_enough() -> None:
    model = spec("m", limits={"max_side": 1536, "max_pixels": 2359296})
    assert reasons_for(model, input_size=(6000, 4000)) == set()
    result = recommend(
        "general_edit", input_size=(6000, 4000), configured_providers=WAVESPEED, catalog=Catalog((model,))
    )
    assert result.ranked[0].parts.fit == round(1536 / 6000, 6)
    assert "downscaled to 1536×1024" in result.ranked[0].reason


def test_large_input_excluded_below_the_downscale_floor() -> None:
    small = spec("m", limits={"max_side": 768, "max_pixels": 589824})
    assert reasons_for(small, input_size=(2000, 1500)) == {ExclusionReason.TOO_LARGE}
    assert reasons_for(small, input_size=(700, 500)) == set()


def test_downscale_that_leaves_a_side_too_short() -> None:
    model = spec("m", limits={"min_side": 256, "max_side": 1536, "max_pixels": 2359296})
    assert reasons_for(model, input_size=(9000, 600)) == {ExclusionReason.TOO_SMALL}


def test_aspect_ratio_out_of_range() -> None:
    model = spec("m", limits={"aspect_min": 0.4, "aspect_max": 2.5})
    assert reasons_for(model, input_size=(3000, 1000)) == {ExclusionReason.ASPECT}


def test_too_many_reference_images() -> None:
    model = spec("m", params={"image": "images", "max_reference_images": 2})
    assert reasons_for(model, reference_images=3) == {ExclusionReason.REFERENCES}
    assert reasons_for(model, reference_images=2) == set()


def test_over_budget() -> None:
    model = spec("m", price=price("0.05"))
    assert reasons_for(model, budget_usd=Decimal("0.049")) == {ExclusionReason.BUDGET}
    assert reasons_for(model, budget_usd=Decimal("0.05")) == set()


def test_unsupported_outputs_count() -> None:
    assert reasons_for(spec("m"), num_outputs=2) == {ExclusionReason.SETTINGS}


def test_every_reason_is_reported_not_just_the_first() -> None:
    model = spec("m", tier="premium", price=price("1.00"))
    found = reasons_for(model, operation="erase", configured_providers=(), budget_usd=Decimal("0.01"))
    assert {ExclusionReason.OPERATION, ExclusionReason.PROVIDER, ExclusionReason.TIER} <= found
    assert ExclusionReason.BUDGET in found


def test_mask_never_excludes_but_native_masks_fit_better() -> None:
    native = spec("native", params={"mask": "native", "mask_field": "mask_image"})
    composited = spec("composited")
    result = recommend(
        "general_edit",
        input_size=(1024, 1024),
        has_mask=True,
        configured_providers=WAVESPEED,
        catalog=Catalog((composited, native)),
    )
    by_id = {r.model_id: r for r in result.ranked}
    assert set(by_id) == {"wavespeed/native", "wavespeed/composited"}
    assert by_id["wavespeed/native"].parts.fit > by_id["wavespeed/composited"].parts.fit
    assert "compositing" in by_id["wavespeed/composited"].reason


def test_local_engine_serves_erase_with_no_keys() -> None:
    result = recommend("erase", input_size=(3000, 2000), has_mask=True)
    assert [r.model_id for r in result.ranked] == ["local/engine"]


def test_with_every_key_recommendations_span_the_adapted_providers() -> None:
    result = recommend(
        "erase",
        input_size=(2000, 1500),
        user_tier="enterprise",
        configured_providers={"wavespeed", "stability", "openai"},
    )
    from editstudio.catalog.availability import ADAPTED

    assert {r.model.provider.value for r in result.ranked} == {"local", "wavespeed", "stability"}
    # A key is not enough: a model whose provider has no adapter in this version cannot run.
    unadapted = [e for e in result.excluded if e.model_id.split("/")[0] not in ADAPTED]
    assert all(
        any(f"no {e.model_id.split('/')[0]} adapter" in message for _, message in e.reasons)
        for e in unadapted
    )


CATALOG = load_catalog()
PROVIDERS = ["wavespeed", "stability", "openai", "huggingface"]


@settings(max_examples=300, deadline=None)
@given(
    operation=st.sampled_from(list(Operation)),
    width=st.integers(1, 12000),
    height=st.integers(1, 12000),
    refs=st.integers(0, 16),
    mask=st.booleans(),
    tier=st.sampled_from(list(UserTier)),
    budget=st.none() | st.decimals(min_value=0, max_value=Decimal("0.3"), places=3),
    preference=st.sampled_from(list(Preference)),
    providers=st.sets(st.sampled_from(PROVIDERS)),
    outputs=st.integers(1, 3),
)
def test_nothing_unusable_is_recommended(
    operation: Operation,
    width: int,
    height: int,
    refs: int,
    mask: bool,
    tier: UserTier,
    budget: Decimal | None,
    preference: Preference,
    providers: set[str],
    outputs: int,
) -> None:
    result = recommend(
        operation,
        input_size=(width, height),
        reference_images=refs,
        has_mask=mask,
        user_tier=tier,
        budget_usd=budget,
        preference=preference,
        configured_providers=providers,
        num_outputs=outputs,
        catalog=CATALOG,
    )
    ranked = [r.model_id for r in result.ranked]
    excluded = [e.model_id for e in result.excluded]
    assert sorted(ranked + excluded) == sorted(CATALOG.ids)  # every model accounted for, once
    assert all(e.reasons for e in result.excluded)
    keys = [(-r.score, r.model_id) for r in result.ranked]
    assert keys == sorted(keys)
    for rec in result.ranked:
        model = rec.model
        assert model.serves(operation)
        assert not model.needs_key or model.provider.value in providers
        assert model.tier in ALLOWED_MODEL_TIERS[tier]
        assert refs <= model.params.max_reference_images
        assert outputs <= model.params.max_outputs
        assert model.limits.accepts_aspect(width, height)
        factor = downscale_factor(model, width, height)
        assert factor >= 1.0 or model.limits.longest_side >= DOWNSCALE_FLOOR
        assert math.floor(min(width, height) * factor) >= model.limits.min_side
        assert width * height * factor * factor <= model.limits.max_pixels * 1.0001
        assert budget is None or rec.estimate.total_usd <= budget
        assert rec.estimate.total_usd == rec.estimate.unit_usd * outputs


def test_adapted_providers_are_exactly_the_registry_adapters() -> None:
    from editstudio.catalog.availability import ADAPTED
    from editstudio.providers.registry import _FACTORIES

    assert set(_FACTORIES) == set(ADAPTED)
