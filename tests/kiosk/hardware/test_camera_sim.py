"""The simulated camera renders a real scene the photo engine can see."""

from __future__ import annotations

import numpy as np
import pytest

from kiosk.config import CameraConfig, SimulatedCameraConfig
from kiosk.hardware.backends import make_camera
from kiosk.hardware.camera import CameraError
from kiosk.hardware.camera_sim import SimulatedCamera, apply_key
from kiosk.hardware.sim_scene import DEMO_QR_PAYLOAD, SceneControl
from kiosk.photo.qr import QrReader


@pytest.fixture()
def camera():
    cam = make_camera(CameraConfig())
    assert isinstance(cam, SimulatedCamera)
    cam.start()
    yield cam
    cam.close()


def test_default_scene_has_one_face(camera, analyser):
    frame = camera.preview_frame()
    assert frame.shape == (480, 640, 3) and frame.dtype == np.uint8
    faces = analyser.analyse(frame).faces
    assert len(faces) == 1
    # Face centred, eye line near 41 % of the height, level.
    f = faces[0]
    assert abs(f.centre_x - 320) < 10
    assert abs(f.eye_line_y / 480 - 0.41) < 0.02
    assert abs(f.roll_deg) < 2
    # The hair top was found against the blue backdrop, above the forehead.
    assert f.head_top_found and f.head_top_y < f.forehead_y - 20


def test_backdrop_is_the_booth_blue(camera):
    frame = camera.preview_frame().astype(float)
    beside_head = frame[200:280, 10:40].reshape(-1, 3).mean(axis=0)
    ratio = beside_head / np.array([100, 197, 255])
    # Same colour, a little darker off-centre (lens vignetting), never a gradient to another hue.
    assert 0.9 < ratio.mean() <= 1.0
    assert np.ptp(ratio) < 0.03


@pytest.mark.parametrize("faces", [0, 2])
def test_face_count_follows_scene(camera, analyser, faces):
    camera.update_scene(faces=faces)
    assert len(analyser.analyse(camera.preview_frame()).faces) == faces


def test_unplugged_raises_and_recovers(camera):
    camera.update_scene(unplugged=True)
    assert camera.is_available() is False
    with pytest.raises(CameraError):
        camera.preview_frame()
    with pytest.raises(CameraError):
        camera.capture_still()
    with pytest.raises(CameraError):
        camera.start()
    camera.update_scene(unplugged=False)
    assert camera.is_available() is True
    camera.start()
    assert camera.preview_frame().shape == (480, 640, 3)


def test_not_started_raises():
    cam = SimulatedCamera(CameraConfig())
    with pytest.raises(CameraError):
        cam.preview_frame()


def test_dx_shifts_the_face(camera, analyser):
    x0 = analyser.analyse(camera.preview_frame()).faces[0].centre_x
    camera.update_scene(dx=0.15)
    x1 = analyser.analyse(camera.preview_frame()).faces[0].centre_x
    assert x1 - x0 == pytest.approx(0.15 * 640, abs=8)


def test_preview_and_still_show_the_same_scene(camera, analyser):
    camera.update_scene(dx=-0.05, dy=0.03, scale=1.1)
    pre = analyser.analyse(camera.preview_frame())
    still = analyser.analyse(camera.capture_still())
    assert (still.width, still.height) == (2028, 1520)
    p, s = pre.faces[0], still.faces[0]
    assert s.face_width / still.width == pytest.approx(p.face_width / pre.width, abs=0.006)
    assert s.centre_x / still.width == pytest.approx(p.centre_x / pre.width, abs=0.006)
    assert s.eye_line_y / still.height == pytest.approx(p.eye_line_y / pre.height, abs=0.006)


def test_qr_payload_decodes(camera):
    reader = QrReader()
    assert reader.decode(camera.preview_frame()) is None
    camera.update_scene(qr_payload=DEMO_QR_PAYLOAD)
    assert reader.decode(camera.preview_frame()) == DEMO_QR_PAYLOAD
    payload = "采集码-7Q2W9E4R1T8Y5U3I"  # opaque, non-ASCII payloads too
    camera.update_scene(qr_payload=payload)
    assert reader.decode(camera.preview_frame()) == payload


def test_frames_have_sensor_noise(camera):
    a, b = camera.preview_frame(), camera.preview_frame()
    assert not np.array_equal(a, b)
    assert np.abs(a.astype(int) - b.astype(int)).mean() < 5


def test_a_still_leaves_nothing_behind_in_the_camera(camera):
    """A camera keeps no copy of a still it handed out (issue 23 item 11:
    a 12 MP render kept beside the still while it was checked was 37 MB of
    the session's peak); each still shows the scene as before, its own
    noise on it."""
    import gc
    import tracemalloc

    first = camera.capture_still()
    camera.preview_frame()  # the preview's render, kept: only a scene change re-renders it
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        still = camera.capture_still()
        size = still.nbytes
        assert still.shape == (1520, 2028, 3)
        assert not np.array_equal(still, first) and np.abs(still.astype(int) - first).mean() < 5
        del still
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert kept < 0.05 * size, f"{kept} bytes kept after a {size}-byte still"


