"""Bounds on what the imaging layer will decode."""

from __future__ import annotations

from dataclasses import dataclass

MiB = 1024 * 1024


@dataclass(frozen=True)
class ImageLimits:
    """Refuse inputs over these before spending memory on them.

    ``max_pixels`` is checked against the header's claimed size before any pixel is decoded, so a
    small file that claims 100,000 × 100,000 pixels costs nothing.
    """

    max_bytes: int = 40 * MiB
    max_pixels: int = 40_000_000
    max_side: int = 16_384
    min_side: int = 1

    def with_overrides(self, **changes: int) -> ImageLimits:
        from dataclasses import replace

        return replace(self, **changes)


DEFAULT_LIMITS = ImageLimits()
