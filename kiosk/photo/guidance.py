"""Pose guidance from one preview frame, and a smoother against flicker.

Directions are the student's own: MOVE_LEFT means "move to your left". The
camera frame is unmirrored (the student's left is the image's right), and the
screen shows it mirrored, so on screen MOVE_LEFT also moves the student's
image to the left: the words and the mirror agree. In the camera frame:
face centre right of the target -> the student sits too far to their left ->
MOVE_RIGHT. MOVE_UP means raise the head in the frame (sit up, raise the
seat); MOVE_DOWN the opposite.

The preview and the still have the same field of view, so shares of the
preview frame carry over to the still. Distance is judged by the face width
as a share of the frame width, position by the face centre and the eye line,
and the spec crop the kiosk would cut (kiosk.photo.crop.plan_crop) is
projected onto the preview to check that it would stay inside the frame.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

import numpy as np

from kiosk.codes import Hint
from kiosk.config import PhotoConfig
from kiosk.photo.analysis import FaceInfo, FrameAnalysis
from kiosk.photo.crop import GEOMETRY, SpecGeometry, plan_crop
from kiosk.photo.measures import DEFAULT_MEASURE_SETTINGS, MeasureSettings
from kiosk.photo.measures.appearance import brow_skin, ear_hair, skin_lab
from kiosk.photo.measures.eyewear import glare_share, glasses_worn, lens_tint, tinted
from kiosk.photo.measures.face import eye_openness, mouth_opening, pose_angles
from kiosk.photo.measures.headwear import cover_share
from kiosk.photo.measures.jewellery import ornament_area
from kiosk.photo.measures.light import clipped_share

_ORDER = {h: i for i, h in enumerate(Hint)}  # Hint is declared most important first


@dataclass(frozen=True)
class GuidanceSettings:
    # Face width / frame width. Min: the crop needs no upscaling; with the
    # simulated 2028 px still 0.14 gives a 284 px face for a 240 px target
    # (the Pi HQ still, 4056 px, has twice that). Max: the crop is 2.67 face
    # widths high; at 0.23 that is 82 % of a 4:3 frame's height, leaving room
    # for head and shoulders to move a little.
    face_share_min: float = 0.14
    face_share_max: float = 0.23
    # |face centre - frame centre| / frame width.
    centre_tolerance: float = 0.06
    # Eye line / frame height.
    eye_band: tuple[float, float] = (0.33, 0.50)
    # The projected crop must stay this share of the frame inside each edge.
    crop_margin: float = 0.02
    max_roll_deg: float = 8.0  # spec (ISO/IEC 19794-5)
    # TOO_DARK: the face's highlights under measures.min_highlight_luma (the
    # check's own floor, fair to dark skin); with no face, the frame's mean
    # luma under dark_luma. TOO_BRIGHT: the face box's mean luma over
    # bright_luma, or (with a face or without) the frame clipped over
    # measures.max_frame_clipped_share, as OVEREXPOSED judges it.
    dark_luma: float = 70.0
    bright_luma: float = 210.0
    # Smoother: a hint shows once present this long, goes once absent this long.
    show_after_seconds: float = 0.4
    hide_after_seconds: float = 0.3
    ready_hold_seconds: float = 1.0
    geometry: SpecGeometry = field(default=GEOMETRY)
    # True when the analysed frame is itself the still the crop is cut from
    # (`kiosk guide IMAGE`): its face must then have the pixels the spec
    # photo needs (LOW_RESOLUTION). The booth's preview is smaller than its
    # still; there face_share_min keeps the still's face large enough.
    frame_is_still: bool = False
    # Pose, eyes, mouth, hair, glasses and the backdrop model: the same
    # bands as the final photo's check.
    measures: MeasureSettings = field(default=DEFAULT_MEASURE_SETTINGS)


DEFAULT_SETTINGS = GuidanceSettings()


def _sorted(hints: set[Hint]) -> list[Hint]:
    return sorted(hints, key=_ORDER.__getitem__)


def _washed_out(analysis: FrameAnalysis, settings: GuidanceSettings) -> bool:
    """The frame clipped as OVEREXPOSED judges it (every 4th pixel: enough
    for a share, and cheap on every preview frame)."""
    s = settings.measures
    return analysis.image is not None and clipped_share(analysis.sparse, s) > s.max_frame_clipped_share


def hints_for(
    analysis: FrameAnalysis, spec: PhotoConfig, settings: GuidanceSettings = DEFAULT_SETTINGS,
    zones: ZoneRota | None = None,
) -> list[Hint]:
    """Hints for one preview frame, most important first; [] = pose is good.
    zones: a preview stream's rota, which judges one group of the zone
    measures a frame (None: every measure, as for a still)."""
    if zones is not None and analysis.face_count != 1:
        zones.reset()
    if analysis.face_count > 1:
        return [Hint.MULTIPLE_FACES]
    if not analysis.faces:
        hints = {Hint.NO_FACE}
        if analysis.mean_luma < settings.dark_luma:
            hints.add(Hint.TOO_DARK)  # a dark booth is a likely reason for "no face"
        elif _washed_out(analysis, settings):
            hints.add(Hint.TOO_BRIGHT)  # a face washed out by the light
        return _sorted(hints)

    f = analysis.faces[0]
    w, h = analysis.width, analysis.height
    hints: set[Hint] = set()
    if f.highlight_luma < settings.measures.min_highlight_luma:
        hints.add(Hint.TOO_DARK)
    elif f.mean_luma > settings.bright_luma or _washed_out(analysis, settings):
        hints.add(Hint.TOO_BRIGHT)  # a light face, or the frame clipped around any face

    if settings.frame_is_still and f.face_width < settings.geometry.scaled(spec).face_width[0]:
        hints.add(Hint.LOW_RESOLUTION)

    share = f.face_width / w
    if share < settings.face_share_min:
        hints.add(Hint.MOVE_CLOSER)
    elif share > settings.face_share_max:
        hints.add(Hint.MOVE_BACK)

    offset = (f.centre_x - w / 2) / w  # + = image right = student's left
    if offset > settings.centre_tolerance:
        hints.add(Hint.MOVE_RIGHT)
    elif offset < -settings.centre_tolerance:
        hints.add(Hint.MOVE_LEFT)

    eye = f.eye_line_y / h
    if eye < settings.eye_band[0]:
        hints.add(Hint.MOVE_DOWN)
    elif eye > settings.eye_band[1]:
        hints.add(Hint.MOVE_UP)

    # Project the spec crop: would it stay inside the frame?
    plan = plan_crop(f, w, h, spec, settings.geometry)
    mx, my = settings.crop_margin * w, settings.crop_margin * h
    left = plan.x0 < mx
    right = plan.x0 + plan.width > w - mx
    top = plan.y0 < my
    bottom = plan.y0 + plan.height > h - my
    if (left and right) or (top and bottom):
        hints.add(Hint.MOVE_BACK)  # the crop is larger than the frame
        hints.discard(Hint.MOVE_CLOSER)
    else:
        if left:
            hints.add(Hint.MOVE_LEFT)
        elif right:
            hints.add(Hint.MOVE_RIGHT)
        if top:
            hints.add(Hint.MOVE_DOWN)
        elif bottom:
            hints.add(Hint.MOVE_UP)
    # A conflicting pair can only come from the two rules above disagreeing:
    # the crop (what the still needs) wins.
    if {Hint.MOVE_LEFT, Hint.MOVE_RIGHT} <= hints:
        hints.discard(Hint.MOVE_RIGHT if left else Hint.MOVE_LEFT)
    if {Hint.MOVE_UP, Hint.MOVE_DOWN} <= hints:
        hints.discard(Hint.MOVE_UP if top else Hint.MOVE_DOWN)

    if abs(f.roll_deg) > settings.max_roll_deg:
        hints.add(Hint.LEVEL_HEAD)
    # Under bad light the mesh's depth and eyelids are guesses (a washed-out
    # face reads 5 deg chin-up): fix the light first, then the face.
    judged = False
    if not hints & {Hint.TOO_DARK, Hint.TOO_BRIGHT}:
        hints |= _face_hints(f, settings.measures)
        # Hair and glasses zones sit beside a level, frontal face: turn the
        # head first. On a face too far away they are a few pixels wide (a
        # bare ear read as hair on 4 frames in 10): come closer first.
        if analysis.image is not None and not hints & {Hint.LEVEL_HEAD, Hint.FACE_CAMERA,
                                                       Hint.MOVE_CLOSER}:
            judged = True
            hints |= _zone_hints(analysis.image, f, settings.measures, spec, zones)
    if zones is not None and not judged:
        zones.reset()  # judged afresh once the face is level and lit again
    return _sorted(hints)


def _zone_hints(img: np.ndarray, f: FaceInfo, m: MeasureSettings, spec: PhotoConfig,
                zones: ZoneRota | None) -> set[Hint]:
    """Hair over the ears; over the brows, and glasses; a head covering;
    jewellery: every group, or the rota's turn (the ears cost the most)."""
    # The cheeks' colour, shared by every zone, measured on first use: a
    # turn whose zone the school ignores needs none.
    skin = cache(lambda: skin_lab(img, f))
    groups = (lambda: _ear_hints(img, f, m, skin()),
              lambda: _brow_hints(img, f, m, skin()) | _glasses_hints(img, f, m, spec.glasses),
              lambda: _cover_hints(img, f, m, spec, skin),
              lambda: _jewellery_hints(img, f, m, spec, skin))
    if zones is None:
        return set().union(*(judge() for judge in groups))
    return zones.judge(groups)