def test_brightness_darkens(camera):
    bright = camera.preview_frame().mean()
    camera.update_scene(brightness=0.5)
    assert camera.preview_frame().mean() == pytest.approx(bright * 0.5, rel=0.05)


def test_keys_change_the_scene(camera):
    assert apply_key(camera, "left") and camera.scene.dx > 0  # student's left = image right
    assert apply_key(camera, "+") and camera.scene.scale > 1
    assert apply_key(camera, "]") and camera.scene.roll_deg > 0
    assert apply_key(camera, "d") and camera.scene.brightness < 1
    assert apply_key(camera, "2") and camera.scene.faces == 2
    assert apply_key(camera, "q") and camera.scene.qr_payload == DEMO_QR_PAYLOAD
    assert apply_key(camera, "s") and camera.scene.smile
    assert apply_key(camera, "u") and not camera.is_available()
    assert apply_key(camera, "r") and camera.scene == SceneControl()
    assert apply_key(camera, "z") is False


def test_update_scene_rejects_unknown_names(camera):
    with pytest.raises(TypeError):
        camera.update_scene(zoom=2)


def test_the_default_student_has_her_lips_closed(camera, analyser):
    """The simulator closes the astronaut's smile (the spec wants no teeth):
    the mesh reads closed lips, the smile (key s) reads open, and the edit
    changes only the mouth and chin, not the rest of the face."""
    from kiosk.photo.measures.face import mouth_opening

    camera.reset_scene()
    closed = camera.preview_frame().astype(np.int16)
    camera.update_scene(smile=True)
    smile = camera.preview_frame().astype(np.int16)
    camera.reset_scene()
    face = analyser.analyse(closed.astype(np.uint8)).faces[0]
    assert mouth_opening(face) < 0.02
    assert mouth_opening(analyser.analyse(smile.astype(np.uint8)).faces[0]) > 0.1
    changed = np.abs(closed - smile).max(axis=2) > 24  # well above the sensor noise
    ys, xs = np.nonzero(changed)
    lm = face.landmarks
    assert ys.size > 0
    assert ys.min() > lm[1, 1] and ys.max() < lm[152, 1] + 0.15 * face.face_width  # nose tip to chin
    assert xs.min() > lm[234, 0] and xs.max() < lm[454, 0]


def _tight_crop(rgb: np.ndarray, side: float = 0.8) -> np.ndarray:
    """An ID-style crop: the face fills the frame, no backdrop beside or
    above the head (grabCut used to fail on it: no background samples).
    side: face widths kept either side of the face's centre."""
    from kiosk.photo.analysis import FaceAnalyser

    with FaceAnalyser(static_image_mode=True) as analyser:
        f = analyser.analyse(rgb).faces[0]
    cx, eye, fw = f.centre_x, f.eye_line_y, f.face_width
    x0, x1 = int(max(cx - side * fw, 0)), int(min(cx + side * fw, rgb.shape[1]))
    y0, y1 = int(max(eye - 0.9 * fw, 0)), int(min(eye + 1.3 * fw, rgb.shape[0]))
    return np.ascontiguousarray(rgb[y0:y1, x0:x1])


@pytest.mark.parametrize("portrait", ["astronaut", "grace_hopper"])
def test_a_tight_portrait_runs_through_the_booth(tmp_path, analyser, portrait):
    """Any portrait goes through the booth (issue 23 item 12): a tight crop
    is padded before the cut-out, and shown as shot (no painted ears)."""
    import cv2
    from skimage import data

    from kiosk.hardware.sim_portrait import load_cutout

    rgb = data.astronaut() if portrait == "astronaut" else _grace_hopper()
    crop = _tight_crop(rgb)
    path = tmp_path / f"{portrait}-tight.png"
    cv2.imwrite(str(path), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))
    cam = SimulatedCamera(CameraConfig(simulated=SimulatedCameraConfig(faces=[path])))
    cam.start()
    try:
        faces = analyser.analyse(cam.preview_frame()).faces
        assert len(faces) == 1 and faces[0].head_top_found
    finally:
        cam.close()
    # Real portraits: the tucked-hair look is the portrait itself.
    cut = load_cutout(path)
    assert cut.looks[False, True] is cut.looks[True, True]


def test_only_the_demo_student_gets_painted_ears():
    from kiosk.hardware.sim_portrait import load_cutout

    demo = load_cutout(None)
    assert not np.array_equal(demo.looks[False, False], demo.looks[True, False])  # h shows the original
    asked = load_cutout(None, paint_ears=False)
    assert asked.looks[False, False] is asked.looks[True, False]


