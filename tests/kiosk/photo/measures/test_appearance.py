"""EARS_COVERED judged from the face, whatever the backdrop (issue 23 item
2): the labelled set's two real portraits, ears in view (tests/ear_cases.py),
before the booth's blue, white, light and mid grey and a pale blue; long
hair painted over the ears (black, brown, dyed) or behind them; every skin
tone; ears in shade with the backdrop beside them; and a turned head,
whose far ear is not judged. EYEBROWS_COVERED on a face lit from one side
and with the cheeks in shade."""

from __future__ import annotations

import dataclasses
import math

import cv2
import numpy as np
import pytest

import ear_cases as ec
import face_set as fs
import photo_cases as pc
from kiosk.photo.analysis import FaceInfo
from kiosk.photo.measures import DEFAULT_MEASURE_SETTINGS, measure_face
from kiosk.photo.measures.appearance import ear_rows, ear_sides, skin_lab
from kiosk.photo.measures.scene import backdrop_rgb
from kiosk.photo.process import process_still

SIDES = ("image_left", "image_right")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return str(tmp_path_factory.mktemp("ears"))


@pytest.fixture(scope="module")
def photos(analyser, folder):
    """(portrait, backdrop, skin, look) -> the spec photo (the still cropped
    and encoded as the kiosk does) and its face. look: "ears" (painted,
    hair tucked), "own" (the portrait as photographed: the astronaut's
    hair over her ears, Grace Hopper's own ears)."""
    cache: dict[tuple, tuple[np.ndarray, FaceInfo]] = {}

    def get(portrait: str, backdrop: str, skin: float | None = None, look: str = "ears"):
        key = (portrait, skin, backdrop, look)
        if key not in cache:
            still = ec.on_backdrop(portrait, ec.BACKDROPS[backdrop], folder, skin, hair_over_ears=look == "own",
                                   paint_ears=look == "ears")
            rgb = fs.decode(process_still(still, analyser, fs.SPEC).spec_jpeg)
            cache[key] = rgb, analyser.analyse(rgb).faces[0]
        return cache[key]

    return get


def _ears(analyser, img: np.ndarray, face: FaceInfo | None = None):
    face = face or analyser.analyse(img).faces[0]
    return measure_face(img, face)["EARS_COVERED"]


@pytest.mark.parametrize(("portrait", "look"), [("astronaut", "ears"), ("hopper", "ears"), ("hopper", "own")])
def test_ears_in_view_read_the_same_on_every_backdrop(photos, portrait, look):
    """Grace Hopper's own ears (a real photo's, not painted: the old
    measure read them 0.48-0.59, refused before the grey and white walls,
    whose pixels were "not backdrop", so hair) and the painted ones."""
    readings = {name: _ears(None, *photos(portrait, name, look=look)) for name in ec.BACKDROPS}
    for name, m in readings.items():
        assert m.passed, (name, m)
        assert set(m.parts) == set(SIDES)
    for side in SIDES:
        values = [m.parts[side] for m in readings.values()]
        assert max(values) - min(values) <= 0.15, (side, {n: m.parts for n, m in readings.items()})


@pytest.mark.parametrize("backdrop", ec.BACKDROPS)
def test_the_portraits_own_hair_over_her_ears_is_caught(analyser, photos, backdrop):
    m = _ears(analyser, *photos("astronaut", backdrop, look="own"))
    assert not m.passed and m.value > 0.65, m


@pytest.mark.parametrize("backdrop", ec.BACKDROPS)
@pytest.mark.parametrize("colour", ec.HAIR)
def test_long_hair_over_the_ears_is_caught(analyser, photos, colour, backdrop):
    img, face = photos("astronaut", backdrop)
    m = _ears(analyser, ec.long_hair(img, face, colour))
    assert not m.passed and min(m.parts.values()) > 0.8, m


@pytest.mark.parametrize("backdrop", ("blue", "grey"))
@pytest.mark.parametrize("colour", ec.HAIR)
def test_long_hair_behind_the_ears_passes(analyser, photos, colour, backdrop):
    img, face = photos("astronaut", backdrop)
    m = _ears(analyser, ec.long_hair(img, face, colour, behind=True))
    assert m.passed and m.value < 0.35, m


