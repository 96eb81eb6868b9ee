"""The packaged catalogue loads; bad entries stop start-up naming the entry and the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from editstudio.catalog import Catalog, get_model, load_catalog, parse_catalog
from editstudio.catalog.schema import ModelSpec
from editstudio.core.errors import ConfigurationError, ModelNotFound
from editstudio.core.operations import Operation

GOOD_ENTRY = """
[[models]]
id = "wavespeed/example"
provider = "wavespeed"
route = "example/route"
name = "Example"
description = "An example."
operations = ["general_edit"]
tier = "budget"
quality = 5
latency_s = 5
output_format = "png"
price = {{ kind = "flat", usd = {usd} }}
limits = {{ min_side = 256, max_side = 1536, max_pixels = 2359296 }}
params = {{ size = "size", image = "{image}" }}
verified = true
"""


def entry(usd: str = '"0.02"', image: str = "image") -> str:
    return GOOD_ENTRY.format(usd=usd, image=image)


def test_packaged_catalogue_loads_with_unique_ids() -> None:
    catalog = load_catalog()
    assert len(catalog) == len(set(catalog.ids))
    assert all(isinstance(model, ModelSpec) for model in catalog)


def test_catalogue_covers_the_required_wavespeed_routes() -> None:
    routes = {m.route for m in load_catalog() if m.provider.value == "wavespeed"}
    required = {
        "wavespeed-ai/qwen-image/edit",
        "wavespeed-ai/qwen-image/edit-plus",
        "wavespeed-ai/step1x-edit",
        "wavespeed-ai/hidream-e1-full",
        "bytedance/seededit-v3",
        "alibaba/wan-2.5/image-edit",
        "wavespeed-ai/flux-kontext-pro",
        "wavespeed-ai/flux-kontext-pro/multi",
        "wavespeed-ai/flux-kontext-max",
        "ideogram-ai/ideogram-character",
        "google/nano-banana-pro/edit-ultra",
        "openai/gpt-image-1",
        "wavespeed-ai/z-image/turbo-inpaint",
        "wavespeed-ai/image-zoom-out",
        "bytedance/seedream-v4.5/edit",
        "bytedance/seedream-v4/edit",
        "wavespeed-ai/image-eraser",
        "bria/expand",
        "bria/generate-background",
        "wavespeed-ai/image-text-remover",
        "wavespeed-ai/image-upscaler",
        "bria/increase-resolution",
        "wavespeed-ai/ultimate-image-upscaler",
    }
    assert required <= routes, sorted(required - routes)


def test_catalogue_spans_stability_and_openai() -> None:
    providers = {m.provider.value for m in load_catalog()}
    assert {"wavespeed", "stability", "openai", "local"} <= providers


def test_local_engine_is_free_keyless_and_serves_its_operations() -> None:
    local = get_model("local/engine")
    assert not local.needs_key
    expected = {"erase", "remove_background", "outpaint", "search_recolor", "replace_background", "upscale"}
    assert expected | {"adjust"} == {op.value for op in local.operations}


def test_every_unverified_entry_says_why() -> None:
    for model in load_catalog():
        assert model.verified or model.notes.strip(), model.id


def test_every_operation_has_a_model() -> None:
    served = {op for model in load_catalog() for op in model.operations}
    assert served == set(Operation)


def test_a_good_entry_parses() -> None:
    catalog = parse_catalog(entry())
    assert catalog.ids == ("wavespeed/example",)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (entry(usd="0.02"), "price.flat.usd"),  # money as a float
        (entry(image="many"), "params.image"),
        (entry().replace('tier = "budget"', 'tier = "cheap"'), "tier"),
        (entry().replace('["general_edit"]', '["paint_it_blue"]'), "operations.0"),
        (entry().replace('route = "example/route"\n', ""), "route"),
        (entry().replace('image = "image" }', 'image = "image", mask = "native" }'), "params"),
        (entry().replace("verified = true", "verified = false"), "(entry)"),
        (entry().replace('id = "wavespeed/example"', 'id = "stability/example"'), "(entry)"),
    ],
)
def test_a_bad_entry_names_its_id_and_field(text: str, field: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_catalog(text)
    message = caught.value.message
    assert "example" in message
    assert f"field {field}" in message
    assert caught.value.details["field"] == field


def test_a_duplicate_id_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="listed twice"):
        parse_catalog(entry() + entry())


def test_invalid_toml_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="not valid TOML"):
        parse_catalog("[[models]\n")


def test_load_catalog_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "models.toml"
    path.write_text(entry(usd="0.5"), encoding="utf-8")
    with pytest.raises(ConfigurationError) as caught:
        load_catalog(path)
    assert str(path) in caught.value.message


def test_unknown_id_raises_with_close_matches() -> None:
    with pytest.raises(ModelNotFound) as caught:
        get_model("wavespeed/qwen-image-edt")
    suggestions: list[Any] = caught.value.details["suggestions"]
    assert "wavespeed/qwen-image-edit" in suggestions


def test_unknown_id_without_provider_suggests_the_full_id() -> None:
    with pytest.raises(ModelNotFound) as caught:
        get_model("gpt-image-1")
    assert {"openai/gpt-image-1", "wavespeed/gpt-image-1"} <= set(caught.value.details["suggestions"])


def test_unknown_id_never_falls_back_to_a_default() -> None:
    catalog = Catalog(tuple(load_catalog())[:2])
    with pytest.raises(ModelNotFound):
        catalog.get("nothing/like-this-at-all")
