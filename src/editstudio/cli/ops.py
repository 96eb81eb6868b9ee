"""``editstudio ops``: the operations, what each needs and allows, and which run offline."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from editstudio.cli.app import app, console
from editstudio.core.operations import COMMON_FIELDS, OPERATION_SPECS, OperationSpec

OPS_EPILOG = "Examples:\n\n  editstudio ops\n\n  editstudio ops --json | jq '.[] | select(.local)'"


@app.command("ops", epilog=OPS_EPILOG)
def ops_command(
    json_output: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print one JSON array: operation, label, description, required (groups of fields, "
            "one of each group needed), allowed (fields), local (bool).",
        ),
    ] = False,
) -> None:
    """List the editing operations, their required and allowed fields, and which the local engine runs."""
    records = operation_records()
    if json_output:
        typer.echo(json.dumps(records))
        return
    console.print(_table(records))
    console.print(
        f"Every operation also takes: {', '.join(sorted(COMMON_FIELDS))}. "
        "local = runs offline with no key (the default model).",
        highlight=False,
        soft_wrap=True,
    )


def operation_records() -> list[dict[str, Any]]:
    """One record per operation, in the order ``Operation`` declares them."""
    from editstudio.engine.local import LocalEngine  # lazily: the engine is the heaviest import

    engine = LocalEngine()
    return [_record(spec, engine.supports(spec.operation)) for spec in OPERATION_SPECS.values()]


def _record(spec: OperationSpec, local: bool) -> dict[str, Any]:
    return {
        "operation": spec.operation.value,
        "label": spec.label,
        "description": spec.description,
        "required": [sorted(group) for group in spec.required],
        "allowed": sorted(spec.allowed),
        "local": local,
    }


def _table(records: list[dict[str, Any]]) -> Table:
    table = Table("operation", "what it does", "requires", "also allows", "local", title="Operations")
    for record in records:
        required = {field for group in record["required"] for field in group}
        optional = sorted(set(record["allowed"]) - required - COMMON_FIELDS)
        table.add_row(
            record["operation"],
            f"{record['label']}: {record['description']}",
            "; ".join(" or ".join(group) for group in record["required"]) or "-",
            ", ".join(optional) or "-",
            "yes" if record["local"] else "no",
        )
    return table
