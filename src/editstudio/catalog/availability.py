"""Which providers a deployment can call: a provider is configured when its key is set."""

from __future__ import annotations

from editstudio.catalog.schema import ProviderSlug
from editstudio.settings import Settings


def configured_providers(settings: Settings) -> frozenset[str]:
    """Provider slugs with a key in ``settings``; ``local`` needs none and is always present."""
    keys = {
        ProviderSlug.WAVESPEED: settings.wavespeed_api_key,
        ProviderSlug.STABILITY: settings.stability_api_key,
        ProviderSlug.OPENAI: settings.openai_api_key,
        ProviderSlug.HUGGINGFACE: settings.hf_token,
    }
    present = {slug.value for slug, key in keys.items() if key is not None and key.get_secret_value().strip()}
    return frozenset({ProviderSlug.LOCAL.value, *present})
