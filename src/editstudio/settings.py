"""One ``Settings`` object: ``EDITSTUDIO_*`` environment variables, provider keys under their usual
names too. Defaults run with zero setup (local engine, data under ``~/.editstudio``)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from editstudio.core.limits import ImageLimits


def _key(name: str) -> AliasChoices:
    return AliasChoices(f"EDITSTUDIO_{name}", name)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EDITSTUDIO_", extra="ignore", populate_by_name=True)

    data_dir: Path = Field(default_factory=lambda: Path.home() / ".editstudio")
    database_url: str | None = None

    max_image_bytes: int = Field(default=ImageLimits().max_bytes, gt=0)
    max_image_pixels: int = Field(default=ImageLimits().max_pixels, gt=0)
    max_image_side: int = Field(default=ImageLimits().max_side, gt=0)
    engine_workers: int = Field(default_factory=lambda: max(1, os.cpu_count() or 1), gt=0)

    job_workers: int = Field(default=2, gt=0)
    job_per_user_concurrency: int = Field(default=2, gt=0)
    job_lease_s: float = Field(default=30.0, gt=0)
    webhook_secret: SecretStr | None = None
    # TOML or JSON overrides of the plans' monthly limits (``accounts.tiers``); None: the defaults.
    tiers_file: Path | None = None

    blob_url: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str | None = None

    wavespeed_api_key: SecretStr | None = Field(default=None, validation_alias=_key("WAVESPEED_API_KEY"))
    wavespeed_base_url: str = "https://api.wavespeed.ai"
    stability_api_key: SecretStr | None = Field(default=None, validation_alias=_key("STABILITY_API_KEY"))
    stability_base_url: str = "https://api.stability.ai"
    openai_api_key: SecretStr | None = Field(default=None, validation_alias=_key("OPENAI_API_KEY"))
    openai_base_url: str = "https://api.openai.com"
    hf_token: SecretStr | None = Field(default=None, validation_alias=_key("HF_TOKEN"))
    huggingface_base_url: str = "https://router.huggingface.co"

    @property
    def image_limits(self) -> ImageLimits:
        return ImageLimits(
            max_bytes=self.max_image_bytes,
            max_pixels=self.max_image_pixels,
            max_side=self.max_image_side,
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once from the environment."""
    return Settings()
