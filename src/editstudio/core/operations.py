"""The editing operations and which request fields each one requires and allows."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Operation(StrEnum):
    GENERAL_EDIT = "general_edit"
    INPAINT = "inpaint"
    ERASE = "erase"
    OUTPAINT = "outpaint"
    REMOVE_BACKGROUND = "remove_background"
    REPLACE_BACKGROUND = "replace_background"
    SEARCH_REPLACE = "search_replace"
    SEARCH_RECOLOR = "search_recolor"
    UPSCALE = "upscale"
    STYLE_TRANSFER = "style_transfer"
    TEXT_EDIT = "text_edit"
    ADJUST = "adjust"

    @classmethod
    def parse(cls, value: str | Operation) -> Operation:
        """Accept ``remove_background``, ``remove-background`` or ``Remove Background``."""
        if isinstance(value, Operation):
            return value
        key = value.strip().lower().replace("-", "_").replace(" ", "_")
        try:
            return cls(key)
        except ValueError:
            from editstudio.core.errors import UnsupportedOperation

            known = ", ".join(op.value for op in cls)
            raise UnsupportedOperation(
                f"unknown operation {value!r}; choose one of: {known}", operation=value
            ) from None


# Fields any operation may carry: they shape the output, not the edit.
COMMON_FIELDS: frozenset[str] = frozenset({"output_format", "output_quality", "seed", "extra"})
EXPAND_FIELDS: frozenset[str] = frozenset({"expand_left", "expand_right", "expand_up", "expand_down"})
ADJUST_FIELDS: frozenset[str] = frozenset(
    {"brightness", "contrast", "saturation", "sharpness", "rotate", "crop", "resize"}
)
GENERATIVE_FIELDS: frozenset[str] = frozenset({"negative_prompt", "guidance", "steps"})


@dataclass(frozen=True)
class OperationSpec:
    """What an operation needs.

    ``required`` is a tuple of groups; each group must have at least one field set, so
    ``({"prompt"}, {"search_prompt", "mask"})`` reads "a prompt, and a search prompt or a mask".
    """

    operation: Operation
    label: str
    description: str
    required: tuple[frozenset[str], ...]
    optional: frozenset[str]

    @property
    def allowed(self) -> frozenset[str]:
        required = frozenset().union(*self.required) if self.required else frozenset()
        return required | self.optional | COMMON_FIELDS

    def describe_required(self) -> list[str]:
        return [" or ".join(sorted(group)) for group in self.required]


def _spec(
    op: Operation,
    label: str,
    description: str,
    required: tuple[set[str], ...] = (),
    optional: set[str] | frozenset[str] = frozenset(),
) -> OperationSpec:
    return OperationSpec(
        operation=op,
        label=label,
        description=description,
        required=tuple(frozenset(group) for group in required),
        optional=frozenset(optional),
    )


OPERATION_SPECS: dict[Operation, OperationSpec] = {
    spec.operation: spec
    for spec in (
        _spec(
            Operation.GENERAL_EDIT,
            "Prompt edit",
            "Change the image as the prompt says (cloud models only).",
            required=({"prompt"},),
            optional={"mask", "reference_images", *GENERATIVE_FIELDS},
        ),
        _spec(
            Operation.INPAINT,
            "Inpaint",
            "Repaint the masked region as the prompt describes.",
            required=({"mask"}, {"prompt"}),
            optional={"reference_images", *GENERATIVE_FIELDS},
        ),
        _spec(
            Operation.ERASE,
            "Erase",
            "Remove what the mask covers and fill it from its surroundings.",
            required=({"mask"},),
        ),
        _spec(
            Operation.OUTPAINT,
            "Outpaint",
            "Extend the canvas by the given pixels per side and fill the new area.",
            required=(set(EXPAND_FIELDS),),
            optional={"prompt", "negative_prompt"},
        ),
        _spec(
            Operation.REMOVE_BACKGROUND,
            "Remove background",
            "Cut the subject out onto a transparent background (PNG or WebP).",
        ),
        _spec(
            Operation.REPLACE_BACKGROUND,
            "Replace background",
            "Put the subject over a new background image, colour, or prompted scene.",
            required=({"background_image", "background_color", "prompt"},),
            optional={"negative_prompt", "mask"},
        ),
        _spec(
            Operation.SEARCH_REPLACE,
            "Search and replace",
            "Find an object (by search prompt or mask) and replace it with the prompt.",
            required=({"prompt"}, {"search_prompt", "mask"}),
            optional={"negative_prompt"},
        ),
        _spec(
            Operation.SEARCH_RECOLOR,
            "Search and recolour",
            "Recolour an object (by search prompt or mask) to the colour in the prompt.",
            required=({"prompt"}, {"search_prompt", "mask"}),
            optional={"negative_prompt"},
        ),
        _spec(
            Operation.UPSCALE,
            "Upscale",
            "Enlarge the image 2x or 4x with detail recovery.",
            optional={"scale", "prompt"},
        ),
        _spec(
            Operation.STYLE_TRANSFER,
            "Style transfer",
            "Restyle the image after a prompt or a reference image.",
            required=({"prompt", "reference_images"},),
            optional={"reference_images", *GENERATIVE_FIELDS},
        ),
        _spec(
            Operation.TEXT_EDIT,
            "Text edit",
            "Change, add or remove text in the image as the prompt says.",
            required=({"prompt"},),
            optional={"mask", *GENERATIVE_FIELDS},
        ),
        _spec(
            Operation.ADJUST,
            "Adjust",
            "Brightness, contrast, saturation, sharpness, rotate, crop, resize.",
            required=(set(ADJUST_FIELDS),),
        ),
    )
}


def spec_for(operation: Operation | str) -> OperationSpec:
    return OPERATION_SPECS[Operation.parse(operation)]
