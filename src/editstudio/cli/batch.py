"""Planning a CLI run: which files are inputs, which mask goes with each, where each result goes.

Pure path logic (it lists directories and checks existence, but reads and writes no image), so
every rule here is tested without running an edit.

Mask pairing for ``--mask DIR``, for an input ``photo.png``, in order (the first tier with a
match wins; two matches in one tier are ambiguous and refused):

1. ``photo_mask.*`` or ``photo.mask.*`` (any image extension);
2. ``photo.png`` (the same file name);
3. ``photo.*`` (the same stem, another image extension).

The input file itself is never its own mask, so masks may sit next to their images.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from editstudio.core.errors import InvalidRequest, MaskRejected
from editstudio.core.request import OutputFormat

IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".png", ".jpg", ".jpeg", ".webp", ".gif", ".tif", ".tiff", ".bmp"}
)
MASK_SUFFIXES: tuple[str, ...] = ("_mask", ".mask")
OUTPUT_SUFFIXES: dict[str, OutputFormat] = {
    ".png": OutputFormat.PNG,
    ".jpg": OutputFormat.JPEG,
    ".jpeg": OutputFormat.JPEG,
    ".webp": OutputFormat.WEBP,
}
# ``.jpg`` rather than ``.jpeg``: what cameras and most tools write.
_EXTENSION_FOR: dict[OutputFormat, str] = {
    OutputFormat.PNG: ".png",
    OutputFormat.JPEG: ".jpg",
    OutputFormat.WEBP: ".webp",
}


def is_image_path(path: Path) -> bool:
    """Whether the file name has one of the image extensions a folder scan picks up."""
    return path.suffix.lower() in IMAGE_EXTENSIONS


def images_in(folder: Path) -> list[Path]:
    """The image files directly inside ``folder``, sorted by name; hidden files are skipped."""
    return sorted(
        p for p in folder.iterdir() if p.is_file() and is_image_path(p) and not p.name.startswith(".")
    )


def collect_inputs(paths: Sequence[Path]) -> list[Path]:
    """Files as given, folders expanded to their images; duplicates dropped, order kept.

    A file named explicitly is taken whatever its extension: its bytes decide whether it is an
    image, so the error names the real problem.
    """
    if not paths:
        raise InvalidRequest("no input: give one or more image files or a folder", field="image")
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            images = images_in(path)
            if not images:
                known = ", ".join(sorted(IMAGE_EXTENSIONS))
                raise InvalidRequest(f"folder {path} holds no images ({known})", field="image")
            found.extend(images)
        elif path.is_file():
            found.append(path)
        else:
            raise InvalidRequest(f"input {path} does not exist", field="image")
    return _unique(found)


def is_batch(paths: Sequence[Path]) -> bool:
    """A run is a batch when it names a folder or more than one input."""
    return len(paths) > 1 or any(p.is_dir() for p in paths)


def drop_paired_masks(inputs: Sequence[Path], mask_dir: Path) -> list[Path]:
    """Inputs that are not the masks of other inputs, for when masks share the images' folder."""
    stems_by_folder = {(p.parent.resolve(), p.stem) for p in inputs}
    mask_folder = mask_dir.resolve()
    kept: list[Path] = []
    for path in inputs:
        base = _mask_base_stem(path.stem)
        folder = path.parent.resolve()
        if base is not None and folder == mask_folder and (folder, base) in stems_by_folder:
            continue
        kept.append(path)
    return kept


def find_mask(image: Path, mask_dir: Path) -> Path | None:
    """The mask for ``image`` in ``mask_dir`` by the tiers in the module docstring, or None."""
    candidates = [p for p in images_in(mask_dir) if p.resolve() != image.resolve()]
    stem = image.stem
    tiers = (
        [p for p in candidates if p.stem in {stem + suffix for suffix in MASK_SUFFIXES}],
        [p for p in candidates if p.name == image.name],
        [p for p in candidates if p.stem == stem],
    )
    for tier in tiers:
        if len(tier) > 1:
            names = ", ".join(p.name for p in tier)
            raise MaskRejected(f"{image.name} has more than one mask in {mask_dir}: {names}", field="mask")
        if tier:
            return tier[0]
    return None


def mask_for(image: Path, mask: Path | None) -> Path | None:
    """The mask to use for ``image``: the ``--mask`` file itself, or its pair in the ``--mask`` folder."""
    if mask is None or not mask.is_dir():
        return mask
    return find_mask(image, mask)


def check_unique_stems(inputs: Sequence[Path]) -> None:
    """Refuse inputs whose outputs would share a name (``a/photo.png`` and ``b/photo.jpg``)."""
    seen: dict[str, Path] = {}
    clashes: list[str] = []
    for path in inputs:
        first = seen.setdefault(path.stem, path)
        if first is not path:
            clashes.append(f"{first} and {path}")
    if clashes:
        raise InvalidRequest(
            "inputs would write the same output name: " + "; ".join(clashes) + " (rename one)",
            field="image",
        )


def format_for_file(path: Path, requested: OutputFormat | None) -> OutputFormat:
    """The output format a file name asks for, checked against ``--output-format`` when both are given."""
    by_suffix = OUTPUT_SUFFIXES.get(path.suffix.lower())
    if by_suffix is None:
        known = ", ".join(OUTPUT_SUFFIXES)
        raise InvalidRequest(f"output file {path.name} must end in one of {known}", field="output_format")
    if requested is not None and requested is not by_suffix:
        raise InvalidRequest(
            f"output file {path.name} says {by_suffix.value} but --output-format says "
            f"{requested.value}; make them agree or drop --output-format",
            field="output_format",
        )
    return by_suffix


def output_name(source: Path, fmt: OutputFormat) -> str:
    """``<stem>.<ext>`` for a batch output, the extension from the result's format."""
    return source.stem + _EXTENSION_FOR[fmt]


def check_target(target: Path, protected: Iterable[Path], *, overwrite: bool) -> None:
    """Refuse to write over a file this run reads, or over an existing output without ``overwrite``."""
    resolved = target.resolve()
    if any(resolved == p.resolve() for p in protected):
        raise InvalidRequest(f"refusing to overwrite input file {target}", field="output")
    if target.is_dir():
        raise InvalidRequest(f"output {target} is a folder", field="output")
    if target.exists() and not overwrite:
        raise InvalidRequest(f"{target} already exists; pass --overwrite to replace it", field="output")


def _mask_base_stem(stem: str) -> str | None:
    for suffix in MASK_SUFFIXES:
        if stem.endswith(suffix) and len(stem) > len(suffix):
            return stem[: -len(suffix)]
    return None


def _unique(paths: Iterable[Path]) -> list[Path]:
    seen: set[Path] = set()
    out: list[Path] = []
    for path in paths:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            out.append(path)
    return out