class ZoneRota:
    """The zone measures of one preview stream, one group a frame.

    Hair, glasses and worn things change slowly (nobody puts on a hat
    between two frames) and cost 4-7 ms a frame together against 5-6 ms for
    the model calls: the preview judges one group a frame in turn and keeps
    the others' last hints, so each is refreshed every len(groups) frames
    (0.27 s at 15 fps, under the smoother's show_after_seconds). A still and
    `kiosk guide` judge every group (hints_for without a rota)."""

    def __init__(self) -> None:
        self._turn = 0
        self._last: dict[int, set[Hint]] = {}

    def reset(self) -> None:
        """Forget the last hints (the face was lost, turned or badly lit)."""
        self._last.clear()

    def judge(self, groups: tuple[Callable[[], set[Hint]], ...]) -> set[Hint]:
        i = self._turn % len(groups)
        self._turn += 1
        self._last[i] = groups[i]()
        return set().union(*self._last.values())


def _cover_hints(img: np.ndarray, f: FaceInfo, m: MeasureSettings, spec: PhotoConfig,
                 skin: Callable[[], np.ndarray | None]) -> set[Hint]:
    """A head covering, unless the school ignores it: the check's own
    measure (the crown box)."""
    cover = cover_share(img, f, m, skin()) if spec.head_covering != "ignore" else None
    return {Hint.HEAD_COVERED} if cover is not None and cover > m.max_cover_share else set()


