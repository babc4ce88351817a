"""The framing overlay: the spec crop and its bands, in preview pixels."""

from __future__ import annotations

import pytest

from kiosk.screens.overlay import EYE_LINE, FACE_WIDTH, HEAD_TOP, SPEC_H, SPEC_W, Rect, overlay_geometry


def spec_y(geo, y: float) -> float:
    """A preview y back in spec-crop pixels."""
    return (y - geo.crop.y) / geo.scale


def test_quarter_face_share_crop_for_a_640x480_preview() -> None:
    geo = overlay_geometry(640, 480, 0.25)
    # a face a quarter of the frame wide (160 px) is 240/480 of the crop: crop 320 px wide
    assert geo.crop.w == pytest.approx(320)
    assert geo.crop.h == pytest.approx(320 * 4 / 3)
    assert geo.crop.x == pytest.approx(160)
    assert geo.crop.y == pytest.approx((480 - 320 * 4 / 3) / 2)
    assert geo.scale == pytest.approx(320 / SPEC_W)
    assert 0.25 * 640 / geo.scale == pytest.approx(240)


def test_default_box_is_the_crop_guidance_aims_for() -> None:
    from kiosk.photo.guidance import DEFAULT_SETTINGS as g

    geo = overlay_geometry(640, 480)
    target = (g.face_share_min + g.face_share_max) / 2 * 640  # face px guidance aims at
    assert target / geo.scale == pytest.approx(240)


def test_bands_match_the_spec() -> None:
    geo = overlay_geometry(640, 480, 0.25)
    assert spec_y(geo, geo.head_top.y) == pytest.approx(HEAD_TOP[0])
    assert spec_y(geo, geo.head_top.bottom) == pytest.approx(HEAD_TOP[1])
    assert spec_y(geo, geo.eye_line.y) == pytest.approx(EYE_LINE[0])
    assert spec_y(geo, geo.eye_line.bottom) == pytest.approx(EYE_LINE[1])
    assert (HEAD_TOP, EYE_LINE, FACE_WIDTH) == ((50, 110), (200, 300), (180, 300))
    # face width markers: the cheeks belong between the inner (180) and outer (300) widths
    centre = geo.crop.x + geo.crop.w / 2
    assert (centre - geo.face_left.x) / geo.scale == pytest.approx(FACE_WIDTH[1] / 2)
    assert (centre - geo.face_left.right) / geo.scale == pytest.approx(FACE_WIDTH[0] / 2)
    assert (geo.face_right.x - centre) / geo.scale == pytest.approx(FACE_WIDTH[0] / 2)
    assert (geo.face_right.right - centre) / geo.scale == pytest.approx(FACE_WIDTH[1] / 2)
    for band in (geo.head_top, geo.eye_line):
        assert band.x == geo.crop.x and band.w == geo.crop.w


@pytest.mark.parametrize("size", [(640, 480), (1280, 720), (1920, 1080), (480, 640)])
@pytest.mark.parametrize("share", [0.15, 0.25, 0.35])
def test_everything_is_inside_the_crop_and_the_crop_inside_the_frame(size, share) -> None:
    w, h = size
    geo = overlay_geometry(w, h, share)
    frame = Rect(0, 0, w, h)
    assert geo.crop.inside(frame)
    assert geo.crop.w / geo.crop.h == pytest.approx(SPEC_W / SPEC_H)
    assert geo.crop.x + geo.crop.w / 2 == pytest.approx(w / 2)
    assert geo.crop.y + geo.crop.h / 2 == pytest.approx(h / 2)
    for r in (geo.head_top, geo.eye_line, geo.face_left, geo.face_right):
        assert r.inside(geo.crop)


def test_a_crop_too_big_for_the_frame_is_shrunk_to_fit() -> None:
    geo = overlay_geometry(640, 480, 0.5)  # would need a 640 px wide, 853 px high crop
    assert geo.crop.h == pytest.approx(480)
    assert geo.crop.w == pytest.approx(360)


def test_the_face_share_changes_the_crop() -> None:
    small, large = overlay_geometry(640, 480, 0.2), overlay_geometry(640, 480, 0.3)
    assert small.crop.w < large.crop.w


@pytest.mark.parametrize("args", [(0, 480, 0.25), (640, -1, 0.25), (640, 480, 0), (640, 480, 1.5)])
def test_bad_arguments(args) -> None:
    with pytest.raises(ValueError):
        overlay_geometry(*args)
