"""``editstudio edit``: one image or a batch, through the library's ``run_edit`` like every caller.

A run has two phases. Planning checks everything that applies to the whole run (operation,
fields, flag values, shared files, model, output names) and writes nothing; any error there ends
the run with that error's exit code. Then ``cli.run`` edits each input and writes it atomically; in a
batch a failing file is reported and skipped.

Exit codes: 0 when every input was written; for a single input, the failing
``EditStudioError``'s ``exit_code`` (2 for a bad request or image, 4 for an unknown model, 8 for a
provider failure...); for a batch with any failed file, 1.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from editstudio.cli.app import app, exit_on_error
from editstudio.cli.batch import (
    check_target,
    check_unique_stems,
    collect_inputs,
    drop_paired_masks,
    format_for_file,
    is_batch,
)
from editstudio.cli.files import read_input
from editstudio.cli.run import EditPlan, human_emitter, json_emitter, run_plan
from editstudio.core.errors import (
    InvalidRequest,
    MissingField,
    UnsupportedOperation,
    UnsupportedParameter,
)
from editstudio.core.operations import Operation
from editstudio.core.request import (
    DEFAULT_QUALITY,
    MAX_EXPAND_PX,
    MAX_PROMPT_CHARS,
    MAX_REFERENCE_IMAGES,
    MAX_SEED,
    Crop,
    EditRequest,
    OutputFormat,
    Size,
)
from editstudio.editing import LOCAL_MODEL_ID
from editstudio.imaging import decode_image
from editstudio.settings import Settings, get_settings

PARTIAL_FAILURE_EXIT_CODE = 1
# Stands in for image bytes while the fields are checked before any file is read.
_PLACEHOLDER = b"\x00"

_EXAMPLES = (
    "editstudio edit photo.jpg --op remove-background -o cutout.png",
    "editstudio edit photo.jpg --op erase --mask photo_mask.png -o clean.jpg",
    "editstudio edit shots/ --op erase --mask masks/ -o cleaned/ --json",
    "editstudio edit photo.png --op outpaint --expand-left 256 --expand-right 256 -o wide.png",
    "editstudio edit photo.png --op adjust --brightness 1.2 --crop 0,0,800,600 --resize 400x300 "
    "-o small.webp",
    'editstudio edit room.png --op general-edit --prompt "make the sofa green velvet" '
    "--model wavespeed/flux-kontext-pro -o new.jpg",
)
EDIT_EPILOG = "\n\n".join(
    (
        "Examples:",
        *(f"  {example}" for example in _EXAMPLES),
        "Batch: a folder input takes its png/jpg/jpeg/webp/gif/tif/tiff/bmp files, sorted by name. "
        "With --mask FOLDER, photo.png's mask is photo_mask.* or photo.mask.*, else photo.png, "
        "else photo.* in that folder. Outputs are named <stem>.<ext> in the -o folder.",
        "Exit codes: 0 all written; a single input's failure exits with its error's code "
        "(2 bad request or image, 3 configuration, 4 unknown model, 5 auth, 6 budget or quota, "
        "8 provider, 9 storage); a batch with any failed file exits 1.",
    )
)

_PROMPT = f"up to {MAX_PROMPT_CHARS:,} characters"


@app.command("edit", epilog=EDIT_EPILOG, no_args_is_help=True)
def edit_command(  # one parameter per flag: the request's fields are the CLI's surface
    inputs: Annotated[
        list[Path],
        typer.Argument(
            metavar="IN",
            help="Image files (png, jpeg, webp, gif, tiff, bmp) and/or folders of images.",
            show_default=False,
        ),
    ],
    op: Annotated[
        str,
        typer.Option(
            "--op",
            help="Operation, e.g. erase or remove-background (- and _ both work); "
            "list them with: editstudio ops.",
            show_default=False,
        ),
    ],
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="Output file for one input (.png, .jpg, .jpeg or .webp: the extension picks the "
            "format), or a folder for a batch (created if missing).",
            show_default=False,
        ),
    ],
    model: Annotated[
        str | None,
        typer.Option(
            help=f"Catalogue model id, e.g. wavespeed/flux-kontext-pro (see: editstudio models). "
            f"Default: the offline local engine ({LOCAL_MODEL_ID}).",
            show_default=False,
        ),
    ] = None,
    mask: Annotated[
        Path | None,
        typer.Option(
            help="Mask image, white (or transparent) = edit, same aspect ratio as the input; "
            "or a folder of masks paired by file name for a batch.",
            show_default=False,
        ),
    ] = None,
    reference_image: Annotated[
        list[Path] | None,
        typer.Option(
            "--reference-image",
            metavar="FILE",
            help=f"Reference image file for style or content; repeat for several "
            f"(at most {MAX_REFERENCE_IMAGES}).",
            show_default=False,
        ),
    ] = None,
    prompt: Annotated[
        str | None, typer.Option(help=f"What the result should show ({_PROMPT}).", show_default=False)
    ] = None,
    negative_prompt: Annotated[
        str | None, typer.Option(help=f"What the result should avoid ({_PROMPT}).", show_default=False)
    ] = None,
    search_prompt: Annotated[
        str | None,
        typer.Option(
            "--search-prompt",
            "--select-prompt",
            help=f"The object to find for search_replace/search_recolor, e.g. 'the red car' "
            f"({_PROMPT}); alias --select-prompt.",
            show_default=False,
        ),
    ] = None,
    background_image: Annotated[
        Path | None,
        typer.Option(help="New background image file for replace_background.", show_default=False),
    ] = None,
    background_color: Annotated[
        str | None,
        typer.Option(
            help="New background colour for replace_background: a name (teal) or hex (#1e90ff).",
            show_default=False,
        ),
    ] = None,
    expand_left: Annotated[
        int, typer.Option(help=f"Pixels to add on the left for outpaint (0-{MAX_EXPAND_PX}).")
    ] = 0,
    expand_right: Annotated[
        int, typer.Option(help=f"Pixels to add on the right for outpaint (0-{MAX_EXPAND_PX}).")
    ] = 0,
    expand_up: Annotated[
        int, typer.Option(help=f"Pixels to add at the top for outpaint (0-{MAX_EXPAND_PX}).")
    ] = 0,
    expand_down: Annotated[
        int, typer.Option(help=f"Pixels to add at the bottom for outpaint (0-{MAX_EXPAND_PX}).")
    ] = 0,
    seed: Annotated[
        int | None,
        typer.Option(help=f"Random seed for repeatable results (0-{MAX_SEED}).", show_default=False),
    ] = None,
    guidance: Annotated[
        float | None,
        typer.Option(
            help="How closely to follow the prompt (0.0-50.0; model default if unset).", show_default=False
        ),
    ] = None,
    steps: Annotated[
        int | None,
        typer.Option(help="Inference steps for generative models (1-200).", show_default=False),
    ] = None,
    scale: Annotated[
        int | None, typer.Option(help="Upscale factor: 2 or 4 (default 2).", show_default=False)
    ] = None,
    brightness: Annotated[
        float | None,
        typer.Option(help="Brightness factor for adjust (0.0-10.0; 1.0 = unchanged).", show_default=False),
    ] = None,
    contrast: Annotated[
        float | None,
        typer.Option(help="Contrast factor for adjust (0.0-10.0; 1.0 = unchanged).", show_default=False),
    ] = None,
    saturation: Annotated[
        float | None,
        typer.Option(
            help="Saturation factor for adjust (0.0-10.0; 0 = grey, 1.0 = unchanged).", show_default=False
        ),
    ] = None,
    sharpness: Annotated[
        float | None,
        typer.Option(help="Sharpness factor for adjust (0.0-10.0; 1.0 = unchanged).", show_default=False),
    ] = None,
    rotate: Annotated[
        float | None,
        typer.Option(
            help="Rotation for adjust, degrees counter-clockwise (-360 to 360).", show_default=False
        ),
    ] = None,
    crop: Annotated[
        str | None,
        typer.Option(
            metavar="L,T,W,H",
            help="Crop for adjust: left,top,width,height in pixels, e.g. 0,0,800,600.",
            show_default=False,
        ),
    ] = None,
    resize: Annotated[
        str | None,
        typer.Option(metavar="WxH", help="Resize for adjust, in pixels, e.g. 1024x768.", show_default=False),
    ] = None,
    output_format: Annotated[
        str | None,
        typer.Option(
            help="png, jpeg (or jpg) or webp. Default: the -o extension for one input; "
            "otherwise the input's format (png when the result has transparency).",
            show_default=False,
        ),
    ] = None,
    output_quality: Annotated[
        int | None,
        typer.Option(
            help=f"JPEG/WebP quality, 1-100 (100 = lossless WebP; default {DEFAULT_QUALITY}).",
            show_default=False,
        ),
    ] = None,
    extra: Annotated[
        list[str] | None,
        typer.Option(
            metavar="KEY=VALUE",
            help="Model-specific parameter, repeatable; VALUE is read as JSON when it parses "
            "(e.g. strength=0.8, safe=true), else as text.",
            show_default=False,
        ),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace existing output files (never an input file).")
    ] = False,
    json_output: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print one JSON line per written result on stdout: input, path, width, height, "
            "format, provider, model, cost_usd (a string), timings_ms.",
        ),
    ] = False,
) -> None:
    """Edit one image, several, or a folder of images with one operation."""
    with exit_on_error():
        flags: dict[str, Any] = {
            "prompt": prompt,
            "negative_prompt": negative_prompt,
            "search_prompt": search_prompt,
            "background_color": background_color,
            "expand_left": expand_left,
            "expand_right": expand_right,
            "expand_up": expand_up,
            "expand_down": expand_down,
            "seed": seed,
            "guidance": guidance,
            "steps": steps,
            "scale": scale,
            "brightness": brightness,
            "contrast": contrast,
            "saturation": saturation,
            "sharpness": sharpness,
            "rotate": rotate,
        }
        settings = get_settings()
        references = reference_image or []
        fields = parse_fields(
            op,
            flags,
            crop=crop,
            resize=resize,
            output_format=output_format,
            output_quality=output_quality,
            extra=extra or [],
        )
        check_fields(fields, mask=mask, references=references, background=background_image)
        shared = read_shared(references, background_image, settings)
        check_shared_mask(mask, settings)
        plan = plan_edit(
            inputs,
            output=output,
            mask=mask,
            fields={**fields, **shared},
            shared_paths=[*references, *([background_image] if background_image else [])],
            model=model,
            overwrite=overwrite,
        )
        check_model(plan.model, fields["operation"], settings)
        failed = run_plan(plan, settings, emit=json_emitter() if json_output else human_emitter())
    if failed:
        raise typer.Exit(PARTIAL_FAILURE_EXIT_CODE)


def parse_fields(
    op: str,
    flags: Mapping[str, Any],
    *,
    crop: str | None,
    resize: str | None,
    output_format: str | None,
    output_quality: int | None,
    extra: Sequence[str],
) -> dict[str, Any]:
    """The flags as ``EditRequest`` keyword arguments, with the text-valued ones parsed."""
    fields: dict[str, Any] = {"operation": Operation.parse(op), **flags}
    fields["crop"] = Crop.parse(crop) if crop is not None else None
    fields["resize"] = Size.parse(resize) if resize is not None else None
    fields["output_format"] = OutputFormat.parse(output_format) if output_format is not None else None
    fields["output_quality"] = DEFAULT_QUALITY if output_quality is None else output_quality
    fields["extra"] = parse_extra(extra)
    return fields


def parse_extra(items: Sequence[str]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs; a VALUE that parses as JSON is decoded, anything else stays text."""
    extra: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise InvalidRequest(f"--extra {item!r} must look like KEY=VALUE", field="extra")
        try:
            extra[key.strip()] = json.loads(text)
        except ValueError:
            extra[key.strip()] = text
    return extra