def _jewellery_hints(img: np.ndarray, f: FaceInfo, m: MeasureSettings, spec: PhotoConfig,
                     skin: Callable[[], np.ndarray | None]) -> set[Hint]:
    """Jewellery, unless the school ignores it (three small zones)."""
    area = ornament_area(img, f, m, skin()) if spec.jewellery != "ignore" else None
    return {Hint.JEWELLERY} if area is not None and area > m.max_jewellery_area else set()


def _ear_hints(img: np.ndarray, f: FaceInfo, m: MeasureSettings, skin: np.ndarray | None) -> set[Hint]:
    """Hair over the ears (the zones beside the cheeks)."""
    ears = ear_hair(img, f, m, skin)
    return {Hint.HAIR_OFF_FACE} if ears is not None and ears > m.max_ear_hair_share else set()


def _brow_hints(img: np.ndarray, f: FaceInfo, m: MeasureSettings, skin: np.ndarray | None) -> set[Hint]:
    """Hair over the brows (a strip above each)."""
    brows = brow_skin(img, f, m, skin)
    return {Hint.HAIR_OFF_FACE} if brows is not None and brows < m.min_brow_skin_share else set()


def _glasses_hints(img: np.ndarray, f: FaceInfo, m: MeasureSettings, policy: str) -> set[Hint]:
    """The check's glasses rules under the school's policy: take them off
    where they are forbidden; else no tinted lenses, and no glare unless
    any glasses are allowed."""
    if not glasses_worn(img, f, m)[1]:
        return set()  # no lens: no glare, no tint (the check's own rule)
    if policy == "forbidden":
        return {Hint.GLASSES}
    hints: set[Hint] = set()
    glare = glare_share(img, f, m, worn=True) if policy != "allowed" else None
    if glare is not None and glare > m.max_glare_share:
        hints.add(Hint.GLASSES_GLARE)
    tint = tinted(lens_tint(img, f), m)
    if tint is not None and tint < 1.0:
        hints.add(Hint.TINTED_GLASSES)
    return hints


