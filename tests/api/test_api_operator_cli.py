"""The operator commands: users create/list/token/revoke, usage, jobs, and serve's refusal."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from editstudio.cli import admin as _admin  # noqa: F401  (registers commands)
from editstudio.cli import serve as _serve  # noqa: F401  (registers commands)
from editstudio.cli.app import app
from editstudio.settings import get_settings

runner = CliRunner()


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("EDITSTUDIO_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("EDITSTUDIO_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def _token_line(output: str) -> str:
    return next(line for line in output.splitlines() if line.startswith("es_"))


def test_users_create_prints_a_token_once_and_list_shows_only_its_prefix() -> None:
    created = runner.invoke(app, ["users", "create", "alice", "--tier", "pro"])
    assert created.exit_code == 0, created.output
    token = _token_line(created.output)
    listed = runner.invoke(app, ["users", "list", "--json"])
    assert listed.exit_code == 0
    body = json.loads(listed.output)
    assert [u["name"] for u in body["data"]] == ["alice"]
    assert token not in listed.output and body["data"][0]["tokens"][0]["prefix"] == token[:10]


def test_token_and_revoke() -> None:
    assert runner.invoke(app, ["users", "create", "bob", "--no-token"]).exit_code == 0
    issued = runner.invoke(app, ["users", "token", "bob"])
    assert issued.exit_code == 0 and _token_line(issued.output)
    token_id = json.loads(runner.invoke(app, ["users", "list", "--json"]).output)["data"][0]["tokens"][0][
        "id"
    ]
    revoked = runner.invoke(app, ["users", "revoke", token_id])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    after = json.loads(runner.invoke(app, ["users", "list", "--json"]).output)
    assert after["data"][0]["tokens"][0]["revoked"] is True


def test_unknown_user_exits_not_found() -> None:
    result = runner.invoke(app, ["users", "token", "nobody"])
    assert result.exit_code == 4 and "no user named" in result.output


def test_usage_and_jobs_for_a_fresh_user() -> None:
    runner.invoke(app, ["users", "create", "carol"])
    usage = runner.invoke(app, ["usage", "--json"])
    assert usage.exit_code == 0, usage.output
    row = json.loads(usage.output)["data"][0]
    assert row["user"] == "carol" and row["edits_used"] == 0 and row["edits_remaining"] == 50
    jobs = runner.invoke(app, ["jobs", "--json"])
    assert jobs.exit_code == 0, jobs.output
    assert json.loads(jobs.output) == {"data": [], "count": 0}


def test_serve_on_a_public_address_refuses_without_users() -> None:
    result = runner.invoke(app, ["serve", "--host", "0.0.0.0", "--port", "0"])
    assert result.exit_code == 3
    assert "editstudio users create" in result.output
