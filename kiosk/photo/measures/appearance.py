"""Appearance: hair over the brows and ears, measured against this
student's own skin, sampled on the cheeks (glasses: eyewear.py)."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from kiosk.photo.analysis import FaceInfo
from kiosk.photo.backdrop import Backdrop
from kiosk.photo.measures.base import Measure, MeasureSettings, _band, _clip_box, median_rows
from kiosk.photo.measures.face import head_pose
from kiosk.photo.measures.scene import backdrop_rgb


# ------------------------------------------------------------ hair (skin)

CHEEKS = (50, 280)  # mid-cheek points, under each eye
# Mid nose ridge, below a pair of glasses' bridge: skin that no hair reaches
# and that faces the lamp as the forehead does, where the cheeks turn away
# from it (or lie in the shade of glasses' rims).
NOSE_RIDGE = 195
BROW_TOP_LEFT = (70, 63, 105, 66, 107)  # upper edge of the image-left brow
BROW_TOP_RIGHT = (300, 293, 334, 296, 336)


# CIELAB (L*, a*, b*) weights: lightness counts half, since shading changes
# a surface's lightness far more than its colour.
LAB_WEIGHTS = np.asarray([0.5, 1.0, 1.0], np.float32)


def lab_distance(lab: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Weighted CIELAB distance (LAB_WEIGHTS) of each pixel to ref: the one
    colour distance of the measures that tell skin, hair and the rest apart."""
    d = (lab - ref) * LAB_WEIGHTS
    return np.sqrt(np.einsum("...i,...i->...", d, d))


