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
