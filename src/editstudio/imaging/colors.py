"""Colour names and hex codes, as users type them."""

from __future__ import annotations

import re

from PIL import ImageColor

from editstudio.core.errors import InvalidRequest

_HEX = re.compile(r"#(?:[0-9a-fA-F]{3}){1,2}\b")
_WORD = re.compile(r"[a-zA-Z]+")


def parse_color(value: str, *, field: str = "color") -> tuple[int, int, int]:
    """``"#ff8800"``, ``"f80"``, ``"red"``, ``"rgb(1,2,3)"`` → an RGB triple."""
    text = value.strip()
    if re.fullmatch(r"(?:[0-9a-fA-F]{3}){1,2}", text):
        text = "#" + text
    try:
        rgb = ImageColor.getrgb(text)
    except ValueError:
        raise InvalidRequest(
            f"{field} {value!r} is not a colour: use a name like 'red' or a hex code like '#ff8800'",
            field=field,
        ) from None
    return (rgb[0], rgb[1], rgb[2])


def find_color(text: str, *, field: str = "prompt") -> tuple[int, int, int]:
    """The first colour named in free text ("make it dark blue" → dark blue is tried as darkblue)."""
    match = _HEX.search(text)
    if match:
        return parse_color(match.group(0), field=field)
    words = [w.lower() for w in _WORD.findall(text)]
    for size in (2, 1):  # "dark blue" before "blue"
        for i in range(len(words) - size + 1):
            candidate = "".join(words[i : i + size])
            if candidate in ImageColor.colormap:
                return parse_color(candidate, field=field)
    raise InvalidRequest(
        f"no colour found in {field} {text!r}: name one ('teal', 'dark red') or give a hex code",
        field=field,
    )
