"""A labelled set of real faces for the photo engine, made at test time.

The portraits are real photos shipped inside installed packages, never
committed here: scikit-image's astronaut (Eileen Collins, NASA, public
domain) and matplotlib's Grace Hopper (US Navy, public domain; matplotlib
needs it for its own examples and mediapipe depends on matplotlib). From
them come:

- skin-tone variants: the skin's CIELAB lightness moved to a target L*
  (eyes, teeth, hair and clothes untouched), binned by the individual
  typology angle (ITA) the dermatology literature maps to Fitzpatrick types;
- stills of each variant in the simulated booth (kiosk.hardware.camera_sim),
  at good light, too little and too much;
- blurred, downscaled and group variants of those;
- the head turned chin-up and chin-down (pitched()), on every skin tone.
"""

from __future__ import annotations

import sys as _sys
from pathlib import Path as _Path

# Run as a program, tests/ is sys.path[0] and its kiosk/ folder (the tests'
# mirror of the package) would shadow the real package: put the project first.
_sys.path.insert(0, str(_Path(__file__).resolve().parents[1]))

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from kiosk.config import CameraConfig, PhotoConfig, SimulatedCameraConfig
from kiosk.hardware.camera_sim import SimulatedCamera
from kiosk.hardware.sim_scene import BACKDROP_RGB

# Every rule judged, the worn ones too (a booth's defaults only report them).
SPEC = PhotoConfig(head_covering="refuse", jewellery="refuse")

# Cheek L* the variants are moved to: from very light to very dark skin.
SKIN_LIGHTNESS = (72.0, 62.0, 52.0, 42.0, 32.0, 24.0)


def astronaut() -> np.ndarray:
    from skimage import data

    return data.astronaut()


def grace_hopper() -> np.ndarray:
    import matplotlib.cbook as cbook

    path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


PORTRAITS = {"astronaut": astronaut, "hopper": grace_hopper}


def mesh_xyz(rgb: np.ndarray) -> np.ndarray:
    """(478, 3) FaceMesh points of the one face in rgb: x, y and depth in
    pixels (mediapipe's z times the width, as FaceInfo.depth)."""
    import mediapipe as mp

    from kiosk.photo.analysis import landmark_array

    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, refine_landmarks=True) as mesh:
        res = mesh.process(np.ascontiguousarray(rgb))
    assert res.multi_face_landmarks, "no face in the portrait"
    h, w = rgb.shape[:2]
    return landmark_array(res.multi_face_landmarks[0]) * (w, h, w)


def _mesh(rgb: np.ndarray) -> np.ndarray:
    return mesh_xyz(rgb)[:, :2]


def _person_on_backdrop(rgb: np.ndarray, colour: tuple[int, int, int] = BACKDROP_RGB) -> np.ndarray:
    """The portrait's own background replaced by the booth's blue, or
    colour (the
    person found by mediapipe's selfie segmentation, which ships in the
    wheel), so the simulator's cutout has a plain background to cut."""
    import mediapipe as mp

    with mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0) as seg:
        mask = seg.process(np.ascontiguousarray(rgb)).segmentation_mask
    a = cv2.GaussianBlur(np.clip((mask - 0.3) / 0.4, 0, 1), (0, 0), 1.5)[..., None]
    blue = np.asarray(colour, np.float32)
    return (rgb * a + blue * (1 - a)).round().astype(np.uint8)


