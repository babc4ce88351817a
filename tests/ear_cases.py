"""Ears and hair for the EARS_COVERED measure (issue 23 item 2): a real
portrait photographed before any backdrop colour, and long hair painted
over or behind the ears.

- on_backdrop renders a portrait cut-out (kiosk.hardware.sim_portrait, ears
  painted as the labelled set's looks have them: hair tucked behind them;
  or Grace Hopper's own ears) in the simulated booth's scene, before a
  plain backdrop of any colour, with the simulator's vignette and sensor
  noise;
- long_hair paints a hairdo on a photo at its face mesh: a crown of hair
  over the head and a curtain falling each side to below the chin, over
  the ears or, with behind=True, behind them (the ears stay in view). The
  hair has strands (noise stretched along them) and soft edges.

Each function returns a new RGB uint8 image; nothing is saved.
"""

from __future__ import annotations

import sys as _sys
from pathlib import Path as _Path

# Run as a program, tests/ is sys.path[0] and its kiosk/ folder (the tests'
# mirror of the package) would shadow the real package: put the project first.
_sys.path.insert(0, str(_Path(__file__).resolve().parents[1]))

import sys as _sys
from pathlib import Path as _Path

# Run as a program, tests/ is sys.path[0] and its kiosk/ folder (the tests'
# mirror of the package) would shadow the real package: put the project first.
_sys.path.insert(0, str(_Path(__file__).resolve().parents[1]))

import cv2
import numpy as np

from kiosk.hardware.sim_portrait import load_cutout
from kiosk.hardware.sim_scene import BACKDROP_RGB, SceneControl, backdrop_frame, render_scene
from kiosk.photo.analysis import FaceInfo

# The spec's blue, white and light grey, a mid grey wall and a pale blue.
BACKDROPS = {"blue": BACKDROP_RGB, "white": (250, 250, 250), "light-grey": (240, 240, 240),
             "grey": (170, 170, 170), "light-blue": (175, 215, 240)}
HAIR = {"black": (28, 24, 22), "brown": (92, 60, 40), "dyed-red": (150, 48, 42),
        "dyed-blonde": (208, 172, 112)}
STILL_SIZE = (1600, 1200)


def on_backdrop(portrait: str, colour: tuple[int, int, int], folder: str, skin: float | None = None,
                hair_over_ears: bool = False, paint_ears: bool = True, seed: int = 1) -> np.ndarray:
    """A still of a labelled-set portrait (face_set.PORTRAITS, in a skin
    tone) before a plain backdrop of colour: the portrait is cut from its own
    photo set on that colour (face_set.portrait_file), so the soft edge of
    its hair and ears carries it as a photo would. paint_ears: the tucked
    look has ears painted over the hair (face_set's looks; False: Grace
    Hopper's own ears, as photographed). hair_over_ears: the portrait's own
    hair, unpainted (the astronaut's hangs over her ears; the booth's `h`)."""
    import face_set as fs

    source = fs.portrait_file(portrait, skin, folder, backdrop=colour)
    w, h = STILL_SIZE
    frame = backdrop_frame(w, h).astype(np.float32)
    frame *= np.asarray(colour, np.float32) / np.asarray(BACKDROP_RGB, np.float32)
    back = np.clip(frame, 0, 255).round().astype(np.uint8)
    img = render_scene(SceneControl(hair_over_ears=hair_over_ears), (w, h),
                       [load_cutout(source, paint_ears=paint_ears)], backdrop=back)
    noise = np.random.default_rng(seed).normal(0, 2.0, img.shape)
    return np.clip(img + noise, 0, 255).round().astype(np.uint8)


def _strands(shape: tuple[int, int], fw: float, seed: int) -> np.ndarray:
    """Brightness of hair strands, about 0.7-1.3: noise stretched downwards."""
    noise = np.random.default_rng(seed).normal(0, 1, shape).astype(np.float32)
    noise = cv2.GaussianBlur(noise, (0, 0), sigmaX=max(0.6, 0.006 * fw), sigmaY=0.12 * fw)
    noise /= max(float(noise.std()), 1e-6)
    return 1.0 + 0.15 * np.clip(noise, -2, 2)


