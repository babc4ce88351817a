"""Glasses (issue 23 item 3): worn or not, glare white or coloured, tinted
lenses only on a face wearing glasses, and the school's policy; on every
skin tone of the labelled set (tests/face_set.py), with glasses (and a brow
ridge's shadow) drawn at the face mesh's eyes (tests/glasses_cases.py). Grace Hopper wears her own
glasses in her portrait; the astronaut wears none."""

from __future__ import annotations

import cv2
import face_set as fs
import glasses_cases as gc
import numpy as np
import pytest

from kiosk.codes import Hint
from kiosk.config import PhotoConfig
from kiosk.photo.crop import encode_jpeg
from kiosk.photo.guidance import _glasses_hints, hints_for
from kiosk.photo.measures import DEFAULT_MEASURE_SETTINGS
from kiosk.photo.measures import measure_face
from kiosk.photo.measures.eyewear import apply_policy
from kiosk.photo.process import check_spec_jpeg

FACES = [(p, s) for p in fs.PORTRAITS for s in fs.SKIN]


@pytest.fixture(scope="module")
def lit(tmp_path_factory):
    """(portrait, skin) -> (spec photo RGB, its FaceInfo), the lit booth's."""
    from kiosk.photo.analysis import FaceAnalyser

    with FaceAnalyser(static_image_mode=True) as analyser:
        runner = fs.Runner(analyser, tmp_path_factory.mktemp("faces"))
        photos = {}
        for key in FACES:
            rgb = fs.decode(runner.lit(*key)[1])
            photos[key] = (rgb, analyser.analyse(rgb).faces[0])
        yield analyser, photos


def _measures(analyser, img):
    return measure_face(img, analyser.analyse(img).faces[0])


@pytest.mark.parametrize("portrait,skin", FACES)
def test_glasses_are_seen_worn_and_not_on_a_bare_face(lit, portrait, skin):
    analyser, photos = lit
    rgb, face = photos[(portrait, skin)]
    bare = _measures(analyser, rgb)
    own_glasses = portrait == "hopper"
    assert bare["GLASSES"].passed is not own_glasses, bare["GLASSES"]
    assert bare["TINTED_GLASSES"].passed and bare["GLASSES_GLARE"].passed, (bare["TINTED_GLASSES"], bare["GLASSES_GLARE"])
    for frame in gc.FRAMES:
        worn = _measures(analyser, gc.glasses(rgb, face, frame=frame))
        assert not worn["GLASSES"].passed, (frame, worn["GLASSES"])
        assert worn["TINTED_GLASSES"].passed, (frame, worn["TINTED_GLASSES"])  # clear lenses
        assert worn["GLASSES_GLARE"].passed, (frame, worn["GLASSES_GLARE"])
    tinted = _measures(analyser, gc.glasses(rgb, face, tint=0.3))
    assert not tinted["TINTED_GLASSES"].passed, tinted["TINTED_GLASSES"]
    for glare in gc.GLARES:
        shine = _measures(analyser, gc.glasses(rgb, face, glare=glare))
        assert not shine["GLASSES_GLARE"].passed, (glare, shine["GLASSES_GLARE"])
        assert shine["TINTED_GLASSES"].passed, (glare, shine["TINTED_GLASSES"])


@pytest.mark.parametrize("skin", [42.0, 32.0, 24.0])
def test_a_brow_shadow_is_not_a_frame_but_a_thin_frame_is(lit, skin):
    """The shadow of a brow ridge over a lit nose, a step dark on one side
    only, read as a frame's bridge (0.19-0.21 on these tones against 0.08):
    on real dark faces under a top light 3 of 6 bare faces read as wearing
    glasses. A bridge is a bar, sharp on both sides: the shadow is no frame
    for the check or the live hint, a thin frame over it still is."""
    analyser, photos = lit
    rgb, face = photos[("astronaut", skin)]
    shadow = gc.brow_shadow(rgb, face, depth=0.5)
    bare = _measures(analyser, shadow)
    assert bare["GLASSES"].passed, bare["GLASSES"]
    assert _live_glasses_hints(analyser, shadow) == set()
    for frame in ("black", "metal"):
        thin = gc.glasses(shadow, face, frame=frame, thickness=0.04)
        assert not _measures(analyser, thin)["GLASSES"].passed, frame
        assert _live_glasses_hints(analyser, thin) == {Hint.GLASSES}, frame


def _live_glasses_hints(analyser, img: np.ndarray) -> set:
    """The live glasses hint under "forbidden" on its own: hints_for() asks a
    turned head to face the camera first, and a painted frame can tip the
    mesh's yaw over that line on some runs (CI once), hiding the hint."""
    face = analyser.analyse(img).faces[0]
    return _glasses_hints(img, face, DEFAULT_MEASURE_SETTINGS, "forbidden")


def test_a_dark_bare_face_is_not_tinted_glasses(lit):
    """The old tint measure read the eyes themselves against the cheeks: a
    bare face read 0.53, clear lenses 0.45. Now no glasses, no tint call,
    however dark the eye area."""
    analyser, photos = lit
    for key in FACES:
        rgb, _ = photos[key]
        assert _measures(analyser, rgb)["TINTED_GLASSES"].passed, key


