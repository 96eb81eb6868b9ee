"""What ``JobService.submit`` checks before it reserves money: the deployment's tiers (from
``Settings.tiers_file``) and a key for the model's provider."""

from __future__ import annotations

from pathlib import Path

import pytest
from jobs_kit import ESTIMATE_USD, MemoryBlobs, Sessions, StubProvider, adjust_request, fast_config, new_user
from sqlalchemy import func, select

from editstudio.core.errors import ConfigurationError, QuotaExceeded
from editstudio.db.models import Job, LedgerEntry
from editstudio.jobs import JobService
from editstudio.settings import Settings

CLOUD_MODEL = "wavespeed/qwen-image-edit"


def service_for(sessions: Sessions, settings: Settings, resolved: list[str]) -> JobService:
    provider = StubProvider()

    def resolve(model: str) -> StubProvider:
        resolved.append(model)
        return provider

    return JobService(
        sessions,
        MemoryBlobs(),
        settings,
        resolve,
        config=fast_config(),
        estimator=lambda request, model, size: ESTIMATE_USD,
    )


async def rows(sessions: Sessions) -> tuple[int, int]:
    async with sessions() as session:
        jobs = await session.scalar(select(func.count()).select_from(Job))
        ledger = await session.scalar(select(func.count()).select_from(LedgerEntry))
    return int(jobs or 0), int(ledger or 0)


async def test_submit_reserves_against_the_configured_tiers_file(sessions: Sessions, tmp_path: Path) -> None:
    tiers_file = tmp_path / "tiers.toml"
    tiers_file.write_text("[tiers.pro]\nmonthly_edits = 1\n", encoding="utf-8")
    settings = Settings(data_dir=tmp_path / "data", tiers_file=tiers_file)
    service = service_for(sessions, settings, [])
    user = await new_user(sessions, "bob", tier="pro")  # 1000 edits a month by default

    await service.submit(user_id=user, request=adjust_request(seed=1), model="stub/a")
    with pytest.raises(QuotaExceeded):
        await service.submit(user_id=user, request=adjust_request(seed=2), model="stub/a")

    assert service.tiers["pro"].monthly_edits == 1
    assert (await rows(sessions))[0] == 1


def test_the_tiers_file_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("EDITSTUDIO_TIERS_FILE", str(tmp_path / "tiers.toml"))

    assert Settings().tiers_file == tmp_path / "tiers.toml"


@pytest.mark.parametrize(
    ("model", "fallbacks"),
    [(CLOUD_MODEL, []), ("local/engine", [CLOUD_MODEL])],
    ids=["main-model", "fallback-model"],
)
async def test_a_model_whose_provider_has_no_key_is_refused_before_reserving(
    sessions: Sessions, tmp_path: Path, model: str, fallbacks: list[str]
) -> None:
    settings = Settings(data_dir=tmp_path / "data", wavespeed_api_key=None)
    resolved: list[str] = []
    service = service_for(sessions, settings, resolved)
    user = await new_user(sessions, "carol")
    request = adjust_request(fallback_models=fallbacks)

    with pytest.raises(ConfigurationError, match="WAVESPEED_API_KEY") as caught:
        await service.submit(user_id=user, request=request, model=model)

    assert caught.value.details["provider"] == "wavespeed"
    assert CLOUD_MODEL not in resolved  # refused before the provider was even built
    assert await rows(sessions) == (0, 0)  # no job, no reservation in the ledger
