"""Re-export: ``ImageLimits`` lives in core (a plain value object) so settings can use it without
importing the imaging stack."""

from editstudio.core.limits import DEFAULT_LIMITS, ImageLimits, MiB

__all__ = ["DEFAULT_LIMITS", "ImageLimits", "MiB"]