def test_forgotten_cutouts_are_cut_again():
    """A run through many portraits drops the kept cut-outs between them
    (benchmarks/bench_real_faces_booth.py): the next load cuts afresh."""
    from kiosk.hardware.sim_portrait import forget_cutouts, load_cutout

    first = load_cutout(None)
    assert load_cutout(None) is first  # kept for the process
    forget_cutouts()
    again = load_cutout(None)
    assert again is not first
    # The same face (GrabCut's own random start may move the edge a pixel).
    assert again.face_width == pytest.approx(first.face_width)
    assert again.looks[True, True].shape[1] == pytest.approx(first.looks[True, True].shape[1], abs=4)


def _grace_hopper() -> np.ndarray:
    from matplotlib import cbook
    from PIL import Image

    with cbook.get_sample_data("grace_hopper.jpg") as f:
        return np.asarray(Image.open(f).convert("RGB"))


def _backdrop_beside_head(frame: np.ndarray, analyser) -> float:
    """Share of the band beside the head (eye line up to 0.6 face widths
    above it, 0.8-1.3 face widths out) that shows the booth's blue."""
    from kiosk.hardware.sim_scene import BACKDROP_RGB

    f = analyser.analyse(frame).faces[0]
    y0, y1, fw, cx = int(f.eye_line_y - 0.6 * f.face_width), int(f.eye_line_y), f.face_width, f.centre_x
    band = np.concatenate([frame[y0:y1, int(cx + a * fw):int(cx + b * fw)].reshape(-1, 3)
                           for a, b in ((-1.3, -0.8), (0.8, 1.3))])
    return float((np.abs(band.astype(int) - BACKDROP_RGB).max(axis=1) < 40).mean())


def _booth_frame(path) -> np.ndarray:
    cam = SimulatedCamera(CameraConfig(simulated=SimulatedCameraConfig(faces=[path])))
    cam.start()
    try:
        return cam.preview_frame()
    finally:
        cam.close()


def test_a_portraits_own_background_is_cut_away(tmp_path, analyser):
    """Grace Hopper's flag and wall, which grabCut seeded by the landmarks
    alone kept beside her head (half the band), go: a person segmenter
    seeds the photo's own background."""
    import cv2

    path = tmp_path / "grace.png"
    cv2.imwrite(str(path), cv2.cvtColor(_grace_hopper(), cv2.COLOR_RGB2BGR))
    assert _backdrop_beside_head(_booth_frame(path), analyser) > 0.9


def test_a_camera_sized_portrait_is_cut_at_a_booth_size(tmp_path, analyser):
    """A full-size photo (here Grace Hopper at 2400x2048, her face 4x wider)
    is brought down so the face is at most MAX_FACE_WIDTH: GrabCut on the
    full size took 100 s here and the cut-out hundreds of MB."""
    import cv2

    from kiosk.hardware.sim_portrait import MAX_FACE_WIDTH, load_cutout

    big = cv2.resize(_grace_hopper(), None, fx=4, fy=4, interpolation=cv2.INTER_CUBIC)
    path = tmp_path / "grace-x4.png"
    cv2.imwrite(str(path), cv2.cvtColor(big, cv2.COLOR_RGB2BGR))
    cut = load_cutout(path)
    assert cut.face_width == pytest.approx(MAX_FACE_WIDTH, rel=0.01)
    assert _backdrop_beside_head(_booth_frame(path), analyser) > 0.9


@pytest.mark.parametrize("wall", [(178, 176, 170), (236, 236, 234)])
def test_a_tight_portrait_on_a_plain_studio_wall_is_cut_out(tmp_path, analyser, wall):
    """Grace Hopper on a grey or white studio wall (shaded like a real one,
    with grain), cropped tight: the padding's one exact colour was grabCut's
    only certain background, and it kept the whole wall beside the head
    (issue 23 item 12: Samuel L. Jackson's grey wall in the booth)."""
    import cv2
    from face_set import _person_on_backdrop

    person = _person_on_backdrop(_grace_hopper(), wall)
    h, w = person.shape[:2]
    shade = np.linspace(1.04, 0.92, w, dtype=np.float32)[None, :, None]  # a key light from one side
    grain = np.random.default_rng(5).normal(0, 2.5, person.shape)
    rgb = np.clip(person * shade + grain, 0, 255).astype(np.uint8)
    path = tmp_path / "studio.png"
    # The wall 0.8-1 face widths out is in the photo: the band must show the booth's blue there.
    cv2.imwrite(str(path), cv2.cvtColor(_tight_crop(rgb, side=1.0), cv2.COLOR_RGB2BGR))
    assert _backdrop_beside_head(_booth_frame(path), analyser) > 0.9