def long_hair(img: np.ndarray, face: FaceInfo, colour: str = "black", behind: bool = False,
              seed: int = 3) -> np.ndarray:
    """img with long hair of HAIR[colour]: a crown over the head and a
    curtain each side from the temples to below the chin, over the ears
    (behind=False) or behind them: outside the ear zone (beside the cheek
    from the brows to below the nose) and below it, as hair tucked behind
    the ears falls."""
    h, w = img.shape[:2]
    lm, fw = face.landmarks, face.face_width
    cx, fy = face.centre_x, float(lm[10, 1])
    mask = np.zeros((h, w), np.float32)
    # The crown: half an ellipse from the forehead's top to the head top.
    crown_h = max(fy - face.head_top_y, 0.25 * fw)
    cv2.ellipse(mask, ((cx, fy), (1.4 * fw, 2 * crown_h), 0), 1.0, -1)
    mask[int(fy + 0.03 * fw):] = 0
    ear_top, ear_bottom = face.eye_line_y - 0.12 * fw, float(lm[2, 1]) + 0.08 * fw
    bottom = float(face.chin_y) + 0.35 * fw
    for contour_x, out in ((float(lm[234, 0]), -1), (float(lm[454, 0]), 1)):
        inner = contour_x - out * 0.03 * fw
        outer = contour_x + out * 0.3 * fw
        pts = [(inner, fy - 0.02 * fw), (outer, fy), (outer, bottom), (inner, bottom)]
        if behind:  # the curtain leaves the ear: it starts beyond it beside the ear
            tucked = contour_x + out * 0.16 * fw
            pts = [(inner, fy - 0.02 * fw), (outer, fy), (outer, bottom), (inner, bottom),
                   (inner, ear_bottom), (tucked, ear_bottom), (tucked, ear_top), (inner, ear_top)]
        cv2.fillPoly(mask, [np.round(np.asarray(pts)).astype(np.int32)], 1.0)
    mask = cv2.GaussianBlur(mask, (0, 0), max(1.0, 0.008 * fw))[..., None]
    hair = np.asarray(HAIR[colour], np.float32) * _strands((h, w), fw, seed)[..., None]
    out = img.astype(np.float32) * (1 - mask) + hair * mask
    return np.clip(out, 0, 255).round().astype(np.uint8)


def main() -> None:
    """Print EARS_COVERED per ear for every case the tests make (the
    figures docs/photo-checks.md quotes)."""
    import os
    import tempfile

    os.environ.setdefault("GLOG_minloglevel", "2")
    import face_set as fs
    from kiosk.photo.analysis import FaceAnalyser
    from kiosk.photo.measures import measure_face
    from kiosk.photo.process import process_still

    folder = _sys.argv[1] if len(_sys.argv) > 1 else tempfile.mkdtemp()

    def show(label: str, img: np.ndarray) -> None:
        m = measure_face(img, analyser.analyse(img).faces[0])["EARS_COVERED"]
        print(f"{label:44} {'pass' if m.passed else 'FAIL'} {m.parts}", flush=True)

    def spec(still: np.ndarray) -> np.ndarray:  # as the kiosk crops and encodes it
        return fs.decode(process_still(still, analyser, fs.SPEC).spec_jpeg)

    with FaceAnalyser(static_image_mode=True) as analyser:
        for portrait in fs.PORTRAITS:
            for skin in fs.SKIN:
                for name, colour in BACKDROPS.items():
                    if skin is not None and name not in ("blue", "grey"):
                        continue
                    label = f"{portrait}-{'orig' if skin is None else int(skin)} {name}"
                    if skin is None:  # the portrait's own ears or hair over them, unpainted
                        own = "own hair over" if portrait == "astronaut" else "own ears"
                        show(f"{label} {own}", spec(on_backdrop(portrait, colour, folder, skin, True,
                                                                portrait == "astronaut")))
                    rgb = spec(on_backdrop(portrait, colour, folder, skin))
                    show(f"{label} ears", rgb)
                    face = analyser.analyse(rgb).faces[0]
                    for hair in HAIR if skin is None else ("black",):
                        for behind in (False, True):
                            show(f"{label} {hair} {'behind' if behind else 'over'}",
                                 long_hair(rgb, face, hair, behind))


if __name__ == "__main__":
    main()
