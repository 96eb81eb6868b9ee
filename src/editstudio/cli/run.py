"""Running a planned edit: each source through ``run_edit``, each result written atomically.

A single input's failure ends the run with that error's exit code; in a batch a failing file is
reported (file name and message) and the rest still run.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from editstudio.cli.app import console_error, err_console
from editstudio.cli.batch import check_target, mask_for, output_name
from editstudio.cli.files import read_input, write_atomic
from editstudio.core.errors import EditStudioError, InvalidRequest, StorageError
from editstudio.core.provider import Progress as EditProgress
from editstudio.core.request import EditRequest, EditResult
from editstudio.editing import run_edit_sync
from editstudio.imaging import decode_image, load_mask
from editstudio.settings import Settings


@dataclass(frozen=True)
class EditPlan:
    """Everything checked before the first edit: what to read, what to run, where to write."""

    sources: tuple[Path, ...]
    batch: bool  # several inputs (or a folder): a failing file is reported and skipped
    into_folder: bool  # -o is a folder and outputs are named after their inputs
    output: Path
    mask: Path | None  # a mask file for every input, or a folder to pair masks from
    fields: Mapping[str, Any]  # EditRequest fields other than image and mask
    protected: tuple[Path, ...]  # files this run reads, never written over
    model: str | None
    overwrite: bool


Emitter = Callable[[Path, Path, EditResult], None]


def run_plan(plan: EditPlan, settings: Settings, *, emit: Emitter) -> int:
    """Edit every source; returns how many failed. A single input's failure raises ``typer.Exit``."""
    if plan.batch:
        return _run_batch(plan, settings, emit)
    source = plan.sources[0]
    try:
        result = edit_file(source, plan, settings)
        target = target_for(plan, source, result)
        write_result(result, target, plan)
    except EditStudioError as exc:
        console_error(f"{source}: {exc.message}")
        raise typer.Exit(exc.exit_code) from exc
    emit(source, target, result)
    return 0


def target_for(plan: EditPlan, source: Path, result: EditResult) -> Path:
    """Where ``source``'s result goes: ``-o`` itself, or ``<stem>.<ext>`` inside the ``-o`` folder."""
    return plan.output / output_name(source, result.format) if plan.into_folder else plan.output


def _run_batch(plan: EditPlan, settings: Settings, emit: Emitter) -> int:
    try:
        plan.output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"cannot create folder {plan.output}: {exc.strerror or exc}") from exc
    failed = 0
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        redirect_stdout=False,  # --json lines must stay on stdout
        redirect_stderr=False,
    )
    with progress:
        task = progress.add_task("editing", total=len(plan.sources))
        for source in plan.sources:

            def on_progress(step: EditProgress, name: str = source.name) -> None:
                progress.update(task, description=f"{name}: {step.stage}")

            progress.update(task, description=source.name)
            try:
                result = edit_file(source, plan, settings, progress=on_progress)
                target = target_for(plan, source, result)
                write_result(result, target, plan)
            except EditStudioError as exc:
                failed += 1
                console_error(f"{source}: {exc.message}")
            else:
                emit(source, target, result)
            progress.advance(task)
        progress.update(task, description="done")
    written = len(plan.sources) - failed
    summary = f"{written} of {len(plan.sources)} written to {plan.output}"
    err_console.print(summary + (f"; {failed} failed" if failed else ""), highlight=False, soft_wrap=True)
    return failed


def edit_file(
    source: Path,
    plan: EditPlan,
    settings: Settings,
    *,
    progress: Callable[[EditProgress], None] | None = None,
) -> EditResult:
    """Read, check and edit one source. Decoding here first means a bad file costs no model call."""
    limits = settings.image_limits
    image = read_input(source, what="image")
    decoded = decode_image(image, limits)
    mask_path = mask_for(source, plan.mask)
    mask = read_input(mask_path, what="mask") if mask_path is not None else None
    if mask is not None:
        load_mask(mask, (decoded.width, decoded.height), limits)
    request = EditRequest(image=image, mask=mask, **plan.fields)
    return run_edit_sync(request, model=plan.model, settings=settings, progress=progress)


def write_result(result: EditResult, target: Path, plan: EditPlan) -> None:
    """Write the result's bytes to ``target`` atomically, after the overwrite checks."""
    wanted = plan.fields.get("output_format")
    if wanted is not None and result.format is not wanted:
        raise InvalidRequest(
            f"the model returned {result.format.value} but {wanted.value} was asked for",
            field="output_format",
        )
    check_target(target, plan.protected, overwrite=plan.overwrite)
    write_atomic(target, result.image)


def json_emitter() -> Emitter:
    def emit(source: Path, target: Path, result: EditResult) -> None:
        typer.echo(json.dumps(result_record(source, target, result)))

    return emit


def human_emitter() -> Emitter:
    def emit(source: Path, target: Path, result: EditResult) -> None:
        err_console.print(
            f"wrote {target} ({result.width}×{result.height} {result.format.value}, {result.model})",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )

    return emit


def result_record(source: Path, target: Path, result: EditResult) -> dict[str, Any]:
    """The ``--json`` line for one written result."""
    return {
        "input": str(source),
        "path": str(target),
        "width": result.width,
        "height": result.height,
        "format": result.format.value,
        "provider": result.provider,
        "model": result.model,
        "cost_usd": str(result.cost_usd),
        "timings_ms": dict(result.timings_ms),
    }
