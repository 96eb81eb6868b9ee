"""The CLI's pure planning rules: inputs, mask pairing, output names, overwrite guards, atomic writes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from editstudio.cli.batch import (
    check_target,
    check_unique_stems,
    collect_inputs,
    drop_paired_masks,
    find_mask,
    format_for_file,
    is_batch,
    mask_for,
    output_name,
)
from editstudio.cli.files import read_input, write_atomic
from editstudio.core.errors import InvalidRequest, MaskRejected, StorageError
from editstudio.core.request import OutputFormat


def touch(folder: Path, *names: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / name for name in names]
    for path in paths:
        path.write_bytes(b"x")
    return paths


def test_folder_input_takes_images_by_extension_sorted(tmp_path: Path) -> None:
    touch(tmp_path, "b.PNG", "a.jpg", "c.webp", "d.tiff", "e.bmp", "f.gif", "g.jpeg", "h.tif")
    touch(tmp_path, "notes.txt", "raw.cr2", ".hidden.png")
    (tmp_path / "sub.png").mkdir()
    names = [p.name for p in collect_inputs([tmp_path])]
    assert names == ["a.jpg", "b.PNG", "c.webp", "d.tiff", "e.bmp", "f.gif", "g.jpeg", "h.tif"]


def test_explicit_files_keep_their_order_and_drop_duplicates(tmp_path: Path) -> None:
    b, a = touch(tmp_path, "b.png", "a.data")
    assert collect_inputs([b, a, tmp_path / "." / "b.png"]) == [b, a]


def test_missing_input_and_empty_folder_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest, match="does not exist"):
        collect_inputs([tmp_path / "nope.png"])
    touch(tmp_path / "empty", "readme.txt")
    with pytest.raises(InvalidRequest, match="holds no images"):
        collect_inputs([tmp_path / "empty"])
    with pytest.raises(InvalidRequest, match="no input"):
        collect_inputs([])


def test_a_folder_or_several_inputs_make_a_batch(tmp_path: Path) -> None:
    (one,) = touch(tmp_path, "one.png")
    assert not is_batch([one])
    assert is_batch([tmp_path])
    assert is_batch([one, one])


@pytest.mark.parametrize(
    "mask_name", ["photo_mask.png", "photo.mask.png", "photo_mask.jpg", "photo.png", "photo.webp"]
)
def test_mask_paired_by_stem(tmp_path: Path, mask_name: str) -> None:
    (image,) = touch(tmp_path / "in", "photo.png")
    mask, *_ = touch(tmp_path / "masks", mask_name, "other.png", "photo2_mask.png")
    assert find_mask(image, tmp_path / "masks") == mask


def test_explicit_mask_suffix_wins_over_same_name(tmp_path: Path) -> None:
    (image,) = touch(tmp_path / "in", "photo.png")
    same, suffixed = touch(tmp_path / "masks", "photo.png", "photo_mask.png")
    assert find_mask(image, tmp_path / "masks") == suffixed
    suffixed.unlink()
    assert find_mask(image, tmp_path / "masks") == same


def test_same_name_wins_over_other_extension(tmp_path: Path) -> None:
    (image,) = touch(tmp_path / "in", "photo.png")
    same, _ = touch(tmp_path / "masks", "photo.png", "photo.jpg")
    assert find_mask(image, tmp_path / "masks") == same


def test_two_masks_in_one_tier_are_ambiguous(tmp_path: Path) -> None:
    (image,) = touch(tmp_path / "in", "photo.png")
    touch(tmp_path / "masks", "photo_mask.png", "photo.mask.jpg")
    with pytest.raises(MaskRejected, match="more than one mask"):
        find_mask(image, tmp_path / "masks")


def test_no_mask_is_none_and_an_image_is_never_its_own_mask(tmp_path: Path) -> None:
    image, _ = touch(tmp_path, "photo.png", "unrelated.png")
    assert find_mask(image, tmp_path) is None
    mask = touch(tmp_path, "photo_mask.png")[0]
    assert find_mask(image, tmp_path) == mask


def test_mask_for_uses_a_file_for_every_input_or_pairs_from_a_folder(tmp_path: Path) -> None:
    (image,) = touch(tmp_path / "in", "photo.png")
    (single,) = touch(tmp_path, "all.png")
    (paired,) = touch(tmp_path / "masks", "photo_mask.png")
    assert mask_for(image, single) == single
    assert mask_for(image, tmp_path / "masks") == paired
    assert mask_for(image, None) is None


def test_masks_next_to_their_images_are_not_inputs(tmp_path: Path) -> None:
    touch(tmp_path, "a.png", "a_mask.png", "b.jpg", "b.mask.png", "lonely_mask.png")
    inputs = collect_inputs([tmp_path])
    kept = [p.name for p in drop_paired_masks(inputs, tmp_path)]
    # lonely_mask.png pairs with no input, so it is an image to edit.
    assert kept == ["a.png", "b.jpg", "lonely_mask.png"]


def test_masks_in_another_folder_do_not_filter_inputs(tmp_path: Path) -> None:
    touch(tmp_path / "in", "a.png", "a_mask.png")
    inputs = collect_inputs([tmp_path / "in"])
    assert drop_paired_masks(inputs, tmp_path / "masks") == inputs


def test_inputs_sharing_a_stem_are_refused(tmp_path: Path) -> None:
    a = touch(tmp_path / "x", "photo.png")[0]
    b = touch(tmp_path / "y", "photo.jpg")[0]
    c = touch(tmp_path / "y", "other.jpg")[0]
    check_unique_stems([a, c])
    with pytest.raises(InvalidRequest, match="same output name"):
        check_unique_stems([a, c, b])


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("o.png", OutputFormat.PNG),
        ("o.JPG", OutputFormat.JPEG),
        ("o.jpeg", OutputFormat.JPEG),
        ("o.webp", OutputFormat.WEBP),
    ],
)
def test_output_file_extension_decides_the_format(name: str, expected: OutputFormat) -> None:
    assert format_for_file(Path(name), None) is expected
    assert format_for_file(Path(name), expected) is expected


def test_mismatched_extension_and_format_are_refused() -> None:
    with pytest.raises(InvalidRequest, match="--output-format says webp"):
        format_for_file(Path("out.png"), OutputFormat.WEBP)
    with pytest.raises(InvalidRequest, match="must end in"):
        format_for_file(Path("out.gif"), None)
    with pytest.raises(InvalidRequest, match="must end in"):
        format_for_file(Path("out"), OutputFormat.PNG)


def test_output_name_uses_the_result_format() -> None:
    assert output_name(Path("in/photo.v2.png"), OutputFormat.JPEG) == "photo.v2.jpg"
    assert output_name(Path("photo.jpg"), OutputFormat.PNG) == "photo.png"
    assert output_name(Path("photo.jpg"), OutputFormat.WEBP) == "photo.webp"


def test_check_target_guards_inputs_and_existing_files(tmp_path: Path) -> None:
    source, existing = touch(tmp_path, "in.png", "out.png")
    check_target(tmp_path / "new.png", [source], overwrite=False)
    with pytest.raises(InvalidRequest, match="already exists"):
        check_target(existing, [source], overwrite=False)
    check_target(existing, [source], overwrite=True)
    with pytest.raises(InvalidRequest, match="refusing to overwrite input"):
        check_target(tmp_path / "." / "in.png", [source], overwrite=True)
    with pytest.raises(InvalidRequest, match="is a folder"):
        check_target(tmp_path, [source], overwrite=True)


def test_write_atomic_replaces_whole_file_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "out.png"
    target.write_bytes(b"old")
    write_atomic(target, b"new bytes")
    assert target.read_bytes() == b"new bytes"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]


def test_write_atomic_respects_umask(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        write_atomic(tmp_path / "out.png", b"x")
    finally:
        os.umask(previous)
    assert (tmp_path / "out.png").stat().st_mode & 0o777 == 0o644


def test_write_atomic_failure_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_replace(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(StorageError, match="No space left"):
        write_atomic(tmp_path / "out.png", b"data")
    assert list(tmp_path.iterdir()) == []


def test_read_input_names_the_problem(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest, match=r"mask .* does not exist"):
        read_input(tmp_path / "nope.png", what="mask")
    with pytest.raises(InvalidRequest, match="is a folder"):
        read_input(tmp_path, what="image")
