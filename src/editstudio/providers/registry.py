"""Provider slug → the factory that builds its ``EditProvider``; the one place that knows them all.

A new provider is one adapter module plus one line in ``_FACTORIES``. Nothing else in EditStudio
branches on provider names.
"""

from __future__ import annotations

from collections.abc import Callable

from editstudio.catalog.loader import get_model
from editstudio.catalog.schema import ModelSpec, ProviderSlug
from editstudio.core.errors import ConfigurationError
from editstudio.core.provider import EditProvider
from editstudio.settings import Settings

Factory = Callable[[ModelSpec, Settings], EditProvider]

WAVESPEED_KEY_ENV = "WAVESPEED_API_KEY"


def provider_for(model_id: str, settings: Settings) -> EditProvider:
    """The provider that runs ``model_id`` (``ModelNotFound`` for an unknown id).

    Raises ``ConfigurationError`` naming the environment variable when the provider's key is unset.
    """
    spec = get_model(model_id)
    factory = _FACTORIES.get(spec.provider)
    if factory is None:
        raise ConfigurationError(
            f"{model_id} needs the {spec.provider.value} adapter, which this version does not have yet",
            model=model_id,
            provider=spec.provider.value,
        )
    return factory(spec, settings)


def _local(spec: ModelSpec, settings: Settings) -> EditProvider:
    # Imported here: the engine pulls OpenCV and PatchMatch, which cloud-only callers never need.
    from editstudio.engine.local import LocalEngine

    return LocalEngine(settings.image_limits)


def _wavespeed(spec: ModelSpec, settings: Settings) -> EditProvider:
    from editstudio.providers.wavespeed import WaveSpeedProvider

    key = settings.wavespeed_api_key
    if key is None or not key.get_secret_value().strip():
        raise ConfigurationError(
            f"{spec.id} runs on WaveSpeed and needs an API key: set {WAVESPEED_KEY_ENV} "
            f"(or EDITSTUDIO_{WAVESPEED_KEY_ENV})",
            model=spec.id,
            provider=spec.provider.value,
            env_var=WAVESPEED_KEY_ENV,
        )
    return WaveSpeedProvider(
        api_key=key, base_url=settings.wavespeed_base_url, model=spec.id, limits=settings.image_limits
    )


_FACTORIES: dict[ProviderSlug, Factory] = {
    ProviderSlug.LOCAL: _local,
    ProviderSlug.WAVESPEED: _wavespeed,
}
