"""The local offline engine: erase, outpaint, recolour, background removal and replacement,
upscale and adjust, with no key, no network and no weights to download.

``LocalEngine`` is the provider; the operation modules (``fill``, ``recolor``, ``upscale``,
``adjust``, ``background``) are plain functions on PIL images that it dispatches to.
"""

from editstudio.engine.local import LOCAL_MODEL, LOCAL_PROVIDER, SUPPORTED_OPERATIONS, LocalEngine

__all__ = ["LOCAL_MODEL", "LOCAL_PROVIDER", "SUPPORTED_OPERATIONS", "LocalEngine"]