def skin_mask(rgb: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Soft mask (0-1) of the skin: colour near the cheeks', inside the face
    and neck, minus the eyes, brows and lips."""
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    fw = float(np.linalg.norm(pts[454] - pts[234]))
    r = int(0.04 * fw)
    cheeks = np.concatenate([lab[int(y) - r:int(y) + r, int(x) - r:int(x) + r].reshape(-1, 3)
                             for x, y in pts[[50, 280]]])
    ref = np.median(cheeks, axis=0)
    d = (lab - ref) * (0.3, 1.0, 1.0)  # shading changes lightness, not hue
    near = np.sqrt((d ** 2).sum(axis=2)) < 14
    region = np.zeros(rgb.shape[:2], np.uint8)
    hull = cv2.convexHull(pts[:468].astype(np.int32))
    cv2.fillConvexPoly(region, hull, 1)
    x0, x1 = pts[:, 0].min(), pts[:, 0].max()
    region[int(pts[152, 1]):int(pts[152, 1] + 0.8 * fw), int(x0):int(x1)] = 1  # the neck
    keep = np.zeros_like(region)
    for ids in ((33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246),
                (362, 382, 381, 380, 374, 373, 390, 249, 263, 466, 388, 387, 386, 385, 384, 398),
                (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 415, 310, 311, 312, 13, 82, 81, 80, 191)):
        cv2.fillPoly(keep, [cv2.convexHull(pts[list(ids)].astype(np.int32))], 1)
    keep = cv2.dilate(keep, np.ones((5, 5), np.uint8))
    m = (near & (region > 0) & (keep == 0)).astype(np.float32)
    return cv2.GaussianBlur(m, (0, 0), 2.0)


def cheek_lightness(rgb: np.ndarray, pts: np.ndarray) -> tuple[float, float]:
    """Median (L*, b*) of the cheeks (CIELAB, L* 0-100)."""
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    fw = float(np.linalg.norm(pts[454] - pts[234]))
    r = int(0.04 * fw)
    px = np.concatenate([lab[int(y) - r:int(y) + r, int(x) - r:int(x) + r].reshape(-1, 3)
                         for x, y in pts[[50, 280]]])
    med = np.median(px, axis=0)
    return float(med[0]) * 100 / 255, float(med[2]) - 128


def ita(lightness: float, b: float) -> float:
    """Individual typology angle, degrees."""
    return math.degrees(math.atan2(lightness - 50, b))


def ita_bin(angle: float) -> str:
    """Chardon's ITA classes (very light > 55 > light > 41 > intermediate >
    28 > tan > 10 > brown > -30 > dark)."""
    for name, lo in (("very light", 55), ("light", 41), ("intermediate", 28), ("tan", 10), ("brown", -30)):
        if angle > lo:
            return name
    return "dark"


def with_skin_lightness(rgb: np.ndarray, target_l: float) -> np.ndarray:
    """The portrait with its skin scaled in L* so the cheeks read target_l."""
    pts = _mesh(rgb)
    now, _ = cheek_lightness(rgb, pts)
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    m = skin_mask(rgb, pts)
    # Scaling (not shifting) keeps the skin's own shading and highlights.
    lab[..., 0] = lab[..., 0] * (1 + m * (target_l / now - 1))
    return cv2.cvtColor(np.clip(lab, 0, 255).round().astype(np.uint8), cv2.COLOR_LAB2RGB)


def pitched(rgb: np.ndarray, degrees: float) -> np.ndarray:
    """The face turned chin-up (+) or chin-down (-) by degrees: its mesh
    (FaceMesh's own depth) is rotated about the horizontal axis through its
    centre, seen straight on, and each mesh triangle of the image moved
    with it (piecewise affine). The frame's edges stay put, so the hair,
    ears and neck between them and the face stretch smoothly; a real head
    would turn them too, and hide a sliver under the chin or brow: an
    approximation that holds for a few degrees to a dozen."""
    from scipy.interpolate import LinearNDInterpolator

    xyz = mesh_xyz(rgb)[:468]
    centre = xyz.mean(axis=0)
    b = math.radians(degrees)
    rx = np.array([[1, 0, 0], [0, math.cos(b), math.sin(b)], [0, -math.sin(b), math.cos(b)]])
    moved = ((xyz - centre) @ rx.T + centre)[:, :2]
    h, w = rgb.shape[:2]
    edge = np.linspace(0, 1, 9)
    frame = np.array([(x * (w - 1), y * (h - 1)) for x in edge for y in edge
                      if x in (0, 1) or y in (0, 1)])
    # For every output pixel, where it comes from: linear inside each
    # triangle of the moved points (and the frame), as remap wants it.
    source = LinearNDInterpolator(np.vstack([moved, frame]), np.vstack([xyz[:, :2], frame]))
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    maps = source(gx, gy).astype(np.float32)
    return cv2.remap(rgb, maps[..., 0], maps[..., 1], cv2.INTER_LANCZOS4, borderMode=cv2.BORDER_REPLICATE)


@lru_cache(maxsize=None)
def portrait_file(name: str, target_l: float | None, folder: str, pitch: float = 0.0,
                  backdrop: tuple[int, int, int] = BACKDROP_RGB) -> Path:
    """The (plain-background, skin-shifted, maybe pitched) portrait as a PNG
    in folder; its background the booth's blue or backdrop (so a cutout's
    soft edge carries that colour, as a photo before it does)."""
    turned = f"-pitch{pitch:+g}" if pitch else ""
    if backdrop != BACKDROP_RGB:
        turned += "-on" + "-".join(str(int(v)) for v in backdrop)
    path = Path(folder) / f"{name}-{'orig' if target_l is None else int(target_l)}{turned}.png"
    if not path.exists():
        rgb = _person_on_backdrop(PORTRAITS[name](), backdrop)
        if pitch:
            rgb = pitched(rgb, pitch)
        if target_l is not None:
            rgb = with_skin_lightness(rgb, target_l)
        cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return path


def booth(portrait: Path) -> SimulatedCamera:
    # Ears painted over the hair as on the demo student: the set labels
    # these portraits as compliant, hair tucked behind the ears.
    cam = SimulatedCamera(CameraConfig(simulated=SimulatedCameraConfig(faces=[portrait])), paint_ears=True)
    cam.start()
    return cam


def decode(data: bytes) -> np.ndarray:
    import io

    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def blurred(img: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(img, (0, 0), sigma)


def group(stills: list[np.ndarray], people: int) -> np.ndarray:
    """A group photo: `people` of the stills' people side by side on rows,
    each scaled down, in one frame the size of the first still."""
    h, w = stills[0].shape[:2]
    cols = min(people, 4)
    rows = -(-people // cols)
    out = np.empty_like(stills[0])
    out[:] = BACKDROP_RGB
    cw, ch = w // cols, h // rows
    for i in range(people):
        src = stills[i % len(stills)]
        # The middle of the still (head and shoulders), scaled into a cell.
        y0, x0 = int(0.05 * h), int(0.2 * w)
        part = src[y0:y0 + int(0.9 * h), x0:x0 + int(0.6 * w)]
        k = min(cw / part.shape[1], ch / part.shape[0])
        small = cv2.resize(part, (int(part.shape[1] * k), int(part.shape[0] * k)), interpolation=cv2.INTER_AREA)
        r, c = divmod(i, cols)
        oy, ox = r * ch, c * cw
        out[oy:oy + small.shape[0], ox:ox + small.shape[1]] = small
    return out


# ------------------------------------------------------------ the cases

SKIN = (None, *SKIN_LIGHTNESS)  # None: the portrait as shipped
LIGHTS = {"lit": 1.0, "dim": 0.5, "overlit": 1.8}
BLURS = (1.5, 3.0, 7.0)
GROUPS = (2, 3, 5, 7)
# Heads turned chin-up (+) and chin-down (-), degrees (pitched()): well
# past the 5 deg limit, and refused on every skin tone.
POSES = {"chinup": 12.0, "chindown": -12.0}


# Landmarks on a face blurred this much are guesses: pose, eyelid and
# band codes may come along with BLURRY. So may EARS_COVERED: at sigma 7
# the dark astronaut's mesh reads 8 deg of yaw, its contour slides into the
# cheek, and her blonde hair smeared over dark skin is neither (0.77).
_BLUR_SIDE_EFFECTS = frozenset({"EYES_CLOSED", "HEAD_PITCH", "HEAD_YAW", "EYEBROWS_COVERED",
                                "EARS_COVERED", "BACKGROUND_UNEVEN", "EYE_LINE_OUT_OF_BAND",
                                "MOUTH_OPEN"})
# Blur spreads a dark face's few highlights (catchlights, eye whites): the
# astronaut with her lips closed (no teeth) reads 161-169 lit at L* 42-24,
# just over the exposure floor (160), and under it blurred.
_BLUR_DIMS = frozenset({"UNDEREXPOSED"})
# A burnt-out cloth is no longer seen as cloth (the hair's top is lost
# against it), a lamp reflects clipped white in glasses, and the mesh reads
# a washed-out face chin-up; hair and skin clipped white read as a white
# covering or as pearls and silver.
_OVERLIT_SIDE_EFFECTS = frozenset({"OVEREXPOSED", "BACKGROUND_SHADOW", "HEAD_TOP_OUT_OF_BAND",
                                   "GLASSES_GLARE", "EARS_COVERED", "EYEBROWS_COVERED", "HEAD_PITCH",
                                   "HEAD_COVERED", "JEWELLERY"})
# A turned head is a warped image (pitched()): every pixel of the face is
# resampled, and the astronaut's sharpness sits just above the floor.
_POSE_SIDE_EFFECTS = frozenset({"BLURRY"})


@dataclass(frozen=True)
class Case:
    """One labelled image: what the engine must say about it."""

    name: str
    portrait: str
    skin: float | None
    kind: str  # lit, dim, overlit, blur<sigma>, small, chinup, chindown, group<n>, smile, open<share>
    compliant: bool
    codes: frozenset[str]  # problems it must report
    side_effects: frozenset[str] = frozenset()  # problems it may report too
    # So blurred that the detector may find no face at all: refused either way.
    face_may_vanish: bool = False

    def matches(self, compliant: bool, codes: frozenset[str]) -> bool:
        if self.face_may_vanish and not compliant and codes == {"NO_FACE"}:
            return True
        return compliant == self.compliant and self.codes <= codes <= self.codes | self.side_effects


# Grace Hopper wears her Navy cap in her portrait (black band, white crown,
# gold badge): a real head covering, HEAD_COVERED on every case that reads
# her crown (kiosk/photo/measures/headwear.py).
_OWN_CAP = {"hopper": frozenset({"HEAD_COVERED"})}
# Her white shirt collar: where the warp pulls her chin down onto it (a
# head turned chin-down, lips parted), the sliver left under the chin reads
# as a chain (JEWELLERY), beside HEAD_PITCH.
_OWN_COLLAR = {"hopper": frozenset({"JEWELLERY"})}


def _case(portrait: str, skin: float | None, kind: str) -> Case:
    case = _bare_case(portrait, skin, kind)
    cap = _OWN_CAP.get(portrait, frozenset())
    if kind == "lit" and cap:
        return Case(case.name, portrait, skin, kind, False, cap)
    if kind in POSES:
        cap |= _OWN_COLLAR.get(portrait, frozenset())
    return Case(case.name, portrait, skin, kind, case.compliant, case.codes, case.side_effects | cap,
                case.face_may_vanish)


def _bare_case(portrait: str, skin: float | None, kind: str) -> Case:
    name = f"{portrait}-{'orig' if skin is None else int(skin)}-{kind}"
    if kind == "lit":
        return Case(name, portrait, skin, kind, True, frozenset())
    if kind == "dim":  # the cloth goes dark blue with the face
        return Case(name, portrait, skin, kind, False, frozenset({"UNDEREXPOSED", "BACKGROUND_COLOUR"}))
    if kind == "overlit":
        # The cloth burns out, and OVEREXPOSED on every skin: a dark face
        # keeps its own detail, but the camera clipped the frame around it
        # (issue 23 item 6).
        codes = {"BACKGROUND_COLOUR", "OVEREXPOSED"}
        return Case(name, portrait, skin, kind, False, frozenset(codes), _OVERLIT_SIDE_EFFECTS)
    if kind.startswith("blur"):
        heavy = float(kind[4:]) >= 7
        side = (_BLUR_SIDE_EFFECTS if heavy else frozenset()) | _BLUR_DIMS
        return Case(name, portrait, skin, kind, False, frozenset({"BLURRY"}), side, heavy)
    if kind in POSES:
        return Case(name, portrait, skin, kind, False, frozenset({"HEAD_PITCH"}), _POSE_SIDE_EFFECTS)
    # small: a face enlarged ~2.5x is soft, but sharp in the still's own
    # pixels, where sharpness is judged: LOW_RESOLUTION only
    return Case(name, portrait, skin, kind, False, frozenset({"LOW_RESOLUTION"}))


def all_cases() -> list[Case]:
    out = [_case(portrait, skin, kind)
           for portrait in PORTRAITS for skin in SKIN
           for kind in (*LIGHTS, *(f"blur{s:g}" for s in BLURS), "small")]
    out += [_case(portrait, skin, kind) for portrait in PORTRAITS for skin in SKIN for kind in POSES]
    for n in GROUPS:
        out.append(Case(f"group-{n}", "both", None, f"group{n}", False, frozenset({"MULTIPLE_FACES"})))
    return out + mouth_cases()


# ------------------------------------------------ expression: the mouth
# Closed lips are every "lit" case above: the simulator closes the
# astronaut's smile (kiosk.hardware.sim_mouth.close_mouth) and Grace
# Hopper's lips are closed as shot. Open: the astronaut's own smile with
# her teeth showing (the booth's `smile` scene), and Grace Hopper's lips
# parted by the opposite warp (sim_mouth.open_mouth) by 12 % and 20 % of
# the mouth's width, in a light, a middle and a dark skin tone.
MOUTH_SKIN = (None, 52.0, 32.0)
OPENINGS = (0.12, 0.2)
# The mesh leans with an open jaw: the astronaut's smile reads 6-7 deg
# chin-down (her closed lips about level).
_MOUTH_SIDE_EFFECTS = frozenset({"HEAD_PITCH"})


def mouth_cases() -> list[Case]:
    out = []
    for skin in MOUTH_SKIN:
        tone = "orig" if skin is None else int(skin)
        kinds = [("astronaut", "smile"), *(("hopper", f"open{o:g}") for o in OPENINGS)]
        out += [Case(f"{p}-{tone}-{k}", p, skin, k, False, frozenset({"MOUTH_OPEN"}),
                     _MOUTH_SIDE_EFFECTS | _OWN_CAP.get(p, frozenset()) | _OWN_COLLAR.get(p, frozenset()))
                for p, k in kinds]
    return out


@lru_cache(maxsize=None)
def opened_portrait_file(name: str, target_l: float | None, opening: float, folder: str) -> Path:
    """portrait_file with the lips parted by `opening` x the mouth width."""
    from kiosk.hardware.sim_mouth import open_mouth

    src = portrait_file(name, target_l, folder)
    path = src.with_name(f"{src.stem}-open{opening:g}.png")
    if not path.exists():
        rgb = cv2.cvtColor(cv2.imread(str(src), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        pts = _mesh(rgb)
        opened = open_mouth(rgb, pts, float(np.linalg.norm(pts[454] - pts[234])), opening)
        cv2.imwrite(str(path), cv2.cvtColor(opened, cv2.COLOR_RGB2BGR))
    return path


def mouth_camera(portrait: str, skin: float | None, kind: str, folder: Path) -> SimulatedCamera:
    """The booth showing a mouth case (kind smile or open<share>); the
    scene's `smile` shows the portrait's own mouth, which the simulator
    would otherwise close."""
    if kind == "smile":
        cam = booth(portrait_file(portrait, skin, str(folder)))
    else:
        cam = booth(opened_portrait_file(portrait, skin, float(kind[4:]), str(folder)))
    cam.update_scene(smile=True)
    return cam


@dataclass
class Outcome:
    compliant: bool
    codes: frozenset[str]
    skin_bin: str | None  # ITA class of the lit photo's cheeks


class Runner:
    """Runs cases through the engine as the kiosk and `kiosk check-photo`
    do: stills through process_still, spec photos through check_spec_jpeg,
    and a still with more than one person stops at the people count."""

    def __init__(self, analyser, folder: Path) -> None:
        self.analyser, self.folder = analyser, folder
        self._lit: dict[tuple[str, float | None], tuple[np.ndarray, bytes, str]] = {}

    def still(self, portrait: str, skin: float | None, brightness: float = 1.0,
              pitch: float = 0.0) -> np.ndarray:
        cam = booth(portrait_file(portrait, skin, str(self.folder), pitch))
        cam.update_scene(brightness=brightness)
        try:
            return cam.capture_still().copy()
        finally:
            cam.close()

    def lit(self, portrait: str, skin: float | None) -> tuple[np.ndarray, bytes, str]:
        """The lit still, its spec photo and the skin's ITA class."""
        key = (portrait, skin)
        if key not in self._lit:
            from kiosk.photo.measures.appearance import skin_lab
            from kiosk.photo.process import process_still

            still = self.still(portrait, skin)
            spec_jpeg = process_still(still, self.analyser, SPEC).spec_jpeg
            rgb = decode(spec_jpeg)
            lab = skin_lab(rgb, self.analyser.analyse(rgb).faces[0])
            klass = ita_bin(ita(float(lab[0]) * 100 / 255, float(lab[2]) - 128))
            self._lit[key] = (still, spec_jpeg, klass)
        return self._lit[key]

    def run(self, case: Case) -> Outcome:
        from kiosk.photo.crop import encode_jpeg
        from kiosk.photo.process import check_spec_jpeg, process_still

        if case.kind == "smile" or case.kind.startswith("open"):
            cam = mouth_camera(case.portrait, case.skin, case.kind, self.folder)
            try:
                return Outcome(*self._stills_outcome(cam.capture_still().copy()), None)
            finally:
                cam.close()
        if case.kind.startswith("group"):
            stills = [self.lit(p, s)[0] for s in (None, 32.0, 52.0) for p in PORTRAITS]
            img = group(stills, int(case.kind[5:]))
            return Outcome(*self._stills_outcome(img), None)
        still, spec_jpeg, klass = self.lit(case.portrait, case.skin)
        if case.kind in POSES:
            img = self.still(case.portrait, case.skin, pitch=POSES[case.kind])
            return Outcome(*self._stills_outcome(img), klass)
        if case.kind in LIGHTS:
            img = still if case.kind == "lit" else self.still(case.portrait, case.skin, LIGHTS[case.kind])
            return Outcome(*self._stills_outcome(img), klass)
        if case.kind == "small":  # the same scene from a camera with a quarter of the pixels
            h, w = still.shape[:2]
            img = cv2.resize(still, (w // 4, h // 4), interpolation=cv2.INTER_AREA)
            return Outcome(*self._stills_outcome(img), klass)
        sigma = float(case.kind[4:])
        soft = encode_jpeg(blurred(decode(spec_jpeg), sigma), SPEC).data
        problems, _ = check_spec_jpeg(soft, self.analyser, SPEC)
        return Outcome(not problems, frozenset(problems), klass)

    def _stills_outcome(self, img: np.ndarray) -> tuple[bool, frozenset[str]]:
        from kiosk.photo.process import process_still

        count = self.analyser.analyse(img).face_count
        if count != 1:  # as `kiosk check-photo`: nothing to crop around
            return False, frozenset({"NO_FACE" if count == 0 else "MULTIPLE_FACES"})
        photo = process_still(img, self.analyser, SPEC)
        return photo.compliant, frozenset(photo.problems)


def main() -> None:
    """Print every case's outcome and the figures the README quotes."""
    import os
    import sys
    import tempfile
    from collections import defaultdict

    from kiosk.photo.analysis import FaceAnalyser

    os.environ.setdefault("GLOG_minloglevel", "2")
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp())
    cases = all_cases()
    right = 0
    fr: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # bin -> [refused, compliant cases]
    refusals: dict[str, set[str]] = defaultdict(set)
    with FaceAnalyser(static_image_mode=True) as analyser:
        runner = Runner(analyser, folder)
        for case in cases:
            out = runner.run(case)
            ok = case.matches(out.compliant, out.codes)
            right += ok
            if case.compliant and out.skin_bin:
                fr[out.skin_bin][1] += 1
                fr[out.skin_bin][0] += not out.compliant
            print(f"{'ok ' if ok else 'BAD'} {case.name:28} {out.skin_bin or '':13} "
                  f"expected {sorted(case.codes)} got {sorted(out.codes)}")
            if case.compliant and out.skin_bin:
                refusals[out.skin_bin].update(out.codes)
    print(f"\naccuracy: {right}/{len(cases)} = {right / len(cases):.1%}")
    for klass, (refused, n) in fr.items():
        print(f"false rejections, {klass}: {refused}/{n} {sorted(refusals[klass])}")


if __name__ == "__main__":
    main()
