"""Which providers a deployment can call: one this version has an adapter for, with its key set.

Every provider slug of the catalogue now has an adapter (Hugging Face's maps only the
``hf-inference`` route). Should the catalogue describe a provider whose adapter is still to come,
a key alone must not make its models recommendable. ``providers.registry`` builds exactly the
adapters listed in ``ADAPTED`` (a test holds the two together).
"""

from __future__ import annotations

from editstudio.catalog.schema import ProviderSlug
from editstudio.settings import Settings

ADAPTED: frozenset[ProviderSlug] = frozenset(
    {
        ProviderSlug.LOCAL,
        ProviderSlug.WAVESPEED,
        ProviderSlug.STABILITY,
        ProviderSlug.OPENAI,
        ProviderSlug.HUGGINGFACE,
    }
)


def configured_providers(settings: Settings) -> frozenset[str]:
    """Adapted provider slugs with a key in ``settings``; ``local`` needs none and is always present."""
    keys = {
        ProviderSlug.WAVESPEED: settings.wavespeed_api_key,
        ProviderSlug.STABILITY: settings.stability_api_key,
        ProviderSlug.OPENAI: settings.openai_api_key,
        ProviderSlug.HUGGINGFACE: settings.hf_token,
    }
    present = {
        slug.value
        for slug, key in keys.items()
        if slug in ADAPTED and key is not None and key.get_secret_value().strip()
    }
    return frozenset({ProviderSlug.LOCAL.value, *present})