def plan_edit(
    inputs: Sequence[Path],
    *,
    output: Path,
    mask: Path | None,
    fields: Mapping[str, Any],
    shared_paths: Sequence[Path],
    model: str | None,
    overwrite: bool,
) -> EditPlan:
    """Check the whole run before any edit: inputs exist, fields fit the operation, outputs are free."""
    if mask is not None and not mask.exists():
        raise InvalidRequest(f"mask {mask} does not exist", field="mask")
    sources = collect_inputs(inputs)
    if mask is not None and mask.is_dir():
        sources = drop_paired_masks(sources, mask)
    batch = is_batch(inputs)
    protected = (*sources, *shared_paths, *([mask] if mask is not None and mask.is_file() else []))
    if batch:
        check_unique_stems(sources)
        if output.exists() and not output.is_dir():
            raise InvalidRequest(f"-o {output} must be a folder for several inputs", field="output")
    elif not output.is_dir():
        fields = {**fields, "output_format": format_for_file(output, fields.get("output_format"))}
        check_target(output, protected, overwrite=overwrite)
    return EditPlan(
        sources=tuple(sources),
        batch=batch,
        into_folder=batch or output.is_dir(),
        output=output,
        mask=mask,
        fields=fields,
        protected=protected,
        model=model,
        overwrite=overwrite,
    )


