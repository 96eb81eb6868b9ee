"""The matte's steps one by one: background model, trimap, GrabCut, clean-up, edge refinement."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from editstudio.engine.backdrop import (
    BUSY_BACKGROUND_SIGMA,
    build_trimap,
    fit_border_background,
    fit_border_regions,
    frame_trimap,
    is_horizon,
    region_trimap,
    soft_shadows,
)
from editstudio.engine.edges import decontaminate, refine_alpha
from editstudio.engine.raster import WORK_MAX_SIDE, border_band, working_copy
from editstudio.engine.segment import (
    clean_mask,
    fill_small_holes,
    foreground_alpha,
    segment_with_grabcut,
    to_lab,
)

HEIGHT, WIDTH = 240, 320


def gradient(top: tuple[float, float, float], bottom: tuple[float, float, float]) -> np.ndarray:
    t = np.linspace(0.0, 1.0, HEIGHT)[:, None, None]
    ramp = np.asarray(top) * (1 - t) + np.asarray(bottom) * t
    return np.broadcast_to(ramp, (HEIGHT, WIDTH, 3)).astype(np.float64)


def as_image(pixels: np.ndarray) -> np.ndarray:
    return np.clip(pixels + 0.5, 0, 255).astype(np.uint8)


def box(top: int, bottom: int, left: int, right: int) -> np.ndarray:
    mask = np.zeros((HEIGHT, WIDTH), bool)
    mask[top:bottom, left:right] = True
    return mask


# --- background model -------------------------------------------------------------------------


def test_background_model_recovers_a_gradient_behind_a_subject_on_the_edge() -> None:
    background = gradient((40, 70, 150), (200, 210, 240))
    image = background.copy()
    image[box(80, HEIGHT, 100, 220)] = (220, 60, 20)  # stands on the bottom edge
    model = fit_border_background(to_lab(as_image(image)))
    predicted = model.predict(HEIGHT, WIDTH)
    truth = to_lab(as_image(background))
    # The hidden centre is extrapolated from the frame: within 2 ΔE (just noticeable), while the
    # subject's own colour is tens of ΔE away.
    assert np.linalg.norm(predicted[HEIGHT // 2, WIDTH // 2] - truth[HEIGHT // 2, WIDTH // 2]) < 2.0
    assert np.linalg.norm(predicted[-1, WIDTH // 2] - truth[-1, WIDTH // 2]) < 2.0
    assert model.sigma < 1.0


def test_background_spread_measures_texture() -> None:
    rng = np.random.default_rng(0)
    flat = np.full((HEIGHT, WIDTH, 3), 200.0)
    textured = flat + rng.normal(0, 8.0, (HEIGHT, WIDTH, 1))
    flat_sigma = fit_border_background(to_lab(as_image(flat))).sigma
    textured_sigma = fit_border_background(to_lab(as_image(textured))).sigma
    assert flat_sigma < 0.1
    assert textured_sigma > 1.0


def test_busy_scene_is_told_apart_from_texture() -> None:
    rng = np.random.default_rng(4)
    blobs = rng.integers(0, 256, (HEIGHT // 16, WIDTH // 16, 3), dtype=np.uint8)
    busy = cv2.resize(blobs, (WIDTH, HEIGHT), interpolation=cv2.INTER_CUBIC)
    textured = as_image(np.full((HEIGHT, WIDTH, 3), 180.0) + rng.normal(0, 6.0, (HEIGHT, WIDTH, 1)))
    assert fit_border_background(to_lab(busy)).sigma > BUSY_BACKGROUND_SIGMA
    assert fit_border_background(to_lab(textured)).sigma < BUSY_BACKGROUND_SIGMA


def test_border_band_is_a_frame() -> None:
    band = border_band(100, 200, fraction=0.02)
    assert band[0].all() and band[-1].all() and band[:, 0].all() and band[:, -1].all()
    # 2 % of the long side: 4 px along every edge, nothing inside.
    assert band[:, 100].sum() == 8 and band[50].sum() == 8
    assert not band[4:-4, 4:-4].any()


# --- shadows ---------------------------------------------------------------------------------


def darkened(where: np.ndarray, blur_px: float, depth: float) -> np.ndarray:
    """A light grey background darkened by ``depth`` (0..1) over ``where``, edge blurred."""
    shade = where.astype(np.float32)
    if blur_px > 0:
        shade = cv2.GaussianBlur(shade, (0, 0), blur_px)
    return as_image(np.full((HEIGHT, WIDTH, 3), 235.0) * (1.0 - depth * shade[..., None]))


def shadow_mask_of(rgb: np.ndarray) -> np.ndarray:
    lab = to_lab(rgb)
    model = fit_border_background(lab)
    return soft_shadows(lab, model.predict(HEIGHT, WIDTH), tolerance=3.0)


def test_soft_cast_shadow_is_found() -> None:
    floor_shadow = np.zeros((HEIGHT, WIDTH), np.uint8)
    cv2.ellipse(floor_shadow, (WIDTH // 2, 180), (90, 14), 0, 0, 360, 1, -1)
    shadows = shadow_mask_of(darkened(floor_shadow.astype(bool), blur_px=8, depth=0.3))
    assert shadows[180, WIDTH // 2]


def test_sharp_grey_subject_is_not_a_shadow() -> None:
    # The same tone and hue as a shadow, but with a step edge: a grey product, kept.
    subject = box(60, 180, 110, 210)
    shadows = shadow_mask_of(darkened(subject, blur_px=0, depth=0.3))
    assert not shadows[120, WIDTH // 2]


def test_coloured_or_very_dark_regions_are_not_shadows() -> None:
    patch = np.zeros((HEIGHT, WIDTH), np.float32)
    cv2.ellipse(patch, (WIDTH // 2, 120), (90, 30), 0, 0, 360, 1.0, -1)
    soft = cv2.GaussianBlur(patch, (0, 0), 8)[..., None]
    background = np.full((HEIGHT, WIDTH, 3), 235.0)
    tinted = as_image(background * (1 - soft) + np.array([235.0, 120.0, 120.0]) * soft)
    black = as_image(background * (1 - soft) + 15.0 * soft)
    assert not shadow_mask_of(tinted)[120, WIDTH // 2]
    assert not shadow_mask_of(black)[120, WIDTH // 2]


# --- trimap and GrabCut -----------------------------------------------------------------------


def test_trimap_labels_far_subject_and_frame_connected_background() -> None:
    distance = np.zeros((HEIGHT, WIDTH), np.float32)
    distance[box(60, 180, 80, 240)] = 40.0  # the subject
    distance[box(110, 130, 150, 170)] = 0.0  # a background-coloured patch enclosed by it
    trimap = build_trimap(distance, sigma=0.5)
    assert trimap[5, 5] == cv2.GC_BGD
    assert trimap[HEIGHT // 2 - 40, WIDTH // 2 - 40] == cv2.GC_FGD
    # Enclosed, so only probably background: GrabCut and hole filling decide.
    assert trimap[120, 160] == cv2.GC_PR_BGD
    # The subject's own outline is left undecided on both sides.
    assert trimap[60, 160] in (cv2.GC_PR_FGD, cv2.GC_FGD)
    assert trimap[58, 160] == cv2.GC_PR_BGD


def test_trimap_tolerance_grows_with_background_spread() -> None:
    distance = np.full((HEIGHT, WIDTH), 6.0, np.float32)
    distance[border_band(HEIGHT, WIDTH)] = 0.0
    # 6 ΔE is clearly off a flat background but within the noise of a textured one.
    assert build_trimap(distance, sigma=0.1)[HEIGHT // 2, WIDTH // 2] != cv2.GC_BGD
    textured = build_trimap(distance, sigma=3.0)
    assert textured[HEIGHT // 2, WIDTH // 2] == cv2.GC_BGD


def test_frame_trimap_is_background_outside_the_inset_only() -> None:
    trimap = frame_trimap((HEIGHT, WIDTH), inset=0.05)  # 16 px of a 320 px long side
    assert trimap[15, 160] == cv2.GC_BGD and trimap[HEIGHT - 16, 160] == cv2.GC_BGD
    assert trimap[16, 16] == cv2.GC_PR_FGD
    assert set(np.unique(trimap)) == {cv2.GC_BGD, cv2.GC_PR_FGD}


def test_grabcut_separates_a_subject_and_is_deterministic() -> None:
    rng = np.random.default_rng(1)
    image = np.full((HEIGHT, WIDTH, 3), 235.0) + rng.normal(0, 3, (HEIGHT, WIDTH, 1))
    subject = box(60, 180, 90, 230)
    image[subject] = (30, 90, 170)
    rgb = as_image(image)
    trimap = np.full((HEIGHT, WIDTH), cv2.GC_PR_BGD, np.uint8)
    trimap[border_band(HEIGHT, WIDTH, fraction=0.05)] = cv2.GC_BGD
    trimap[box(40, 200, 70, 250)] = cv2.GC_PR_FGD  # a loose box around the subject
    first = segment_with_grabcut(rgb, trimap)
    second = segment_with_grabcut(rgb, trimap)
    np.testing.assert_array_equal(first, second)
    assert (first & subject).sum() / (first | subject).sum() > 0.95


def test_grabcut_without_background_samples_returns_the_trimap_foreground() -> None:
    trimap = np.full((HEIGHT, WIDTH), cv2.GC_PR_FGD, np.uint8)
    mask = segment_with_grabcut(np.zeros((HEIGHT, WIDTH, 3), np.uint8), trimap)
    assert mask.all()


# --- clean-up ---------------------------------------------------------------------------------


def test_clean_mask_drops_specks_and_keeps_large_parts() -> None:
    mask = box(50, 150, 50, 150) | box(60, 140, 200, 260) | box(200, 203, 300, 303)
    cleaned = clean_mask(mask)
    assert cleaned[100, 100] and cleaned[100, 230]
    assert not cleaned[201, 301]


def test_clean_mask_fills_holes_small_relative_to_the_subject() -> None:
    mask = box(20, 220, 20, 300)  # 56 000 px
    mask[100:110, 100:110] = False  # 100 px: well under 2 % of the subject
    mask[60:160, 180:280] = False  # 10 000 px: an opening, kept
    cleaned = clean_mask(mask)
    assert cleaned[105, 105]
    assert not cleaned[110, 230]


def test_clean_mask_of_nothing_is_nothing() -> None:
    assert not clean_mask(np.zeros((HEIGHT, WIDTH), bool)).any()


def test_fill_small_holes_fills_highlights_but_keeps_openings() -> None:
    mask = box(20, 220, 20, 300)
    mask[100:104, 100:104] = False  # a small highlight: 16 px
    mask[60:160, 180:280] = False  # a handle's opening: 10 000 px
    filled = fill_small_holes(mask, max_area_px=100)
    assert filled[101, 101]
    assert not filled[110, 230]
    # Background reaching the frame is never a hole, whatever its size.
    assert not fill_small_holes(box(0, 100, 0, WIDTH), max_area_px=1e9)[200, 10]


# --- edge refinement --------------------------------------------------------------------------


def supersampled_disc(scale: int = 4) -> np.ndarray:
    """Exact-ish area coverage of a disc: drawn at ``scale``× and area-averaged down."""
    big = np.zeros((HEIGHT * scale, WIDTH * scale), np.float32)
    cv2.circle(big, (WIDTH * scale // 2, HEIGHT * scale // 2), 80 * scale, 1.0, -1)
    coverage: np.ndarray = cv2.resize(big, (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA)
    return coverage


def test_refine_alpha_is_exact_away_from_the_edge_and_soft_on_it() -> None:
    coverage = supersampled_disc()
    rgb = as_image(coverage[..., None] * np.array([20.0, 40.0, 200.0]) + (1 - coverage[..., None]) * 240.0)
    alpha = refine_alpha(rgb, coverage >= 0.5)
    inside = cv2.distanceTransform((coverage >= 1).astype(np.uint8), cv2.DIST_L2, 5) > 6
    outside = cv2.distanceTransform((coverage <= 0).astype(np.uint8), cv2.DIST_L2, 5) > 6
    assert (alpha[inside] == 1.0).all()
    assert (alpha[outside] == 0.0).all()
    edge = (coverage > 0) & (coverage < 1)
    # Rounding to uint8 alone costs up to 0.01; a hard edge would be off by about 0.25 on average.
    assert np.abs(alpha - coverage)[edge].mean() < 0.03


def test_refine_alpha_upsamples_a_working_mask() -> None:
    coverage = supersampled_disc()
    rgb = as_image(coverage[..., None] * np.array([20.0, 40.0, 200.0]) + (1 - coverage[..., None]) * 240.0)
    small_mask = cv2.resize(coverage, (WIDTH // 2, HEIGHT // 2), interpolation=cv2.INTER_AREA) >= 0.5
    alpha = refine_alpha(rgb, small_mask)
    assert alpha.shape == (HEIGHT, WIDTH)
    assert ((alpha >= 0.5) == (coverage >= 0.5)).mean() > 0.999


def test_decontaminate_solves_edge_colours_and_leaves_the_rest() -> None:
    coverage = supersampled_disc()
    red = np.array([200.0, 30.0, 30.0])
    rgb = as_image(coverage[..., None] * red + (1 - coverage[..., None]) * 245.0)
    out = decontaminate(rgb, coverage)
    solid = (coverage == 0) | (coverage == 1)
    np.testing.assert_array_equal(out[solid], rgb[solid])
    solvable = (coverage >= 0.25) & (coverage < 1)
    # Mixed pixels are as bright as ~245 in green; solved, they return to the subject's red.
    assert np.abs(out[solvable].astype(float) - red).max() < 12


# --- whole matte ------------------------------------------------------------------------------


def test_foreground_alpha_shape_type_and_range() -> None:
    rng = np.random.default_rng(2)
    image = np.full((HEIGHT, WIDTH, 3), 250.0) + rng.normal(0, 2, (HEIGHT, WIDTH, 1))
    image[box(70, 170, 100, 220)] = (10, 10, 10)
    alpha = foreground_alpha(as_image(image))
    assert alpha.dtype == np.float32
    assert alpha.shape == (HEIGHT, WIDTH)
    assert alpha.min() >= 0.0 and alpha.max() <= 1.0
    assert alpha[120, 160] == 1.0 and alpha[5, 5] == 0.0


def test_foreground_alpha_is_deterministic() -> None:
    rng = np.random.default_rng(3)
    image = gradient((90, 90, 90), (170, 170, 170)) + rng.normal(0, 4, (HEIGHT, WIDTH, 1))
    image[box(60, 200, 120, 200)] = (180, 40, 120)
    rgb = as_image(image)
    np.testing.assert_array_equal(foreground_alpha(rgb), foreground_alpha(rgb))


def test_plain_image_has_no_subject() -> None:
    rgb = as_image(np.full((HEIGHT, WIDTH, 3), 128.0))
    assert not foreground_alpha(rgb).any()


def test_large_input_is_segmented_on_a_working_copy() -> None:
    big = (WORK_MAX_SIDE * 3, WORK_MAX_SIDE * 2)
    assert max(working_copy(np.zeros((*big, 3), np.uint8)).shape[:2]) == WORK_MAX_SIDE
    small = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    assert working_copy(small) is small


@pytest.mark.parametrize(
    "bad",
    [np.zeros((10, 10), np.uint8), np.zeros((10, 10, 4), np.uint8), np.zeros((10, 10, 3), np.float32)],
)
def test_foreground_alpha_rejects_other_layouts(bad: np.ndarray) -> None:
    with pytest.raises(ValueError, match="uint8 RGB"):
        foreground_alpha(bad)


# --- several backgrounds ----------------------------------------------------------------------


def wall_over_table(horizon: float = 0.7) -> np.ndarray:
    """Light wall above a brown table from ``horizon`` (fraction of the height) down, with noise."""
    rng = np.random.default_rng(8)
    image = np.full((HEIGHT, WIDTH, 3), (225.0, 220.0, 210.0))
    image[round(horizon * HEIGHT) :] = (150.0, 100.0, 66.0)
    return image + rng.normal(0, 2.0, (HEIGHT, WIDTH, 1))


def test_table_below_a_wall_is_a_second_background_region() -> None:
    image = wall_over_table()
    image[box(80, 200, 120, 200)] = (40, 90, 170)
    regions = fit_border_regions(to_lab(as_image(image)))
    assert len(regions) == 2
    wall, table = regions
    assert wall.border[0].all() and not wall.border[-1].any()
    assert table.border[-1].all() and not table.border[0].any()


def test_subject_on_the_bottom_edge_is_not_a_background_region() -> None:
    image = np.full((HEIGHT, WIDTH, 3), 230.0) + np.random.default_rng(9).normal(0, 2, (HEIGHT, WIDTH, 1))
    image[box(100, HEIGHT, 120, 200)] = (200, 120, 40)  # a quarter of the bottom edge, no corner
    regions = fit_border_regions(to_lab(as_image(image)))
    assert len(regions) == 1
    assert not regions[0].border[-1, 130:190].any()


def test_region_trimap_makes_both_backgrounds_sure_and_the_horizon_too() -> None:
    image = wall_over_table()
    lab = to_lab(as_image(image))
    trimap = region_trimap(lab, fit_border_regions(lab))
    assert (trimap[5, 5], trimap[HEIGHT - 5, 5]) == (cv2.GC_BGD, cv2.GC_BGD)
    # The horizon row mixes wall and table: background, not a line of possible foreground.
    assert (trimap[round(0.7 * HEIGHT) - 1 : round(0.7 * HEIGHT) + 1] == cv2.GC_BGD).all()
    # With the wall model alone, the table is surely foreground.
    only_wall = region_trimap(lab, fit_border_regions(lab)[:1])
    assert only_wall[HEIGHT - 20, WIDTH // 2] == cv2.GC_FGD


def test_horizon_is_a_straight_seam_and_a_shoulder_curve_is_not() -> None:
    line, tilted, arc = (np.zeros((HEIGHT, WIDTH), np.uint8) for _ in range(3))
    cv2.line(line, (0, 160), (WIDTH - 1, 160), 1, 2)
    cv2.line(tilted, (0, 150), (WIDTH - 1, 180), 1, 3)
    cv2.ellipse(arc, (WIDTH // 2, HEIGHT + 40), (WIDTH // 2, 140), 0, 180, 360, 1, 2)
    assert is_horizon(line.astype(bool))
    assert is_horizon(tilted.astype(bool))
    assert not is_horizon(arc.astype(bool))
    short = np.zeros((HEIGHT, WIDTH), bool)
    short[160, 100:140] = True  # 40 px of a 320 px frame: too little of the frame to be a horizon
    assert not is_horizon(short)
    assert not is_horizon(np.zeros((HEIGHT, WIDTH), bool))


def test_background_seam_finds_blended_pixels_between_two_backgrounds() -> None:
    rows = np.arange(HEIGHT)[:, None, None]
    blend = np.clip((rows - 0.7 * HEIGHT + 4) / 8, 0, 1)  # an 8 px ramp from wall to table
    ramp = np.array([225.0, 220.0, 210.0]) * (1 - blend) + np.array([150.0, 100.0, 66.0]) * blend
    image = np.broadcast_to(ramp, (HEIGHT, WIDTH, 3)).copy()
    image[box(20, 60, 20, 60)] = (40, 90, 170)  # not a blend of the two: never a seam
    lab = to_lab(as_image(image))
    regions = fit_border_regions(lab)
    trimap = region_trimap(lab, regions)
    mixed_rows = slice(round(0.7 * HEIGHT) - 3, round(0.7 * HEIGHT) + 3)
    assert (trimap[mixed_rows, 100:200] == cv2.GC_BGD).all()
    assert trimap[40, 40] == cv2.GC_FGD