def _lab(img: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    x0, y0, x1, y1 = box
    return cv2.cvtColor(img[y0:y1, x0:x1], cv2.COLOR_RGB2LAB).astype(np.float32)


def _patch_box(img: np.ndarray, face: FaceInfo, point: int, size: float = 0.04
               ) -> tuple[int, int, int, int] | None:
    r = size * face.face_width
    x, y = face.landmarks[point]
    return _clip_box(img.shape, x - r, y - r, x + r, y + r)


def _cheek_boxes(img: np.ndarray, face: FaceInfo) -> list[tuple[int, int, int, int]]:
    boxes = (_patch_box(img, face, i) for i in CHEEKS)
    return [b for b in boxes if b is not None]


def skin_lab(img: np.ndarray, face: FaceInfo) -> np.ndarray | None:
    """Median CIELAB colour of the two cheeks: this student's skin."""
    boxes = _cheek_boxes(img, face)
    if not boxes:
        return None
    return median_rows(np.concatenate([_lab(img, b).reshape(-1, 3) for b in boxes]))


def _is_skin(img, box, refs: tuple[np.ndarray | None, ...], s: MeasureSettings) -> np.ndarray:
    # Lightness counts half: skin in shade (an ear, under the brow) is still
    # skin, while hair differs from it in hue as well. A pixel is skin near
    # any of refs (None: not seen).
    lab = _lab(img, box)
    out = np.zeros(lab.shape[:2], bool)
    for ref in (r for r in refs if r is not None):
        out |= lab_distance(lab, ref) < s.skin_tolerance
    return out


def _patch_lab(img: np.ndarray, face: FaceInfo, point: int, size: float = 0.04) -> np.ndarray | None:
    """Median CIELAB colour of the box of half-side size face widths around
    a landmark (a cheek: CHEEKS' point)."""
    box = _patch_box(img, face, point, size)
    return None if box is None else median_rows(_lab(img, box).reshape(-1, 3))


def brow_skin(img: np.ndarray, face: FaceInfo, s: MeasureSettings,
              skin: np.ndarray | None) -> float | None:
    """The lower of the two brows' best skin row just above the brow: low when
    a fringe hides the brows (the mesh still places them under the hair).
    A pixel is skin near either cheek (skin, the two together), the cheek
    on its own side or the nose ridge: under light from one side the shaded
    brow is as dark as its own cheek, and the lit one as bright, both far
    from the two's median; under a lamp in front and above, the forehead is
    lit as the nose ridge is, while the cheeks turn away into shade.
    skin: skin_lab(img, face), shared with ear_hair."""
    if skin is None:
        return None
    fw = face.face_width
    nose = _patch_lab(img, face, NOSE_RIDGE, 0.03)
    values = []
    for ids, cheek in zip((BROW_TOP_LEFT, BROW_TOP_RIGHT), CHEEKS):
        pts = face.landmarks[list(ids)]
        x0, x1 = pts[:, 0].min(), pts[:, 0].max()
        inset = 0.1 * (x1 - x0)  # the tails of the brow meet the temples' hair
        top = pts[:, 1].min()
        box = _clip_box(img.shape, x0 + inset, top - 0.08 * fw, x1 - inset, top)
        if box is None:
            return None
        refs = (skin, _patch_lab(img, face, cheek), nose)
        values.append(float(_is_skin(img, box, refs, s).mean(axis=1).max()))
    return min(values)


# ------------------------------------------------------------------ ears
# An ear, seen from the front, stands beside the cheek between the eye line
# and the bottom of the nose, just outside the face contour. It is judged by
# what covers that zone, against this face's own colours: skin (the cheeks),
# hair (the hair above the forehead) and the backdrop as this photo shows it
# (scene.backdrop_rgb: a white or grey wall as well as the booth's cloth).

# Face-oval points beside each cheek (FaceMesh), image-left (the subject's
# right) first: the contour an ear stands out from.
EAR_CONTOUR = ((162, 127, 234, 93, 132), (389, 356, 454, 323, 361))
NOSE_BOTTOM = 2
EAR_WIDTH = 0.10  # face widths outside the contour: the ear's visible width
TEMPLE = 0.25  # face widths above the eye line where hanging hair starts
HAIR_ROWS = (0.2, 0.04)  # above the forehead point, face widths: the hair sample
OUTLINE = (0.12, 0.22)  # face widths outside the contour: just beyond an ear's edge


def _segment_distance(lab: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Weighted CIELAB distance of each pixel to the blends of colours a and b."""
    ab = (b - a) * LAB_WEIGHTS
    t = np.clip(np.einsum("...i,i->...", (lab - a) * LAB_WEIGHTS, ab) / max(float(ab @ ab), 1e-6), 0, 1)
    return lab_distance(lab, a + t[..., None] * (b - a))


class _LabView:
    """CIELAB of the region around the face and ears, converted once (a
    preview frame's measures are many small boxes); a box inside it is a
    slice, one outside it is converted on its own."""

    def __init__(self, img: np.ndarray, face: FaceInfo) -> None:
        fw, lm = face.face_width, face.landmarks
        self.img = img
        self.box = _clip_box(img.shape, face.box[0] - (EAR_WIDTH + 0.1) * fw,
                             min(lm[10, 1] - HAIR_ROWS[0] * fw, face.eye_line_y - TEMPLE * fw) - 1,
                             face.box[2] + (EAR_WIDTH + 0.1) * fw,
                             max(float(lm[NOSE_BOTTOM, 1]), face.eye_line_y + 0.2 * fw) + 1)
        self.lab = None if self.box is None else _lab(img, self.box)

    def __call__(self, box: tuple[int, int, int, int]) -> np.ndarray:
        x0, y0, x1, y1 = box
        if self.box is not None and self.lab is not None:
            bx0, by0, bx1, by1 = self.box
            if bx0 <= x0 and by0 <= y0 and x1 <= bx1 and y1 <= by1:
                return self.lab[y0 - by0:y1 - by0, x0 - bx0:x1 - bx0]
        return _lab(self.img, box)


def hair_lab(img: np.ndarray, face: FaceInfo, skin: np.ndarray, backdrop: Backdrop,
             s: MeasureSettings, lab_at: _LabView | None = None) -> np.ndarray | None:
    """Median CIELAB colour of the hair just above the forehead, or None
    when what is there is skin (a bald head, a high forehead) or backdrop:
    hair as dark as dark skin is told from it by this sample."""
    fw, (fx, fy) = face.face_width, face.landmarks[10]
    box = _clip_box(img.shape, fx - 0.25 * fw, fy - HAIR_ROWS[0] * fw, fx + 0.25 * fw,
                    fy - HAIR_ROWS[1] * fw)
    if box is None:
        return None
    region = img[box[1]:box[3], box[0]:box[2]]
    lab = (lab_at or _LabView(img, face))(box)[~backdrop.is_backdrop(region)]
    if len(lab) < 0.3 * region.shape[0] * region.shape[1]:
        return None
    colour = median_rows(lab)
    return colour if float(lab_distance(colour, skin)) > 0.6 * s.skin_tolerance else None


def _hidden_side(face: FaceInfo, s: MeasureSettings) -> int | None:
    """0 (image left) or 1 (image right) when the head is turned far enough
    to hide that ear behind it: the side the nose points to."""
    angles = head_pose(face)
    if angles is None or abs(angles[0]) <= s.ear_hidden_yaw_deg:
        return None
    return 1 if angles[0] > 0 else 0


def _side_skin(lab_at: _LabView, face: FaceInfo, side: int, top: float, bottom: float,
               skin: np.ndarray, s: MeasureSettings) -> np.ndarray:
    """The skin of this side's cheek next to the ear (inside the contour):
    under a lamp from one side, the ear of the shaded side is as dark as the
    cheek beside it, not as the lit cheeks' median. The cheeks' median when
    that is not skin (hair over the cheek)."""
    fw = face.face_width
    x = float(np.median(face.landmarks[list(EAR_CONTOUR[side]), 0]))
    inward = -1 if side else 1
    xa, xb = sorted((x + inward * 0.06 * fw, x + inward * 0.16 * fw))
    box = _clip_box(lab_at.img.shape, xa, top, xb, bottom)
    if box is None:
        return skin
    local = median_rows(lab_at(box).reshape(-1, 3))
    return local if float(lab_distance(local, skin)) < s.skin_tolerance else skin


def _ear_hair(img: np.ndarray, face: FaceInfo, side: int, s: MeasureSettings, skin: np.ndarray,
              hair: np.ndarray | None, backdrop: Backdrop, lab_at: _LabView) -> float | None:
    """Share of one ear zone that is hair hanging from above; scaled down
    by the backdrop beyond the ear when that shows on nearly every row: an
    ear in shade is as dark as the hair, but hair over an ear hangs past it."""
    masks = ear_masks(img, face, side, s, skin, hair, backdrop, lab_at)
    if masks is None:
        return None
    share = float(masks[0][masks[1]].mean())
    if share > s.max_ear_hair_share:
        clear = ear_outline_backdrop(img, face, side, backdrop)
        if clear is not None and clear >= s.min_ear_outline_backdrop:
            return share * (1.0 - clear)
    return share


def ear_rows(face: FaceInfo, side: int) -> tuple[np.ndarray, float, float]:
    """The face contour beside one ear (sorted top to bottom) and the ear
    zone's top and bottom rows: the eye line and the bottom of the nose."""
    contour = face.landmarks[list(EAR_CONTOUR[side])]
    top = face.eye_line_y
    return (contour[np.argsort(contour[:, 1])], top,
            max(float(face.landmarks[NOSE_BOTTOM, 1]), top + 0.2 * face.face_width))


def ear_outline_backdrop(img: np.ndarray, face: FaceInfo, side: int, backdrop: Backdrop) -> float | None:
    """Share of the ear zone's rows where the band just beyond an ear's
    edge (OUTLINE) is mostly backdrop, or None when that band is outside
    the frame. Near 1: the head's outline ends at the ear, nothing hangs
    past it. Only a plain backdrop counts (a busy one never clears)."""
    h, w = img.shape[:2]
    contour, top, bottom = ear_rows(face, side)
    rows = np.arange(max(int(top), 0), min(int(bottom), h))
    if len(rows) < 2:
        return None
    inner = np.interp(rows + 0.5, contour[:, 1], contour[:, 0])
    out = (1 if side else -1) * face.face_width
    a, b = inner + out * OUTLINE[0], inner + out * OUTLINE[1]
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    x0, x1 = max(0, int(lo.min())), min(w, int(np.ceil(hi.max())))
    if x1 - x0 < 2:
        return None
    cols = np.arange(x0, x1)[None, :]
    band = (cols >= lo[:, None].astype(int)) & (cols < hi[:, None].astype(int))
    counted = band.sum(axis=1)
    seen = counted >= 2
    if not seen.any():
        return None
    plain = (backdrop.is_backdrop(img[rows[0]:rows[-1] + 1, x0:x1]) & band).sum(axis=1)
    return float((plain[seen] > 0.5 * counted[seen]).mean())


def ear_masks(img: np.ndarray, face: FaceInfo, side: int, s: MeasureSettings,
              skin: np.ndarray, hair: np.ndarray | None, backdrop: Backdrop,
              lab_at: _LabView | None = None
              ) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int, int]] | None:
    """(hanging hair, ear zone, box): two masks over the box x0, y0, x1, y1
    around one ear (side 0 image left, 1 image right), or None when the
    zone is mostly outside the frame."""
    fw = face.face_width
    out = 1 if side else -1  # away from the face
    contour, top, bottom = ear_rows(face, side)
    xs = contour[:, 0]
    box = _clip_box(img.shape, min(xs.min(), xs.min() + out * EAR_WIDTH * fw) - 0.02 * fw,
                    top - TEMPLE * fw, max(xs.max(), xs.max() + out * EAR_WIDTH * fw) + 0.02 * fw,
                    bottom)
    if box is None:
        return None
    x0, y0, x1, y1 = box
    region = img[y0:y1, x0:x1]
    lab_at = lab_at or _LabView(img, face)
    lab = lab_at(box)
    skin = _side_skin(lab_at, face, side, top, bottom, skin, s)
    d_skin = lab_distance(lab, skin)
    # Neither skin nor a blend of skin and backdrop (the ear's rim, softened
    # by the lens and the JPEG's halved colour resolution).
    back_lab = cv2.cvtColor(np.asarray([[backdrop.rgb]], np.uint8), cv2.COLOR_RGB2LAB)
    is_hair = np.minimum(d_skin, _segment_distance(lab, skin, back_lab[0, 0].astype(np.float32))
                         ) > s.skin_tolerance
    if hair is not None:
        is_hair |= lab_distance(lab, hair) < d_skin
    is_hair &= ~backdrop.is_backdrop(region)
    # Hair hangs from above: only what joins the top rows (the temple) counts,
    # not the shadow in the ear's bowl or an earring.
    n, labels = cv2.connectedComponents(is_hair.astype(np.uint8), connectivity=8)
    from_above = np.zeros(n, bool)
    from_above[labels[: max(2, int(0.05 * fw))]] = True
    from_above[0] = False  # not hair
    hanging = from_above[labels]
    # The zone: from the contour out by EAR_WIDTH, eye line to nose bottom.
    rows = np.arange(max(int(top), y0), y1)
    if len(rows) < 2:
        return None
    inner = np.interp(rows + 0.5, contour[:, 1], contour[:, 0])
    zone = np.zeros(is_hair.shape, bool)
    cols = np.arange(x0, x1)[None, :] + 0.5
    lo, hi = sorted((inner, inner + out * EAR_WIDTH * fw), key=lambda a: a[0])
    zone[rows - y0] = (cols >= lo[:, None]) & (cols <= hi[:, None])
    if zone.sum() < 0.5 * EAR_WIDTH * fw * len(rows):  # most of the ear is out of the frame
        return None
    return hanging, zone, box


def ear_sides(img: np.ndarray, face: FaceInfo, s: MeasureSettings,
              skin: np.ndarray | None) -> tuple[float | None, float | None] | None:
    """Share of hair where each ear should be, image-left then image-right;
    None for a side the head's turn hides (or outside the frame). None when
    nothing can be judged. skin: skin_lab(img, face)."""
    if skin is None:
        return None
    seen = backdrop_rgb(img, face)
    backdrop = s.backdrop if seen is None else replace(s.backdrop, rgb=tuple(float(v) for v in seen))
    lab_at = _LabView(img, face)
    hair = hair_lab(img, face, skin, backdrop, s, lab_at)
    hidden = _hidden_side(face, s)
    sides = tuple(None if side == hidden else _ear_hair(img, face, side, s, skin, hair, backdrop, lab_at)
                  for side in (0, 1))
    return None if sides == (None, None) else sides  # type: ignore[return-value]


def ear_hair(img: np.ndarray, face: FaceInfo, s: MeasureSettings,
             skin: np.ndarray | None) -> float | None:
    """The larger of ear_sides: hair over either ear."""
    return _worse(ear_sides(img, face, s, skin))


def _worse(sides: tuple[float | None, float | None] | None) -> float | None:
    return None if sides is None else max(v for v in sides if v is not None)


def hair(img, gray, face, s, g) -> list[Measure]:
    skin = skin_lab(img, face)
    sides = ear_sides(img, face, s, skin)
    return [_band("EYEBROWS_COVERED", brow_skin(img, face, s, skin), s.min_brow_skin_share, None),
            _band("EARS_COVERED", _worse(sides), None, s.max_ear_hair_share,
                  parts=None if sides is None else dict(zip(("image_left", "image_right"), sides)))]
