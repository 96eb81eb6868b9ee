"""Tier limits and their overrides, and the Decimal <-> micro-dollar conversion."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from editstudio.accounts import (
    DEFAULT_TIERS,
    load_tiers,
    micros_to_usd,
    tier_for,
    usd_to_micros,
)
from editstudio.core.errors import ConfigurationError, InvalidRequest
from editstudio.settings import Settings


def test_defaults_cap_free_and_leave_enterprise_unlimited() -> None:
    assert (DEFAULT_TIERS["free"].monthly_edits, DEFAULT_TIERS["free"].monthly_usd) == (50, Decimal(0))
    assert (DEFAULT_TIERS["pro"].monthly_edits, DEFAULT_TIERS["pro"].monthly_usd) == (1000, Decimal(50))
    assert (DEFAULT_TIERS["enterprise"].monthly_edits, DEFAULT_TIERS["enterprise"].monthly_usd) == (
        None,
        None,
    )


def test_toml_overrides_merge_field_by_field_and_add_tiers(tmp_path: Path) -> None:
    path = tmp_path / "tiers.toml"
    path.write_text(
        '[tiers.pro]\nmonthly_usd = "75.5"\n[tiers.team]\nmonthly_edits = "unlimited"\nmonthly_usd = 200\n'
    )

    tiers = load_tiers(path)

    assert (tiers["pro"].monthly_edits, tiers["pro"].monthly_usd) == (1000, Decimal("75.5"))
    assert (tiers["team"].monthly_edits, tiers["team"].monthly_usd) == (None, Decimal(200))
    assert tiers["free"] == DEFAULT_TIERS["free"]


def test_json_file_named_by_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "tiers.json"
    path.write_text(json.dumps({"tiers": {"free": {"monthly_edits": 5, "monthly_usd": None}}}))
    monkeypatch.setenv("EDITSTUDIO_TIERS_FILE", str(path))

    free = load_tiers(Settings().tiers_file)["free"]

    assert (free.monthly_edits, free.monthly_usd) == (5, None)


def test_no_file_means_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EDITSTUDIO_TIERS_FILE", raising=False)
    assert load_tiers(Settings().tiers_file) is DEFAULT_TIERS


@pytest.mark.parametrize(
    "body",
    [
        "[tiers.pro]\nmonthly_edits = -1\n",
        "[tiers.pro]\nmonthly_edits = 1.5\n",
        '[tiers.pro]\nmonthly_usd = "lots"\n',
        '[tiers.pro]\nmonthly_usd = "-3"\n',
        "[tiers.pro]\nmonthly_spend = 3\n",
        "[tiers]\npro = 3\n",
        "[limits]\n",
        "not toml [",
    ],
)
def test_bad_tier_files_are_configuration_errors(tmp_path: Path, body: str) -> None:
    path = tmp_path / "tiers.toml"
    path.write_text(body)
    with pytest.raises(ConfigurationError):
        load_tiers(path)


def test_a_missing_file_or_tier_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        load_tiers(tmp_path / "absent.toml")
    with pytest.raises(ConfigurationError):
        tier_for(DEFAULT_TIERS, "gold")


@pytest.mark.parametrize(
    ("usd", "micros"),
    [(Decimal("0"), 0), (Decimal("0.04"), 40_000), (Decimal("12.345678"), 12_345_678), ("0.0000005", 1)],
)
def test_dollars_convert_to_whole_micros(usd: Decimal | str, micros: int) -> None:
    assert usd_to_micros(usd) == micros
    assert micros_to_usd(micros) == Decimal(usd).quantize(Decimal("0.000001"), rounding="ROUND_HALF_UP")


@pytest.mark.parametrize("bad", ["-0.01", "NaN", "Infinity", "abc"])
def test_negative_or_non_finite_dollars_are_refused(bad: str) -> None:
    with pytest.raises(InvalidRequest):
        usd_to_micros(bad)