@pytest.mark.parametrize("skin", fs.SKIN)
@pytest.mark.parametrize("portrait", fs.PORTRAITS)
def test_every_skin_tone(analyser, photos, portrait, skin):
    """Before a grey wall (the booth's blue is in tests/face_set.py): ears
    in view pass, black hair over them is caught (on the darkest skin it is
    barely darker than the skin: the hair sampled above the forehead tells
    them apart), and hair tucked behind them passes."""
    img, face = photos(portrait, "grey", skin)
    assert _ears(analyser, img, face).passed
    over = _ears(analyser, ec.long_hair(img, face, "black"))
    assert not over.passed and min(over.parts.values()) > 0.8, over
    assert _ears(analyser, ec.long_hair(img, face, "black", behind=True)).passed


def _ears_in_shade(img: np.ndarray, face: FaceInfo, gain: float) -> np.ndarray:
    """img with everything beside the cheeks outside the face contour, from
    the eye line to the ear zone's bottom, that is not the backdrop (the
    ears and the hair above them) darkened to gain: ears in shade, as
    dark as hair and far from the lit cheek."""
    seen = backdrop_rgb(img, face)
    backdrop = dataclasses.replace(DEFAULT_MEASURE_SETTINGS.backdrop, rgb=tuple(float(v) for v in seen))
    out = img.astype(np.float32)
    for side in (0, 1):
        contour, top, bottom = ear_rows(face, side)
        rows = np.arange(int(top), int(bottom))
        inner = np.interp(rows + 0.5, contour[:, 1], contour[:, 0])[:, None]
        cols = np.arange(img.shape[1])[None, :]
        beside = (cols < inner if side == 0 else cols > inner) & ~backdrop.is_backdrop(img[rows[0]:rows[-1] + 1])
        out[rows[0]:rows[-1] + 1][beside] *= gain
    return np.clip(out, 0, 255).round().astype(np.uint8)


@pytest.mark.parametrize("backdrop", ("blue", "grey", "white"))
@pytest.mark.parametrize("skin", (None, 62.0))
def test_ears_in_shade_pass_when_the_backdrop_shows_past_them(analyser, photos, skin, backdrop):
    """Grace Hopper's painted ears in deep shade: the shaded (image-right)
    ear reads as hair hanging from her temple (0.82-0.98 with the outline
    test off, refused: the commonest false alarm on the real faces,
    docs/photo-checks.md), but the backdrop shows just past it on nearly
    every row, so nothing hangs over it: it passes. Long black hair over
    the same shaded ears hangs past them and is still caught."""
    img, face = photos("hopper", backdrop, skin)
    shaded = _ears_in_shade(img, face, 0.35)
    face = analyser.analyse(shaded).faces[0]
    no_outline = dataclasses.replace(DEFAULT_MEASURE_SETTINGS, min_ear_outline_backdrop=2.0)
    assert not measure_face(shaded, face, no_outline)["EARS_COVERED"].passed
    m = measure_face(shaded, face)["EARS_COVERED"]
    assert m.passed and m.value < 0.2, m
    over = ec.long_hair(shaded, face, "black")
    m = measure_face(over, analyser.analyse(over).faces[0])["EARS_COVERED"]
    assert not m.passed and min(m.parts.values()) > 0.8, m


def _yawed(face: FaceInfo, degrees: float) -> FaceInfo:
    """The face's mesh turned about the vertical axis through its centre
    (nose towards the image right for +), as FaceMesh would report it."""
    xyz = np.column_stack([face.landmarks, face.depth])
    centre = xyz.mean(axis=0)
    b = math.radians(degrees)
    rot = np.array([[math.cos(b), 0, -math.sin(b)], [0, 1, 0], [math.sin(b), 0, math.cos(b)]])
    moved = (xyz - centre) @ rot.T + centre
    return dataclasses.replace(face, landmarks=moved[:, :2], depth=moved[:, 2])


