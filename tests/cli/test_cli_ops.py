"""``editstudio ops``: every operation, its fields, and which the local engine runs."""

from __future__ import annotations

import json

from typer.testing import CliRunner, Result

from editstudio.cli.app import app
from editstudio.core.operations import OPERATION_SPECS, Operation
from editstudio.engine.local import LocalEngine


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "300"})


def test_json_lists_every_operation_in_order() -> None:
    result = invoke("ops", "--json")
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    assert [r["operation"] for r in records] == [op.value for op in Operation]
    assert len(records) == 12


def test_json_fields_come_from_the_operation_specs() -> None:
    records = {r["operation"]: r for r in json.loads(invoke("ops", "--json").stdout)}
    for op, spec in OPERATION_SPECS.items():
        record = records[op.value]
        assert record["label"] == spec.label
        assert record["description"] == spec.description
        assert [set(group) for group in record["required"]] == [set(group) for group in spec.required]
        assert set(record["allowed"]) == spec.allowed


def test_json_marks_what_the_local_engine_serves() -> None:
    records = json.loads(invoke("ops", "--json").stdout)
    engine = LocalEngine()
    assert {r["operation"]: r["local"] for r in records} == {
        op.value: engine.supports(op) for op in Operation
    }
    assert any(r["local"] for r in records) and not all(r["local"] for r in records)


def test_table_has_a_row_per_operation_marked_local_or_not() -> None:
    result = invoke("ops")
    assert result.exit_code == 0, result.output
    engine = LocalEngine()
    lines = result.stdout.splitlines()
    for op in Operation:
        (row,) = [line for line in lines if line.strip("│┃ ").startswith(op.value + " ")]
        cells = [cell.strip() for cell in row.split("│") if cell.strip()]
        assert cells[-1] == ("yes" if engine.supports(op) else "no"), row
        assert OPERATION_SPECS[op].label in row


def test_help_explains_the_json_flag() -> None:
    result = invoke("ops", "--help")
    assert result.exit_code == 0
    assert "--json" in result.stdout and "local" in result.stdout
    assert "Examples:" in result.stdout


def test_version_flag_prints_the_package_version() -> None:
    import editstudio

    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"editstudio {editstudio.__version__}"
