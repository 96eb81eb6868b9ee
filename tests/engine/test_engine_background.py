"""remove_background / replace_background on synthetic product shots with known ground truth.

Every scene is drawn here with numpy/OpenCV, so the true subject mask is known exactly. IoU is
computed on alpha thresholded at 0.5. The brief requires IoU > 0.9; the bound below is tighter
(0.95) because the method measures ≥ 0.99 on all four scenes and a drop to 0.95 is a regression.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import pytest
from engine_kit import finish, floor_shade, mug_on_table, product_on_floor, shading
from PIL import Image

from editstudio.engine.background import has_transparency, remove_background, replace_background

HEIGHT, WIDTH = 480, 640
MIN_IOU = 0.95
# "Deep inside" / "far outside": farther than this from the true subject edge.
FAR_PX = 8
# Pixels deep inside the subject have alpha exactly 1, so they come back unchanged; the bound
# allows for rounding only.
INSIDE_TOLERANCE = 1

Scene = tuple[np.ndarray, np.ndarray]


def bottle_on_white(seed: int = 1) -> Scene:
    """(a) A shaded bottle (ellipse body + rectangular neck) with a specular highlight, on near-white."""
    rng = np.random.default_rng(seed)
    image = np.full((HEIGHT, WIDTH, 3), 246.0) + rng.normal(0, 2.0, (HEIGHT, WIDTH, 1))
    mask = np.zeros((HEIGHT, WIDTH), np.uint8)
    centre = WIDTH // 2
    cv2.ellipse(mask, (centre, int(HEIGHT * 0.62)), (int(WIDTH * 0.16), int(HEIGHT * 0.25)), 0, 0, 360, 1, -1)
    cv2.rectangle(mask, (centre - 32, int(HEIGHT * 0.18)), (centre + 32, int(HEIGHT * 0.5)), 1, -1)
    subject = mask.astype(bool)
    body = shading(WIDTH, (40, 110, 60)) + rng.normal(0, 2.0, (HEIGHT, WIDTH, 1))
    image[subject] = np.broadcast_to(body, image.shape)[subject]
    highlight = np.zeros((HEIGHT, WIDTH), np.uint8)
    cv2.ellipse(highlight, (centre - 45, int(HEIGHT * 0.55)), (8, 28), 0, 0, 360, 1, -1)
    image[highlight.astype(bool)] = 250.0  # as bright as the background: must not become a hole
    return finish(image), subject


def multicolour_on_gradient(seed: int = 2) -> Scene:
    """(b) A subject in four colour bands on a vertical dark-blue → light-blue gradient."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 1.0, HEIGHT)[:, None, None]
    top, bottom = np.array([30.0, 60.0, 140.0]), np.array([180.0, 200.0, 235.0])
    image = np.broadcast_to(top * (1 - t) + bottom * t, (HEIGHT, WIDTH, 3)).copy()
    image += rng.normal(0, 1.5, (HEIGHT, WIDTH, 1))
    mask = np.zeros((HEIGHT, WIDTH), np.uint8)
    cv2.circle(mask, (WIDTH // 2, HEIGHT // 2), int(HEIGHT * 0.3), 1, -1)
    cv2.rectangle(mask, (WIDTH // 5, HEIGHT // 2 - 20), (WIDTH * 4 // 5, HEIGHT // 2 + 30), 1, -1)
    subject = mask.astype(bool)
    palette = np.array([[220, 40, 30], [250, 200, 30], [30, 160, 60], [120, 40, 120]], np.float64)
    bands = np.broadcast_to(np.arange(WIDTH)[None, :] * len(palette) // WIDTH, (HEIGHT, WIDTH))
    image[subject] = palette[bands][subject] + rng.normal(0, 2.0, (int(subject.sum()), 1))
    return finish(image), subject


def mug_on_texture(seed: int = 3) -> Scene:
    """(c) A terracotta mug on beige with smooth blotches (±6) and fine stripes (8 levels, 6 px period)."""
    rng = np.random.default_rng(seed)
    blotches = cv2.GaussianBlur(rng.normal(0, 1, (HEIGHT, WIDTH)).astype(np.float32), (0, 0), 6)
    blotches = blotches / blotches.std() * 6.0
    stripes = ((np.arange(WIDTH) // 3) % 2)[None, :] * 8.0
    image = np.full((HEIGHT, WIDTH, 3), (205.0, 190.0, 165.0)) + (blotches + stripes)[..., None]
    mask = np.zeros((HEIGHT, WIDTH), np.uint8)
    cv2.ellipse(mask, (WIDTH // 2, HEIGHT // 2), (int(WIDTH * 0.2), int(HEIGHT * 0.3)), 15, 0, 360, 1, -1)
    cv2.rectangle(mask, (WIDTH // 2 + 64, HEIGHT // 2 - 30), (WIDTH // 2 + 180, HEIGHT // 2 + 30), 1, -1)
    subject = mask.astype(bool)
    body = shading(WIDTH, (150, 60, 40)) + rng.normal(0, 3.0, (HEIGHT, WIDTH, 1))
    image[subject] = np.broadcast_to(body, image.shape)[subject]
    return finish(image), subject


def product_on_bottom_edge(seed: int = 4) -> Scene:
    """(d) A product standing on the bottom edge of the frame, on light grey."""
    rng = np.random.default_rng(seed)
    image = np.full((HEIGHT, WIDTH, 3), (225.0, 228.0, 232.0)) + rng.normal(0, 2.0, (HEIGHT, WIDTH, 1))
    mask = np.zeros((HEIGHT, WIDTH), np.uint8)
    cv2.rectangle(mask, (int(WIDTH * 0.35), int(HEIGHT * 0.35)), (int(WIDTH * 0.65), HEIGHT - 1), 1, -1)
    cv2.circle(mask, (WIDTH // 2, int(HEIGHT * 0.35)), int(WIDTH * 0.15), 1, -1)
    subject = mask.astype(bool)
    body = shading(WIDTH, (200, 120, 40)) + rng.normal(0, 2.0, (HEIGHT, WIDTH, 1))
    image[subject] = np.broadcast_to(body, image.shape)[subject]
    return finish(image), subject


def vase_in_busy_scene(seed: int = 5) -> Scene:
    """(e) A centred red vase in front of random colour blobs: no background model fits the frame."""
    rng = np.random.default_rng(seed)
    blobs = rng.integers(0, 256, (HEIGHT // 16, WIDTH // 16, 3), dtype=np.uint8)
    image = cv2.resize(blobs, (WIDTH, HEIGHT), interpolation=cv2.INTER_CUBIC).astype(np.float64)
    mask = np.zeros((HEIGHT, WIDTH), np.uint8)
    cv2.ellipse(mask, (WIDTH // 2, int(HEIGHT * 0.6)), (110, 130), 0, 0, 360, 1, -1)
    cv2.rectangle(mask, (WIDTH // 2 - 40, int(HEIGHT * 0.2)), (WIDTH // 2 + 40, int(HEIGHT * 0.5)), 1, -1)
    subject = mask.astype(bool)
    body = shading(WIDTH, (210, 25, 35)) + rng.normal(0, 2.0, (HEIGHT, WIDTH, 1))
    image[subject] = np.broadcast_to(body, image.shape)[subject]
    return finish(image), subject


SCENES: dict[str, Callable[[], Scene]] = {
    "bottle_on_white": bottle_on_white,
    "multicolour_on_gradient": multicolour_on_gradient,
    "mug_on_texture": mug_on_texture,
    "product_on_bottom_edge": product_on_bottom_edge,
    "vase_in_busy_scene": vase_in_busy_scene,
}


def iou(alpha: np.ndarray, truth: np.ndarray) -> float:
    predicted = alpha >= 0.5
    return float((predicted & truth).sum() / (predicted | truth).sum())


def far_inside(truth: np.ndarray) -> np.ndarray:
    return cv2.distanceTransform(truth.astype(np.uint8), cv2.DIST_L2, 5) > FAR_PX


def far_outside(truth: np.ndarray) -> np.ndarray:
    return cv2.distanceTransform((~truth).astype(np.uint8), cv2.DIST_L2, 5) > FAR_PX


def alpha_of(image: Image.Image) -> np.ndarray:
    return np.asarray(image.getchannel("A"), np.float32) / 255.0


@pytest.fixture(scope="module", params=list(SCENES))
def product_scene(request: pytest.FixtureRequest) -> Scene:
    return SCENES[request.param]()


@pytest.fixture(scope="module")
def cutout(product_scene: Scene) -> Image.Image:
    return remove_background(Image.fromarray(product_scene[0]))


def test_cutout_matches_ground_truth(product_scene: Scene, cutout: Image.Image) -> None:
    assert iou(alpha_of(cutout), product_scene[1]) > MIN_IOU


def test_cutout_is_rgba_of_the_same_size(product_scene: Scene, cutout: Image.Image) -> None:
    assert cutout.mode == "RGBA"
    assert cutout.size == (WIDTH, HEIGHT)


def test_cutout_is_opaque_inside_and_clear_outside(product_scene: Scene, cutout: Image.Image) -> None:
    alpha = np.asarray(cutout.getchannel("A"))
    assert (alpha[far_inside(product_scene[1])] == 255).all()
    assert (alpha[far_outside(product_scene[1])] == 0).all()


def test_cutout_keeps_subject_pixels(product_scene: Scene, cutout: Image.Image) -> None:
    inside = far_inside(product_scene[1])
    np.testing.assert_array_equal(np.asarray(cutout)[..., :3][inside], product_scene[0][inside])


def test_replace_over_colour(product_scene: Scene) -> None:
    image, truth = product_scene
    colour = (10, 200, 90)
    result = replace_background(Image.fromarray(image), background=colour)
    assert result.mode == "RGB"
    assert result.size == (WIDTH, HEIGHT)
    pixels = np.asarray(result).astype(int)
    inside = far_inside(truth)
    assert np.abs(pixels[inside] - image[inside]).max() <= INSIDE_TOLERANCE
    assert (pixels[far_outside(truth)] == colour).all()


def test_replace_over_same_size_image_uses_it_pixel_for_pixel() -> None:
    image, truth = bottle_on_white()
    backdrop = np.random.default_rng(9).integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    result = np.asarray(replace_background(Image.fromarray(image), background=Image.fromarray(backdrop)))
    outside = far_outside(truth)
    np.testing.assert_array_equal(result[outside], backdrop[outside])
    inside = far_inside(truth)
    assert np.abs(result[inside].astype(int) - image[inside]).max() <= INSIDE_TOLERANCE


def test_replace_over_other_shaped_image_scales_it_to_cover() -> None:
    image, truth = product_on_bottom_edge()
    # Square backdrop, red left half and blue right half: covering a 4:3 frame keeps the full width
    # and crops top and bottom, so the seam stays at the frame's centre column.
    backdrop = np.zeros((300, 300, 3), np.uint8)
    backdrop[:, :150] = (255, 0, 0)
    backdrop[:, 150:] = (0, 0, 255)
    result = np.asarray(replace_background(Image.fromarray(image), background=Image.fromarray(backdrop)))
    assert result.shape == (HEIGHT, WIDTH, 3)
    columns = np.arange(WIDTH)[None, :]
    outside = far_outside(truth)
    # Away from the seam, where LANCZOS resampling rings.
    left = outside & (columns < WIDTH // 2 - 8)
    right = outside & (columns > WIDTH // 2 + 8)
    assert left.any() and right.any()
    assert (result[left] == (255, 0, 0)).all()
    assert (result[right] == (0, 0, 255)).all()


def test_replace_removes_the_old_background_from_soft_edges() -> None:
    # An anti-aliased red disc on white (drawn 4x larger and area-downscaled): over black, an edge
    # pixel mixing in the old white would show green; decontaminated, green stays near the subject's
    # own 30. Without decontamination the same scene measures a green maximum of about 70.
    scale = 4
    big = np.zeros((HEIGHT * scale, WIDTH * scale), np.float32)
    cv2.circle(big, (WIDTH * scale // 2, HEIGHT * scale // 2), 150 * scale, 1.0, -1)
    coverage = cv2.resize(big, (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA)[..., None]
    image = finish(coverage * np.array([200.0, 30.0, 30.0]) + (1 - coverage) * 245.0)
    result = np.asarray(replace_background(Image.fromarray(image), background=(0, 0, 0)))
    edge = (coverage[..., 0] > 0) & (coverage[..., 0] < 1)
    assert edge.sum() > 500
    assert result[edge][:, 1].max() <= 40


def test_soft_edge_alpha_follows_coverage() -> None:
    scale = 4
    big = np.zeros((HEIGHT * scale, WIDTH * scale), np.float32)
    cv2.ellipse(
        big, (WIDTH * scale // 2, HEIGHT * scale // 2), (180 * scale, 120 * scale), 30, 0, 360, 1.0, -1
    )
    coverage = cv2.resize(big, (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA)
    noise = np.random.default_rng(5).normal(0, 1.5, (HEIGHT, WIDTH, 1))
    image = finish(
        coverage[..., None] * np.array([40.0, 60.0, 160.0]) + (1 - coverage[..., None]) * 240.0 + noise
    )
    alpha = alpha_of(remove_background(Image.fromarray(image)))
    edge = (coverage > 0) & (coverage < 1)
    # Measured mean error about 0.01; a hard (0/1) edge would score about 0.25.
    assert np.abs(alpha - coverage)[edge].mean() < 0.05


def test_soft_cast_shadow_goes_with_the_background() -> None:
    image, truth = bottle_on_white()
    # A soft elliptical shadow on the floor, offset to the right of the bottle's base.
    shade = np.zeros((HEIGHT, WIDTH), np.float32)
    cv2.ellipse(shade, (WIDTH // 2 + 40, int(HEIGHT * 0.86)), (150, 16), 0, 0, 360, 1.0, -1)
    shade = cv2.GaussianBlur(shade, (0, 0), 10)
    shadowed = image.astype(np.float64) * (1.0 - 0.3 * shade[..., None])
    image = np.where(truth[..., None], image, finish(shadowed))
    alpha = alpha_of(remove_background(Image.fromarray(image)))
    in_shadow = (shade > 0.5) & far_outside(truth)
    assert in_shadow.sum() > 1000
    assert (alpha[in_shadow] == 0).all()
    assert iou(alpha, truth) > MIN_IOU


def test_thin_parts_survive_the_working_copy() -> None:
    # Stems 4 px wide in a 1000 px frame are 2 px in the 512 px working copy.
    rng = np.random.default_rng(6)
    height, width = 800, 1000
    image = np.full((height, width, 3), 245.0) + rng.normal(0, 2.0, (height, width, 1))
    mask = np.zeros((height, width), np.uint8)
    cv2.rectangle(mask, (400, 550), (600, height - 1), 1, -1)
    for i, x in enumerate(range(380, 640, 40)):
        cv2.line(mask, (500, 560), (x, 150 + 20 * i), 1, 4)
        cv2.circle(mask, (x, 150 + 20 * i), 25, 1, -1)
    truth = mask.astype(bool)
    image[truth] = (50.0, 130.0, 50.0)
    alpha = alpha_of(remove_background(Image.fromarray(finish(image))))
    assert iou(alpha, truth) > MIN_IOU
    # Gaps between the stems, each enclosed by stems and flower heads, stay transparent.
    gaps = far_outside(truth) & (np.arange(height)[:, None] > 250) & (np.arange(height)[:, None] < 500)
    gaps &= (np.arange(width)[None, :] > 420) & (np.arange(width)[None, :] < 600)
    assert gaps.sum() > 1000
    assert (alpha[gaps] == 0).all()


def test_image_with_transparency_keeps_its_alpha() -> None:
    image, truth = bottle_on_white()
    alpha = np.where(truth, 255, 0).astype(np.uint8)
    alpha[truth & (np.arange(WIDTH)[None, :] < WIDTH // 2)] = 128  # a deliberate half-transparent part
    rgba = Image.fromarray(np.dstack([image, alpha]), "RGBA")
    result = remove_background(rgba)
    assert result.mode == "RGBA"
    np.testing.assert_array_equal(np.asarray(result), np.asarray(rgba))


def test_opaque_rgba_is_segmented_like_rgb() -> None:
    image, truth = multicolour_on_gradient()
    rgba = Image.fromarray(np.dstack([image, np.full((HEIGHT, WIDTH), 255, np.uint8)]), "RGBA")
    assert iou(alpha_of(remove_background(rgba)), truth) > MIN_IOU


def test_palette_transparency_counts_as_transparency() -> None:
    palette = Image.new("P", (8, 8), 0)
    palette.putpalette([255, 255, 255, 200, 0, 0] + [0, 0, 0] * 254)
    palette.paste(1, (2, 2, 6, 6))
    palette.info["transparency"] = 0
    assert has_transparency(palette)
    assert not has_transparency(palette.convert("RGB"))


def test_greyscale_input_is_cut_out() -> None:
    image, truth = bottle_on_white()
    grey = Image.fromarray(image).convert("L")
    result = remove_background(grey)
    assert result.mode == "RGBA"
    assert iou(alpha_of(result), truth) > MIN_IOU


def test_replace_accepts_rgba_input() -> None:
    image, truth = product_on_bottom_edge()
    rgba = Image.fromarray(np.dstack([image, np.where(truth, 255, 0).astype(np.uint8)]), "RGBA")
    result = np.asarray(replace_background(rgba, background=(0, 0, 0)))
    assert (result[~truth] == 0).all()
    np.testing.assert_array_equal(result[truth], image[truth])


@pytest.mark.parametrize("size", [(1, 1), (3, 2), (100, 1), (7, 5), (16, 16)])
def test_tiny_and_sliver_images_come_back_whole(size: tuple[int, int]) -> None:
    pixels = np.random.default_rng(7).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    image = Image.fromarray(pixels)
    assert remove_background(image).size == size
    assert replace_background(image, background=(0, 0, 0)).size == size


# --- backgrounds made of two regions (a table or floor in front of a wall) --------------------
# Measured at 640×480: IoU 0.996 (table), 0.996 (tilted), 0.9998 (floor); before the several-
# region model, 0.23-0.28, as the table was kept with the subject.
MIN_TWO_REGION_IOU = 0.95


TWO_REGION_SCENES: dict[str, Callable[[], tuple[np.ndarray, np.ndarray, np.ndarray]]] = {
    "mug_on_table": mug_on_table,
    "mug_on_tilted_table": lambda: mug_on_table(tilt=0.08),
    "product_on_floor": product_on_floor,
}


@pytest.mark.parametrize("name", list(TWO_REGION_SCENES))
def test_table_and_wall_both_go(name: str) -> None:
    image, truth, lower = TWO_REGION_SCENES[name]()
    alpha = alpha_of(remove_background(Image.fromarray(image)))
    assert iou(alpha, truth) > MIN_TWO_REGION_IOU
    outside = far_outside(truth)
    table, wall = outside & (lower > 0.5), outside & (lower == 0)
    assert table.sum() > 10_000 and wall.sum() > 10_000
    assert (alpha[table] == 0).all()
    assert (alpha[wall] == 0).all()
    assert (alpha[far_inside(truth)] == 1).all()


def test_shadow_on_the_floor_goes_with_it() -> None:
    image, truth, _ = product_on_floor()
    alpha = alpha_of(remove_background(Image.fromarray(image)))
    in_shadow = (floor_shade() > 0.5) & far_outside(truth)
    assert in_shadow.sum() > 500
    assert (alpha[in_shadow] == 0).all()


def test_blurred_horizon_goes_with_the_background() -> None:
    # Depth of field: the horizon blurred by σ = 6 px (about 5 working pixels).
    rng = np.random.default_rng(12)
    step = np.broadcast_to(np.arange(HEIGHT)[:, None] >= 0.7 * HEIGHT, (HEIGHT, WIDTH))
    lower = cv2.GaussianBlur(step.astype(np.float32), (0, 0), 6)
    image = np.full((HEIGHT, WIDTH, 3), (225.0, 220.0, 210.0)) * (1 - lower[..., None])
    image += np.full((HEIGHT, WIDTH, 3), (150.0, 100.0, 66.0)) * lower[..., None]
    subject = np.zeros((HEIGHT, WIDTH), np.uint8)
    cv2.ellipse(subject, (WIDTH // 2, int(HEIGHT * 0.6)), (90, 130), 0, 0, 360, 1, -1)
    truth = subject.astype(bool)
    image[truth] = (40, 90, 170)
    alpha = alpha_of(
        remove_background(Image.fromarray(finish(image + rng.normal(0, 2.5, (HEIGHT, WIDTH, 1)))))
    )
    assert iou(alpha, truth) > MIN_TWO_REGION_IOU
    assert (alpha[far_outside(truth)] == 0).all()


def test_subject_cut_off_along_a_whole_edge_is_not_a_table() -> None:
    # Head and shoulders: the shirt covers the bottom edge and both bottom corners like a table,
    # but meets the wall along a curve, so it stays with the subject.
    rng = np.random.default_rng(13)
    y = np.arange(HEIGHT, dtype=np.float64)[:, None, None]
    image = np.broadcast_to(np.array([200.0, 205.0, 210.0]) - 30 * y / HEIGHT, (HEIGHT, WIDTH, 3)).copy()
    shirt, head = np.zeros((HEIGHT, WIDTH), np.uint8), np.zeros((HEIGHT, WIDTH), np.uint8)
    cv2.ellipse(shirt, (WIDTH // 2, HEIGHT + 60), (int(WIDTH * 0.55), 200), 0, 0, 360, 1, -1)
    cv2.rectangle(shirt, (WIDTH // 2 - 40, HEIGHT // 2), (WIDTH // 2 + 40, HEIGHT), 1, -1)
    cv2.ellipse(head, (WIDTH // 2, int(HEIGHT * 0.42)), (80, 100), 0, 0, 360, 1, -1)
    image[shirt.astype(bool)] = np.broadcast_to(shading(WIDTH, (60, 70, 120)), image.shape)[
        shirt.astype(bool)
    ]
    image[head.astype(bool)] = (210, 160, 130)
    truth = (shirt | head).astype(bool)
    alpha = alpha_of(remove_background(Image.fromarray(finish(image + rng.normal(0, 2, (HEIGHT, WIDTH, 1))))))
    assert iou(alpha, truth) > MIN_IOU


def test_table_is_removed_around_a_product_on_the_bottom_edge() -> None:
    # A second product stands on the bottom edge: it hides part of the table's border and stays.
    image, truth, lower = mug_on_table()
    box = np.zeros((HEIGHT, WIDTH), bool)
    box[300:, 60:160] = True
    image[box] = (30, 140, 60)
    alpha = alpha_of(remove_background(Image.fromarray(image)))
    assert iou(alpha, truth | box) > MIN_TWO_REGION_IOU
    assert (alpha[far_outside(truth | box) & (lower > 0.5)] == 0).all()


def test_separate_object_on_the_wall_is_kept() -> None:
    # A sticker on the wall, clear of the mug and the frame, stands out like the subject: every
    # salient object is kept (the matte does not pick one).
    image, truth, _ = mug_on_table()
    sticker = np.zeros((HEIGHT, WIDTH), bool)
    sticker[60:130, 60:170] = True
    image[sticker] = (230, 40, 60)
    alpha = alpha_of(remove_background(Image.fromarray(image)))
    assert (alpha[far_inside(sticker)] == 1).all()
    assert iou(alpha, truth | sticker) > MIN_TWO_REGION_IOU
