"""Safe decoding and encoding, masks in one convention, compositing. The only layer that decodes bytes."""

from editstudio.imaging.colors import find_color, parse_color
from editstudio.imaging.composite import DEFAULT_FEATHER_PX, composite, feather, over_background
from editstudio.imaging.decode import (
    SUPPORTED_INPUT_FORMATS,
    DecodedImage,
    ImageInfo,
    decode_base64,
    decode_image,
    probe_image,
    sniff_format,
)
from editstudio.imaging.encode import choose_format, encode_image, fit_within, flatten
from editstudio.imaging.limits import DEFAULT_LIMITS, ImageLimits
from editstudio.imaging.masks import coverage, load_mask, normalize_mask

__all__ = [
    "DEFAULT_FEATHER_PX",
    "DEFAULT_LIMITS",
    "SUPPORTED_INPUT_FORMATS",
    "DecodedImage",
    "ImageInfo",
    "ImageLimits",
    "choose_format",
    "composite",
    "coverage",
    "decode_base64",
    "decode_image",
    "encode_image",
    "feather",
    "find_color",
    "fit_within",
    "flatten",
    "load_mask",
    "normalize_mask",
    "over_background",
    "parse_color",
    "probe_image",
    "sniff_format",
]