@pytest.mark.parametrize("skin", fs.SKIN)
def test_a_coloured_lens_is_tinted_on_every_tone(lit, skin):
    """A light blue or brown lens darkens the skin behind it little (luma
    0.69-0.83 of the cheek's, over the 0.40 line) but colours it: judged
    by light alone it read as clear (on real faces a light blue pair, and
    blue mirrored aviators). Judged by the colour too, relative to the
    cheek's lightness, it is tinted on the darkest skin as on the lightest,
    for the check and the live hint; the same frames with clear lenses are
    not (test_glasses_are_seen_worn_and_not_on_a_bare_face). The astronaut:
    Grace Hopper wears her own glasses under a drawn pair."""
    analyser, photos = lit
    rgb, face = photos[("astronaut", skin)]
    for colour, passes in gc.LENS_COLOURS.items():
        img = gc.glasses(rgb, face, tint=passes)
        tint = _measures(analyser, img)["TINTED_GLASSES"]
        assert not tint.passed, (colour, tint)
        hints = _glasses_hints(img, analyser.analyse(img).faces[0], DEFAULT_MEASURE_SETTINGS, "allowed")
        assert Hint.TINTED_GLASSES in hints, (colour, hints)


def _skin_shine(rgb, face):
    """Clipped white shine on the skin just under each eye, as on a very
    light face under too much light."""
    out = rgb.astype(np.float32)
    for (cx, cy), ew in gc._lenses(face):
        blob = np.zeros(rgb.shape[:2], np.float32)
        cv2.ellipse(blob, ((float(cx), float(cy + 0.35 * ew)), (0.5 * ew, 0.2 * ew), 0), 1.0, -1)
        blob = cv2.GaussianBlur(blob, (0, 0), 0.8)[..., None]
        out = out * (1 - blob) + np.float32(252) * blob
    return out.round().astype(np.uint8)


@pytest.mark.parametrize("skin", fs.SKIN)
def test_shine_on_a_bare_face_is_not_glare(lit, skin):
    """Glare is a reflection in a lens: with no glasses there is none. On
    real bare faces the old measure took the clipped shine of very light
    skin, and the booth's blue beside a small face's eye, for glare (4 of
    98 faces; benchmarks/bench_real_faces.py). The same shine inside a pair
    of glasses is still read."""
    analyser, photos = lit
    rgb, face = photos[("astronaut", skin)]
    shine = _skin_shine(rgb, face)
    bare = _measures(analyser, shine)
    assert bare["GLASSES_GLARE"].passed and bare["GLASSES_GLARE"].value == 0.0, bare["GLASSES_GLARE"]
    assert not _measures(analyser, gc.glasses(shine, face))["GLASSES_GLARE"].passed
    # The live hint follows the check: no "glare" told to a student without glasses.
    assert Hint.GLASSES_GLARE not in hints_for(analyser.analyse(shine), PhotoConfig())
    assert Hint.GLASSES_GLARE in hints_for(analyser.analyse(gc.glasses(shine, face)), PhotoConfig())


@pytest.mark.parametrize("policy,worn,glare", [
    ("allowed", set(), set()), ("no_glare", set(), {"GLASSES_GLARE"}),
    ("forbidden", {"GLASSES"}, {"GLASSES", "GLASSES_GLARE"}),
])
def test_the_schools_policy(lit, policy, worn, glare):
    analyser, photos = lit
    spec = PhotoConfig(glasses=policy)
    rgb, face = photos[("astronaut", None)]
    glasses_codes = {"GLASSES", "GLASSES_GLARE", "TINTED_GLASSES"}
    for img, expected in ((rgb, set()), (gc.glasses(rgb, face), worn),
                          (gc.glasses(rgb, face, glare="bluish"), glare)):
        problems, _ = check_spec_jpeg(encode_jpeg(img, spec).data, analyser, spec, count_people=False)
        assert set(problems) & glasses_codes == expected, (policy, problems)
    checks = measure_face(rgb, face)
    assert apply_policy(checks, policy)["GLASSES"].value == checks["GLASSES"].value  # reported all the same


def test_live_hints_follow_the_policy(lit):
    analyser, photos = lit
    for key in (("astronaut", None), ("astronaut", 24.0), ("hopper", 52.0)):
        rgb, face = photos[key]
        worn = analyser.analyse(gc.glasses(rgb, face))
        assert Hint.GLASSES in hints_for(worn, PhotoConfig(glasses="forbidden")), key
        assert Hint.GLASSES not in hints_for(worn, PhotoConfig()), key
        shine = analyser.analyse(gc.glasses(rgb, face, glare="bluish"))
        assert Hint.GLASSES_GLARE in hints_for(shine, PhotoConfig()), key
        assert Hint.GLASSES_GLARE not in hints_for(shine, PhotoConfig(glasses="allowed")), key
        dark = hints_for(analyser.analyse(gc.glasses(rgb, face, tint=0.3)), PhotoConfig(glasses="allowed"))
        # Known limit: on the darkest skin, sunglasses hide the eye whites the
        # exposure reads, so TOO_DARK comes first and the glasses hints wait.
        assert Hint.TINTED_GLASSES in dark or (key == ("astronaut", 24.0) and Hint.TOO_DARK in dark), key
    bare = analyser.analyse(photos[("astronaut", 24.0)][0])
    assert not {Hint.GLASSES, Hint.TINTED_GLASSES} & set(hints_for(bare, PhotoConfig(glasses="forbidden")))