@pytest.mark.parametrize(("yaw", "hidden"), [(30.0, "image_right"), (-30.0, "image_left")])
def test_a_turned_head_is_judged_by_its_near_ear(photos, yaw, hidden):
    """Turned well past the pose limit (ear_hidden_yaw_deg), the far ear
    hides behind the head: it is not judged (None), the near one still is."""
    from kiosk.photo.measures.face import head_pose

    img, face = photos("astronaut", "blue")
    turned = _yawed(face, yaw)
    assert math.copysign(1, head_pose(turned)[0]) == math.copysign(1, yaw)
    sides = dict(zip(SIDES, ear_sides(img, turned, DEFAULT_MEASURE_SETTINGS, skin_lab(img, turned))))
    assert sides[hidden] is None
    assert sides[next(s for s in SIDES if s != hidden)] is not None
    # Within the pose limit both ears are judged.
    assert None not in ear_sides(img, face, DEFAULT_MEASURE_SETTINGS, skin_lab(img, face))


@pytest.mark.parametrize("backdrop", ("blue", "grey"))
@pytest.mark.parametrize("yaw", (15.0, -15.0))
def test_hair_over_the_far_ear_of_a_head_turned_15_deg_is_caught(photos, backdrop, yaw):
    """Real heads turned 10-21 deg still show their far ear (the real set's
    labels, docs/photo-checks.md "The missed ears"): long black hair over
    that ear alone is caught (it was not judged past 10 deg, so passed),
    and the same head with both ears in view passes."""
    img, face = photos("hopper", backdrop)
    turned = _yawed(face, yaw)  # the mesh turned; the hair is painted where it puts the ears
    far = 1 if yaw > 0 else 0  # the nose points to the far ear's side
    over = ec.long_hair(img, turned, "black")
    x = int(face.centre_x)
    one_side = img.copy()
    if far:
        one_side[:, x:] = over[:, x:]
    else:
        one_side[:, :x] = over[:, :x]
    sides = ear_sides(one_side, turned, DEFAULT_MEASURE_SETTINGS, skin_lab(one_side, turned))
    assert sides[far] is not None and sides[far] > 0.8, sides
    assert sides[1 - far] is not None and sides[1 - far] < 0.5, sides
    clear = ear_sides(img, turned, DEFAULT_MEASURE_SETTINGS, skin_lab(img, turned))
    assert max(clear) < 0.5, clear


def test_the_report_carries_both_ears(analyser, photos):
    """kiosk check-photo --json: EARS_COVERED's value is the worse ear, and
    each ear's reading is beside it."""
    img, face = photos("astronaut", "blue")
    check = measure_face(img, face)["EARS_COVERED"].as_dict()
    assert set(check["parts"]) == set(SIDES)
    assert check["value"] == max(check["parts"].values())


def _side_lit(img: np.ndarray, face: FaceInfo, shade: float) -> np.ndarray:
    """A lamp from the image-right side: left of the nose the light falls
    to `shade`, over a fifth of the face width."""
    x = np.arange(img.shape[1], dtype=np.float32)
    half = 0.1 * face.face_width
    gain = shade + (1 - shade) * np.clip((x - face.eyes_mid[0] + half) / (2 * half), 0, 1)
    return np.clip(img * gain[None, :, None], 0, 255).round().astype(np.uint8)


@pytest.mark.parametrize("skin", fs.SKIN)
def test_brows_under_light_from_one_side(analyser, photos, skin):
    """The shaded brow's forehead is as dark as its own cheek, far from the
    two cheeks' median: it read as hair (7 of 14 false alarms on the real
    faces, benchmarks/bench_real_faces.py; Grace Hopper here 0.00-0.07 on
    four skin tones). Now skin near either cheek or its own counts, and a
    fringe over the brows is still caught. Grace Hopper: the astronaut's
    blonde hair on the mid skin tones reads close to skin even in even light."""
    img, face = photos("hopper", "blue", skin)
    _bare_brows_pass_and_a_fringe_is_caught(analyser, _side_lit(img, face, 0.45))


