"""Head pose on real faces (issue 11): a level head reads level on every
skin tone (the lit cases of tests/kiosk/photo/test_face_set.py), and a head really
turned chin-up or chin-down (tests/face_set.py's pitched()) is caught on
light and dark skin alike, in the right direction."""

from __future__ import annotations

import numpy as np
import pytest

import face_model
import face_set as fs


def test_face_model_is_the_mean_of_the_portraits():
    """kiosk/photo/face_model.py is what tests/face_model.py makes from the
    installed portraits (regenerate it when they or FaceMesh change)."""
    from kiosk.photo.face_model import FACE_MODEL

    assert np.abs(face_model.build() - FACE_MODEL).max() < 0.01


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("poses")


@pytest.mark.parametrize("skin", [None, 24.0], ids=["as-shipped", "L24"])
@pytest.mark.parametrize("portrait", list(fs.PORTRAITS))
def test_preview_asks_to_level_a_turned_head(folder, portrait, skin):
    """Live preview (640x480 frames, the tracking analyser): chin up 12 deg
    is told to lower the chin, chin down to raise it, a level head neither,
    on the lightest and the darkest skin."""
    from kiosk.codes import Hint
    from kiosk.photo.analysis import FaceAnalyser
    from kiosk.photo.guidance import hints_for

    pose_hints = {Hint.CHIN_UP, Hint.CHIN_DOWN}
    seen = {}
    for pitch in (12.0, 0.0, -12.0):
        cam = fs.booth(fs.portrait_file(portrait, skin, str(folder), pitch))
        try:
            with FaceAnalyser(static_image_mode=False) as preview:
                seen[pitch] = set(hints_for(preview.analyse(cam.preview_frame()), fs.SPEC)) & pose_hints
        finally:
            cam.close()
    assert seen == {12.0: {Hint.CHIN_DOWN}, 0.0: set(), -12.0: {Hint.CHIN_UP}}, seen


@pytest.mark.parametrize("portrait", list(fs.PORTRAITS))
def test_pitch_follows_the_image_not_the_guessed_depth(portrait):
    """FaceMesh's depth is a guess that leans with the face (real faces of
    many shapes, dark skin: issue 23 item 1); the image positions are what
    the camera saw. A level head whose guessed depth leans 8 deg either way
    moves by under 3 deg (a fit that followed the depth moved 6-7 deg, past
    the 5 deg limit), and reads within 5."""
    from dataclasses import replace

    from kiosk.photo.analysis import FaceAnalyser
    from kiosk.photo.measures.face import head_pose

    rgb = fs._person_on_backdrop(fs.PORTRAITS[portrait]())
    with FaceAnalyser(static_image_mode=True) as analyser:
        face = analyser.analyse(rgb).faces[0]
    level = head_pose(face)[1]
    assert abs(level) <= 3, level
    rows = face.landmarks[:, 1] - face.landmarks[:, 1].mean()
    for lean in (8.0, -8.0):
        leaned = replace(face, depth=face.depth + np.tan(np.radians(lean)) * rows)
        pitch = head_pose(leaned)[1]
        assert abs(pitch - level) < 3 and abs(pitch) < 5, (lean, level, pitch)


def _proportions(rgb: np.ndarray, nose_y: float) -> dict[str, np.ndarray]:
    """The same level face with other proportions, as other people have
    them: wider, narrower, longer, shorter, a longer lower or upper face
    (stretched from the nose tip's row)."""
    import cv2

    h, w = rgb.shape[:2]
    out = {f"scaled x{fx:g} y{fy:g}": cv2.resize(rgb, None, fx=fx, fy=fy, interpolation=cv2.INTER_CUBIC)
           for fx, fy in ((1.15, 1), (0.87, 1), (1, 1.12), (1, 0.9))}
    rows = np.arange(int(h * 1.15), dtype=np.float32)
    cols = np.arange(w, dtype=np.float32)
    for part, src in (("lower", np.where(rows < nose_y, rows, nose_y + (rows - nose_y) / 1.12)),
                      ("upper", np.where(rows > nose_y, rows, nose_y - (nose_y - rows) / 1.12))):
        mapx, mapy = np.meshgrid(cols, src.astype(np.float32))
        out[f"{part} face x1.12"] = cv2.remap(rgb, mapx, mapy, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    return out


@pytest.mark.parametrize("portrait", list(fs.PORTRAITS))
def test_level_reads_level_whatever_the_face_proportions(portrait):
    """Issue 23 item 1: level heads read level across face shapes. The same
    level head made 13-15 % wider or narrower, 10-12 % longer or shorter, or
    with a lower or upper face 12 % longer reads within 3 deg of level (the
    fit that followed FaceMesh's depth read the astronaut narrowed -5.0 and
    with a longer upper face -4.6)."""
    from kiosk.photo.analysis import FaceAnalyser
    from kiosk.photo.measures.face import head_pose

    rgb = fs._person_on_backdrop(fs.PORTRAITS[portrait]())
    with FaceAnalyser(static_image_mode=True) as analyser:
        nose_y = float(analyser.analyse(rgb).faces[0].landmarks[1, 1])
        read = {name: head_pose(analyser.analyse(img).faces[0])[1]
                for name, img in _proportions(rgb, nose_y).items()}
    assert all(abs(p) <= 3 for p in read.values()), read
