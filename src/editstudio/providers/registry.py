"""Provider slug → the factory that builds its ``EditProvider``; the one place that knows them all.

A new provider is one adapter module plus one line in ``_FACTORIES``. Nothing else in EditStudio
branches on provider names.
"""

from __future__ import annotations

from collections.abc import Callable

from editstudio.catalog.availability import configured_providers
from editstudio.catalog.loader import get_model
from editstudio.catalog.schema import ModelSpec, ProviderSlug
from editstudio.core.errors import ConfigurationError
from editstudio.core.provider import EditProvider
from editstudio.settings import Settings

Factory = Callable[[ModelSpec, Settings], EditProvider]

WAVESPEED_KEY_ENV = "WAVESPEED_API_KEY"
# The variable each provider's key is read from (``EDITSTUDIO_<name>`` works too; see Settings).
KEY_ENV: dict[ProviderSlug, str] = {
    ProviderSlug.WAVESPEED: WAVESPEED_KEY_ENV,
    ProviderSlug.STABILITY: "STABILITY_API_KEY",
    ProviderSlug.OPENAI: "OPENAI_API_KEY",
    ProviderSlug.HUGGINGFACE: "HF_TOKEN",
}


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


def check_configured(spec: ModelSpec, settings: Settings) -> None:
    """``ConfigurationError`` naming the environment variable when ``spec``'s provider has no key.

    The job service calls it before reserving any money, so a job that could never run is refused
    at submit rather than failing later in a worker.
    """
    if not spec.needs_key or spec.provider.value in configured_providers(settings):
        return
    env_var = KEY_ENV[spec.provider]
    raise ConfigurationError(
        f"{spec.id} runs on {spec.provider.value} and needs an API key: set {env_var} "
        f"(or EDITSTUDIO_{env_var})",
        model=spec.id,
        provider=spec.provider.value,
        env_var=env_var,
    )


def _local(spec: ModelSpec, settings: Settings) -> EditProvider:
    # Imported here: the engine pulls OpenCV and PatchMatch, which cloud-only callers never need.
    from editstudio.engine.local import LocalEngine

    return LocalEngine(settings.image_limits)


def _wavespeed(spec: ModelSpec, settings: Settings) -> EditProvider:
    from editstudio.providers.http import PollPolicy, ProviderHttp
    from editstudio.providers.wavespeed_provider import WaveSpeedOptions, WaveSpeedProvider

    check_configured(spec, settings)
    key = settings.wavespeed_api_key
    assert key is not None  # check_configured refused a missing key
    interval = settings.wavespeed_poll_interval_s
    poll = PollPolicy(interval_s=interval, max_interval_s=max(interval, PollPolicy().max_interval_s))
    return WaveSpeedProvider(
        api_key=key,
        base_url=settings.wavespeed_base_url,
        model=spec.id,
        limits=settings.image_limits,
        http=ProviderHttp(spec.provider.value, poll=poll),
        options=WaveSpeedOptions(webhook_url=settings.wavespeed_webhook_url),
    )


def _stability(spec: ModelSpec, settings: Settings) -> EditProvider:
    from editstudio.providers.http import ProviderHttp
    from editstudio.providers.stability_provider import stability_poll_policy, stability_provider_for

    check_configured(spec, settings)
    key = settings.stability_api_key
    assert key is not None  # check_configured refused a missing key
    poll = stability_poll_policy(settings.stability_poll_interval_s)
    return stability_provider_for(
        spec,
        api_key=key,
        base_url=settings.stability_base_url,
        limits=settings.image_limits,
        http=ProviderHttp(spec.provider.value, poll=poll),
    )


def _openai(spec: ModelSpec, settings: Settings) -> EditProvider:
    from editstudio.providers.openai_provider import OpenAIProvider

    check_configured(spec, settings)
    key = settings.openai_api_key
    assert key is not None  # check_configured refused a missing key
    return OpenAIProvider(
        api_key=key, base_url=settings.openai_base_url, model=spec.id, limits=settings.image_limits
    )


def _huggingface(spec: ModelSpec, settings: Settings) -> EditProvider:
    from editstudio.providers.huggingface_provider import HuggingFaceProvider

    check_configured(spec, settings)
    token = settings.hf_token
    assert token is not None  # check_configured refused a missing token
    return HuggingFaceProvider(
        token=token, base_url=settings.huggingface_base_url, model=spec.id, limits=settings.image_limits
    )


_FACTORIES: dict[ProviderSlug, Factory] = {
    ProviderSlug.LOCAL: _local,
    ProviderSlug.WAVESPEED: _wavespeed,
    ProviderSlug.STABILITY: _stability,
    ProviderSlug.OPENAI: _openai,
    ProviderSlug.HUGGINGFACE: _huggingface,
}