def _bare_brows_pass_and_a_fringe_is_caught(analyser, lit: np.ndarray) -> None:
    """lit (a face with bare brows, under some light): EYEBROWS_COVERED
    passes, and a fringe drawn over its brows under the same light fails."""
    m = measure_face(lit, analyser.analyse(lit).faces[0])["EYEBROWS_COVERED"]
    assert m.passed, m
    fringe = pc.fringe(lit, analyser.analyse(lit).faces[0])
    assert not measure_face(fringe, analyser.analyse(fringe).faces[0])["EYEBROWS_COVERED"].passed


def _hair_over_one_brow(img: np.ndarray, face: FaceInfo, down_to: float) -> np.ndarray:
    """The student's own hair (taken from above the forehead) swept down
    over the image-left half of the forehead to the row down_to, the
    hair's soft lower edge there."""
    out = img.copy()
    lm, fw = face.landmarks, face.face_width
    x0, x1 = int(lm[70, 0] - 0.06 * fw), int(lm[107, 0] + 0.03 * fw)
    top, bottom = int(lm[10, 1] - 0.3 * fw), int(down_to)
    source = img[top:int(lm[10, 1] - 0.05 * fw), int(lm[70, 0]):int(lm[300, 0])]
    hair = cv2.resize(source, (x1 - x0, bottom - top), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    mask = np.zeros((bottom - top, x1 - x0), np.float32)
    mask[:-2] = 1.0
    mask = cv2.GaussianBlur(mask, (0, 0), 1.0)[..., None]
    region = out[top:bottom, x0:x1].astype(np.float32)
    out[top:bottom, x0:x1] = (hair * mask + region * (1 - mask)).round().astype(np.uint8)
    return out


@pytest.mark.parametrize("skin", fs.SKIN)
def test_hair_across_one_brow_is_caught(analyser, photos, skin):
    """Grace Hopper's dark hair swept down over one side of the forehead and
    on across the brow to just above the lid hides that brow, the other
    brow bare: caught on every skin tone. A rule that let a side pass when
    a brow's lower edge still shows under the hair (tried for hair resting
    on a visible brow, docs/photo-checks.md) fails here: the mesh moves the
    hidden brow down to the hair's edge, which then reads as the brow."""
    img, face = photos("hopper", "blue", skin)
    lid = face.landmarks[159, 1] - 0.03 * face.face_width
    across = _hair_over_one_brow(img, face, lid)
    m = measure_face(across, analyser.analyse(across).faces[0])["EYEBROWS_COVERED"]
    assert not m.passed, m


def _cheeks_shaded(img: np.ndarray, face: FaceInfo, shade: float) -> np.ndarray:
    """A lamp in front and above: the forehead and the nose face it, the
    cheeks under the eyes turn away and fall to `shade` (over a tenth of the
    face width below the eye line and beside the nose)."""
    h, w = img.shape[:2]
    fw = face.face_width
    y = np.arange(h, dtype=np.float32)[:, None]
    x = np.arange(w, dtype=np.float32)[None, :]
    below = np.clip((y - face.eye_line_y) / (0.1 * fw), 0, 1)
    beside = np.clip((np.abs(x - face.eyes_mid[0]) - 0.06 * fw) / (0.08 * fw), 0, 1)
    gain = 1 - (1 - shade) * below * beside
    return np.clip(img * gain[..., None], 0, 255).round().astype(np.uint8)


@pytest.mark.parametrize("skin", fs.SKIN)
def test_brows_pass_with_the_cheeks_in_shade(analyser, photos, skin):
    """Lit from in front and above, the forehead over the brows is far
    lighter than the cheeks (the real set's glasses wearers under a lamp:
    4 of 18 false alarms, benchmarks/bench_real_faces.py); Grace Hopper's
    bare brows read 0.10-0.35 on five of seven skin tones. The nose ridge,
    lit as the forehead is, is now a skin reference too, and her own dark
    hair drawn over the brows under the same light is still caught."""
    img, face = photos("hopper", "blue", skin)
    _bare_brows_pass_and_a_fringe_is_caught(analyser, _cheeks_shaded(img, face, 0.6))
