"""EditRequest validation per operation, and the small value parsers it relies on."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from typing import Any

import pytest

from editstudio.core.errors import InvalidRequest, MissingField, UnsupportedOperation, UnsupportedParameter
from editstudio.core.operations import COMMON_FIELDS, OPERATION_SPECS, Operation
from editstudio.core.request import (
    MAX_EXPAND_PX,
    MAX_PROMPT_CHARS,
    MAX_REFERENCE_IMAGES,
    Crop,
    EditRequest,
    OutputFormat,
    Size,
)

IMAGE = b"not decoded here"

# A value for every optional request field, to build requests field by field.
SAMPLE_VALUES: dict[str, Any] = {
    "mask": b"mask",
    "reference_images": (b"ref",),
    "prompt": "a red car",
    "negative_prompt": "blurry",
    "search_prompt": "the car",
    "background_image": b"bg",
    "background_color": "teal",
    "expand_left": 16,
    "expand_right": 16,
    "expand_up": 16,
    "expand_down": 16,
    "seed": 7,
    "guidance": 5.0,
    "steps": 20,
    "scale": 2,
    "brightness": 1.2,
    "contrast": 1.1,
    "saturation": 0.9,
    "sharpness": 1.5,
    "rotate": 90.0,
    "crop": Crop(0, 0, 10, 10),
    "resize": Size(20, 20),
    "output_format": OutputFormat.PNG,
    "output_quality": 80,
    "extra": {"strength": 0.5},
}


def minimal_fields(op: Operation) -> dict[str, Any]:
    """The first field of every required group: the smallest valid request for ``op``."""
    spec = OPERATION_SPECS[op]
    return {sorted(group)[0]: SAMPLE_VALUES[sorted(group)[0]] for group in spec.required}


def test_sample_values_cover_every_optional_field() -> None:
    from dataclasses import fields

    names = {f.name for f in fields(EditRequest)} - {"operation", "image"}
    assert set(SAMPLE_VALUES) == names


@pytest.mark.parametrize("op", list(Operation))
def test_minimal_request_is_valid(op: Operation) -> None:
    request = EditRequest(operation=op, image=IMAGE, **minimal_fields(op))
    assert request.operation is op
    assert request.set_fields == frozenset(minimal_fields(op))


@pytest.mark.parametrize("op", [op for op in Operation if OPERATION_SPECS[op].required])
def test_each_required_group_is_enforced(op: Operation) -> None:
    full = minimal_fields(op)
    for group in OPERATION_SPECS[op].required:
        partial = {k: v for k, v in full.items() if k not in group}
        with pytest.raises(MissingField) as info:
            EditRequest(operation=op, image=IMAGE, **partial)
        for name in group:
            assert name in info.value.message


@pytest.mark.parametrize("op", list(Operation))
def test_stray_field_is_refused_naming_the_allowed_ones(op: Operation) -> None:
    spec = OPERATION_SPECS[op]
    stray = sorted(set(SAMPLE_VALUES) - spec.allowed)
    if not stray:
        pytest.skip(f"{op.value} takes every field")
    with pytest.raises(UnsupportedParameter) as info:
        EditRequest(operation=op, image=IMAGE, **minimal_fields(op), **{stray[0]: SAMPLE_VALUES[stray[0]]})
    assert stray[0] in info.value.message
    for allowed in spec.allowed:
        assert allowed in info.value.message
    assert info.value.details["fields"] == [stray[0]]


@pytest.mark.parametrize("op", list(Operation))
def test_common_fields_are_allowed_everywhere(op: Operation) -> None:
    common = {name: SAMPLE_VALUES[name] for name in COMMON_FIELDS}
    request = EditRequest(operation=op, image=IMAGE, **minimal_fields(op), **common)
    assert request.set_fields >= COMMON_FIELDS


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("expand_left", -1),
        ("expand_right", MAX_EXPAND_PX + 1),
        ("seed", -1),
        ("guidance", 50.5),
        ("steps", 0),
        ("steps", 201),
        ("output_quality", 0),
        ("output_quality", 101),
        ("brightness", -0.1),
        ("sharpness", 10.5),
        ("rotate", 361.0),
        ("scale", 3),
        ("prompt", "x" * (MAX_PROMPT_CHARS + 1)),
        ("reference_images", (b"r",) * (MAX_REFERENCE_IMAGES + 1)),
        ("reference_images", (b"",)),
        ("guidance", "5"),
        ("steps", True),
    ],
)
def test_out_of_range_values_are_refused(field: str, value: Any) -> None:
    ops = [op for op in Operation if field in OPERATION_SPECS[op].allowed]
    op = ops[0]
    with pytest.raises(InvalidRequest) as info:
        EditRequest(operation=op, image=IMAGE, **{**minimal_fields(op), field: value})
    assert info.value.details["field"] == field


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("seed", 0),
        ("guidance", 0.0),
        ("steps", 200),
        ("output_quality", 100),
        ("scale", 4),
        ("rotate", -360.0),
    ],
)
def test_range_bounds_are_inclusive(field: str, value: Any) -> None:
    op = next(op for op in Operation if field in OPERATION_SPECS[op].allowed)
    request = EditRequest(operation=op, image=IMAGE, **{**minimal_fields(op), field: value})
    assert getattr(request, field) == value


def test_empty_image_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="image is empty"):
        EditRequest(operation=Operation.REMOVE_BACKGROUND, image=b"")


def test_blank_prompt_counts_as_missing() -> None:
    with pytest.raises(MissingField, match="prompt"):
        EditRequest(operation=Operation.TEXT_EDIT, image=IMAGE, prompt="   ")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("remove_background", Operation.REMOVE_BACKGROUND),
        ("remove-background", Operation.REMOVE_BACKGROUND),
        ("Remove Background", Operation.REMOVE_BACKGROUND),
        ("  SEARCH-RECOLOR ", Operation.SEARCH_RECOLOR),
        (Operation.ERASE, Operation.ERASE),
    ],
)
def test_operation_parse_accepts_aliases(text: str | Operation, expected: Operation) -> None:
    assert Operation.parse(text) is expected


def test_operation_parse_lists_the_known_operations() -> None:
    with pytest.raises(UnsupportedOperation) as info:
        Operation.parse("sharpen-everything")
    for op in Operation:
        assert op.value in info.value.message


def test_request_parses_operation_text() -> None:
    request = EditRequest(operation="remove-background", image=IMAGE)  # type: ignore[arg-type]
    assert request.operation is Operation.REMOVE_BACKGROUND


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("jpg", OutputFormat.JPEG),
        (".JPEG", OutputFormat.JPEG),
        ("png", OutputFormat.PNG),
        ("WebP", OutputFormat.WEBP),
    ],
)
def test_output_format_parse(text: str, expected: OutputFormat) -> None:
    assert OutputFormat.parse(text) is expected


def test_output_format_parse_refuses_unknown() -> None:
    with pytest.raises(InvalidRequest, match="png, jpeg or webp"):
        OutputFormat.parse("gif")


def test_crop_and_size_parse_text() -> None:
    assert Crop.parse("1, 2,30,40") == Crop(1, 2, 30, 40)
    assert Size.parse("1024x768") == Size(1024, 768)
    assert Size.parse("64*32") == Size(64, 32)


@pytest.mark.parametrize("text", ["1,2,3", "a,b,c,d", "-1,0,10,10", "0,0,0,10"])
def test_crop_parse_refuses_bad_text(text: str) -> None:
    with pytest.raises(InvalidRequest, match="crop"):
        Crop.parse(text)


@pytest.mark.parametrize("text", ["1024", "0x10", "axb", "1x2x3"])
def test_size_parse_refuses_bad_text(text: str) -> None:
    with pytest.raises(InvalidRequest, match=r"resize|size"):
        Size.parse(text)


def test_request_is_frozen_and_extra_is_read_only() -> None:
    request = EditRequest(operation=Operation.UPSCALE, image=IMAGE, extra={"a": 1})
    with pytest.raises(FrozenInstanceError):
        request.prompt = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        request.extra["a"] = 2  # type: ignore[index]