def check_model(model: str | None, operation: Operation, settings: Settings) -> None:
    """Fail before any edit when the model is unknown, unconfigured, or cannot do the operation."""
    from editstudio.providers.registry import provider_for

    model_id = model or LOCAL_MODEL_ID
    if not provider_for(model_id, settings).supports(operation):
        raise UnsupportedOperation(
            f"{model_id} cannot do {operation.value}; pick another model with --model "
            "(editstudio recommend lists the ones that can)",
            operation=operation.value,
            model=model_id,
        )


def check_fields(
    fields: Mapping[str, Any], *, mask: Path | None, references: Sequence[Path], background: Path | None
) -> None:
    """Validate the fields against the operation once, before any file is read."""
    try:
        EditRequest(
            image=_PLACEHOLDER,
            mask=_PLACEHOLDER if mask is not None else None,
            reference_images=tuple(_PLACEHOLDER for _ in references),
            background_image=_PLACEHOLDER if background is not None else None,
            **fields,
        )
    except (MissingField, UnsupportedParameter) as exc:
        # The core names request fields; on the command line the user needs the flags.
        if isinstance(exc, MissingField):
            hint = "pass " + " or ".join(flag_for(name) for name in exc.details.get("field", []))
        else:
            hint = "drop " + ", ".join(flag_for(name) for name in exc.details.get("fields", []))
        raise type(exc)(f"{exc.message} ({hint})", **exc.details) from exc


def flag_for(field: str) -> str:
    """The command-line flag that sets an ``EditRequest`` field."""
    return "--reference-image" if field == "reference_images" else "--" + field.replace("_", "-")


def read_shared(references: Sequence[Path], background: Path | None, settings: Settings) -> dict[str, Any]:
    """Files every edit of the run uses, read and checked once."""
    limits = settings.image_limits
    shared: dict[str, Any] = {}
    if references:
        images = tuple(read_input(p, what="reference image") for p in references)
        for path, data in zip(references, images, strict=True):
            decode_image(data, limits, what=f"reference image {path.name}")
        shared["reference_images"] = images
    if background is not None:
        data = read_input(background, what="background image")
        decode_image(data, limits, what=f"background image {background.name}")
        shared["background_image"] = data
    return shared


def check_shared_mask(mask: Path | None, settings: Settings) -> None:
    """A ``--mask`` file serves every input, so a broken one fails the run, not each file."""
    if mask is not None and mask.is_file():
        decode_image(read_input(mask, what="mask"), settings.image_limits, what=f"mask {mask.name}")
