"""Which providers a deployment can call: one this version has an adapter for, with its key set.

The catalogue may also describe models of providers whose adapter is still to come (Hugging
Face), so prices and limits can be compared; a key alone must not make them
recommendable. ``providers.registry`` builds exactly the adapters listed in ``ADAPTED`` (a test
holds the two together).
"""

from __future__ import annotations

from editstudio.catalog.schema import ProviderSlug
from editstudio.settings import Settings

ADAPTED: frozenset[ProviderSlug] = frozenset(
    {ProviderSlug.LOCAL, ProviderSlug.WAVESPEED, ProviderSlug.STABILITY, ProviderSlug.OPENAI}
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