def _face_hints(f: FaceInfo, m: MeasureSettings) -> set[Hint]:
    """Turn, chin, eyes, mouth: from the same mesh measures the check uses."""
    hints: set[Hint] = set()
    pose = pose_angles(f, m)
    if pose is not None:
        yaw, pitch = pose
        if abs(yaw) > m.max_yaw_deg:
            hints.add(Hint.FACE_CAMERA)
        if pitch > m.max_pitch_deg:
            hints.add(Hint.CHIN_DOWN)  # pitch + = chin up
        elif pitch < -m.max_pitch_deg:
            hints.add(Hint.CHIN_UP)
    if eye_openness(f) < m.min_eye_openness:
        hints.add(Hint.OPEN_EYES)
    if mouth_opening(f) > m.max_mouth_opening:
        hints.add(Hint.CLOSE_MOUTH)
    return hints


class GuidanceSmoother:
    """Debounces per-frame hints: pure Python, driven by the caller's clock.

    A hint is shown once it has been present for show_after_seconds with no
    gap of hide_after_seconds, and hidden once absent for hide_after_seconds.
    ready is True only after the raw hint list has been empty for
    ready_hold_seconds without a break. A hint that flickers (a borderline
    measure, present every other frame) therefore shows: whatever holds
    hands-free capture is on screen, never a silent wait.
    """

    def __init__(self, settings: GuidanceSettings = DEFAULT_SETTINGS) -> None:
        self.settings = settings
        self.reset()

    def reset(self) -> None:
        self._since: dict[Hint, float] = {}  # hint -> first time of its current run
        self._last_seen: dict[Hint, float] = {}
        self._shown: set[Hint] = set()
        self._clear_since: float | None = None

    def update(self, hints: list[Hint], now: float) -> tuple[list[Hint], bool]:
        s = self.settings
        present = set(hints)
        for hint in present:
            self._since.setdefault(hint, now)
            self._last_seen[hint] = now
        for hint in list(self._since):
            if hint not in present and now - self._last_seen[hint] >= s.hide_after_seconds:
                del self._since[hint]  # the run is broken: must persist afresh
        for hint in present:
            if now - self._since[hint] >= s.show_after_seconds:
                self._shown.add(hint)
        for hint in list(self._shown):
            if hint not in present and now - self._last_seen[hint] >= s.hide_after_seconds:
                self._shown.discard(hint)

        if present:
            self._clear_since = None
        elif self._clear_since is None:
            self._clear_since = now
        ready = self._clear_since is not None and now - self._clear_since >= s.ready_hold_seconds
        if ready:
            self._shown.clear()
        return _sorted(self._shown), ready
