"""Catalogue commands: ``models``, ``recommend``, ``estimate``. They only translate options to the
library (``editstudio.catalog``) and its results to a Rich table or JSON."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from editstudio.catalog import (
    EstimateInput,
    Recommendations,
    configured_providers,
    estimate,
    get_model,
    list_models,
    list_price,
    recommend,
)
from editstudio.catalog.schema import ModelSpec
from editstudio.cli.app import app, console
from editstudio.core.errors import ImageRejected, InvalidRequest
from editstudio.core.operations import Operation
from editstudio.settings import get_settings

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
WidthOpt = Annotated[int | None, typer.Option("--width", min=1, help="Input width in pixels.")]
HeightOpt = Annotated[int | None, typer.Option("--height", min=1, help="Input height in pixels.")]
ImageOpt = Annotated[
    Path | None,
    typer.Option("--image", exists=True, dir_okay=False, help="Read the input size from this file."),
]


@app.command("models")
def models_command(
    op: Annotated[str | None, typer.Option("--op", help="Only models that do this operation.")] = None,
    tier: Annotated[str | None, typer.Option("--tier", help="budget, mid or premium.")] = None,
    max_cost: Annotated[str | None, typer.Option("--max-cost", help="Max USD for one 1024² output.")] = None,
    min_size: Annotated[
        int | None, typer.Option("--min-size", min=1, help="Accepts N×N without downscaling.")
    ] = None,
    provider: Annotated[str | None, typer.Option("--provider", help="Provider slug, e.g. wavespeed.")] = None,
    available: Annotated[
        bool, typer.Option("--available", help="Only providers with a key configured.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """List the catalogue's models."""
    found = list_models(
        operation=Operation.parse(op) if op else None,
        tier=tier,
        max_cost_usd=_decimal(max_cost, "max-cost"),
        min_size=min_size,
        provider=provider,
        available_providers=configured_providers(get_settings()) if available else None,
    )
    if as_json:
        _print_json({"models": [_model_dict(m) for m in found], "count": len(found)})
        return
    table = Table(title=f"{len(found)} models", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("id / operations", overflow="fold")
    for header in ("tier", "price", "side", "verified"):
        table.add_column(header, no_wrap=True)  # short values; let operations take the squeeze

    for model in found:
        table.add_row(
            f"{model.id}\n[dim]{', '.join(o.value for o in model.operations)}[/]",
            model.tier.value,
            f"${list_price(model)}",
            str(model.limits.largest_square_side),
            "yes" if model.verified else "no",
        )
    console.print(table)


@app.command("recommend")
def recommend_command(
    op: Annotated[str, typer.Option("--op", help="The operation, e.g. remove-background.")],
    width: WidthOpt = None,
    height: HeightOpt = None,
    image: ImageOpt = None,
    refs: Annotated[int, typer.Option("--refs", min=0, help="Reference images you will send.")] = 0,
    mask: Annotated[bool, typer.Option("--mask", help="You will send a mask.")] = False,
    tier: Annotated[str, typer.Option("--tier", help="Your plan: free, pro or enterprise.")] = "free",
    budget: Annotated[str | None, typer.Option("--budget", help="USD left to spend.")] = None,
    prefer: Annotated[str, typer.Option("--prefer", help="cost, balanced, quality or speed.")] = "balanced",
    explain: Annotated[bool, typer.Option("--explain", help="Also list excluded models and why.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Rank the models that can do an edit, with reasons."""
    result = recommend(
        Operation.parse(op),
        input_size=_input_size(width, height, image),
        reference_images=refs,
        has_mask=mask,
        user_tier=tier,
        budget_usd=_decimal(budget, "budget"),
        preference=prefer,
        configured_providers=configured_providers(get_settings()),
    )
    if as_json:
        _print_json(result.to_dict(explain=explain))
        return
    _print_recommendations(result, explain=explain)


@app.command("estimate")
def estimate_command(
    model: Annotated[str, typer.Option("--model", help="Catalogue id, e.g. wavespeed/qwen-image-edit.")],
    op: Annotated[str, typer.Option("--op", help="The operation.")],
    width: WidthOpt = None,
    height: HeightOpt = None,
    image: ImageOpt = None,
    quality: Annotated[
        str | None, typer.Option("--quality", help="Quality tier, for quality-priced models.")
    ] = None,
    num_images: Annotated[int, typer.Option("--num-images", min=1, help="Outputs to make.")] = 1,
    as_json: JsonOpt = False,
) -> None:
    """Price one edit on one model, exactly."""
    spec = get_model(model)
    operation = Operation.parse(op)
    if not spec.serves(operation):
        raise InvalidRequest(
            f"{spec.id} does not do {operation.value}", model=spec.id, operation=operation.value
        )
    size = _input_size(width, height, image)
    job = EstimateInput(
        operation=operation, width=size[0], height=size[1], num_outputs=num_images, quality=quality
    )
    result = estimate(job, spec)
    if as_json:
        _print_json(result.to_dict())
        return
    table = Table("line", "USD", title=f"{spec.id}: ${result.total_usd}")
    for line in result.lines:
        table.add_row(line.label, str(line.amount_usd))
    table.add_row("[bold]total[/]", f"[bold]{result.total_usd}[/]")
    console.print(table)
    if not result.verified:
        console.print(f"[yellow]note:[/] {spec.notes}")


def _input_size(width: int | None, height: int | None, image: Path | None) -> tuple[int, int]:
    if image is not None:
        if width is not None or height is not None:
            raise InvalidRequest("give --image or --width/--height, not both", field="image")
        return _image_size(image)
    if width is None or height is None:
        raise InvalidRequest("give --width and --height, or --image", field="input_size")
    return width, height


def _image_size(path: Path) -> tuple[int, int]:
    # Header only: PIL reads the size without decoding pixels (the imaging layer will own this).
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            width, height = img.size
    except (UnidentifiedImageError, OSError) as exc:
        raise ImageRejected(f"{path} is not an image PIL can read: {exc}", field="image") from exc
    return width, height


def _decimal(value: str | None, name: str) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = Decimal(value.strip().lstrip("$"))
    except InvalidOperation:
        raise InvalidRequest(f"--{name} {value!r} is not an amount in USD, e.g. 0.05", field=name) from None
    if not amount.is_finite() or amount < 0:
        raise InvalidRequest(f"--{name} must be a non-negative amount", field=name)
    return amount


def _model_dict(model: ModelSpec) -> dict[str, Any]:
    body: dict[str, Any] = model.model_dump(mode="json")
    body["list_price_usd"] = str(list_price(model))
    body["largest_square_side"] = model.limits.largest_square_side
    return body


def _print_recommendations(result: Recommendations, *, explain: bool) -> None:
    if not result.ranked:
        console.print("[bold red]No model can do this edit with your keys, plan and budget.[/]")
    table = Table("#", title=f"for {result.query.size_text}")
    table.add_column("model", no_wrap=True)
    for header in ("score", "USD", "reason"):
        table.add_column(header)
    for position, rec in enumerate(result.ranked, 1):
        table.add_row(
            str(position), rec.model_id, f"{rec.score:.3f}", str(rec.estimate.total_usd), rec.reason
        )
    if result.ranked:
        console.print(table)
    if explain or not result.ranked:
        excluded = Table(title=f"{len(result.excluded)} excluded")
        excluded.add_column("excluded", no_wrap=True)
        excluded.add_column("why")
        for item in result.excluded:
            excluded.add_row(item.model_id, "; ".join(message for _, message in item.reasons))
        console.print(excluded)


def _print_json(body: dict[str, Any]) -> None:
    # Plain print: Rich would wrap long lines and break the JSON for pipes.
    typer.echo(json.dumps(body, indent=2, ensure_ascii=False))
