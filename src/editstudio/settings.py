"""One ``Settings`` object: ``EDITSTUDIO_*`` environment variables, provider keys under their usual
names too. Defaults run with zero setup (local engine, data under ``~/.editstudio``)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from editstudio.core.limits import ImageLimits

# Where WaveSpeed's signed webhooks land (``api/routes/webhooks.py`` serves it under the API prefix).
WAVESPEED_WEBHOOK_PATH = "/api/image-studio/webhooks/wavespeed"


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
    # The base URL at which providers can reach this server (``https://studio.example.com``); with a
    # provider's webhook secret it turns that provider's signed webhooks on.
    public_url: str | None = None
    # TOML or JSON overrides of the plans' monthly limits (``accounts.tiers``); None: the defaults.
    tiers_file: Path | None = None

    blob_url: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str | None = None

    wavespeed_api_key: SecretStr | None = Field(default=None, validation_alias=_key("WAVESPEED_API_KEY"))
    wavespeed_base_url: str = "https://api.wavespeed.ai"
    # The ``whsec_...`` value of WaveSpeed's ``GET /api/v3/webhook/secret``, prefix included.
    wavespeed_webhook_secret: SecretStr | None = Field(
        default=None, validation_alias=_key("WAVESPEED_WEBHOOK_SECRET")
    )
    # The first wait between polls of a prediction; it grows x1.5 up to max(5 s, this). A webhook
    # cuts any wait short, so with webhooks on it can be long.
    wavespeed_poll_interval_s: float = Field(default=1.0, gt=0)
    stability_api_key: SecretStr | None = Field(default=None, validation_alias=_key("STABILITY_API_KEY"))
    stability_base_url: str = "https://api.stability.ai"
    # The wait between polls of an asynchronous Stability result (replace-background-and-relight).
    # Stability rate-limits clients that poll more than once every 10 s, hence the default.
    stability_poll_interval_s: float = Field(default=10.0, gt=0)
    openai_api_key: SecretStr | None = Field(default=None, validation_alias=_key("OPENAI_API_KEY"))
    openai_base_url: str = "https://api.openai.com"
    hf_token: SecretStr | None = Field(default=None, validation_alias=_key("HF_TOKEN"))
    huggingface_base_url: str = "https://router.huggingface.co"

    @field_validator("public_url")
    @classmethod
    def _absolute_http_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        url = value.strip().rstrip("/")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise ValueError(
                "public_url must be an absolute http(s) base URL, e.g. https://studio.example.com"
            )
        return url

    @property
    def wavespeed_webhook_url(self) -> str | None:
        """The URL WaveSpeed is asked to call when a prediction ends; None unless both the public URL
        and the secret to verify deliveries are set (an unverifiable webhook is worth nothing)."""
        if self.public_url is None or self.wavespeed_webhook_secret is None:
            return None
        return f"{self.public_url}{WAVESPEED_WEBHOOK_PATH}"

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
