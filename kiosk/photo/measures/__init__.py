"""Small independent quality measures over one analysed photo (OFIQ's shape).

The face model runs once (kiosk.photo.analysis); each measure here reads that
FaceInfo and the image and returns a Measure: a code, the measured value, the
allowed band and whether it passed. A measure never depends on another, so a
new one is one more function in MEASURES.

The measures live by subject: face.py (framing, pose, eyes, mouth,
sharpness), light.py (exposure, colour), scene.py (backdrop, clothing,
shoulders), appearance.py (hair), eyewear.py (glasses), headwear.py (hats, scarves),
jewellery.py (earrings, necklaces); base.py holds what they share.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from kiosk.photo.analysis import FaceInfo, luma
from kiosk.photo.crop import SpecGeometry
from kiosk.photo.measures.appearance import hair
from kiosk.photo.measures.base import DEFAULT_MEASURE_SETTINGS, Measure, MeasureSettings
from kiosk.photo.measures.eyewear import eyewear
from kiosk.photo.measures.face import centre, eye_line, eyes, face_width, head_top, mouth, pose, roll, sharpness
from kiosk.photo.measures.headwear import headwear
from kiosk.photo.measures.jewellery import jewellery
from kiosk.photo.measures.light import colour, exposure, lighting
from kiosk.photo.measures.scene import background, background_shadow, clothing, shoulders

__all__ = ["DEFAULT_MEASURE_SETTINGS", "MEASURES", "Measure", "MeasureSettings", "measure_face"]

MeasureFn = Callable[[np.ndarray, np.ndarray, FaceInfo, MeasureSettings, SpecGeometry], list[Measure]]
MEASURES: tuple[MeasureFn, ...] = (
    face_width, head_top, eye_line, centre, roll, pose, eyes, mouth,
    exposure, lighting, colour, sharpness, background, background_shadow, clothing, shoulders, hair, eyewear,
    headwear, jewellery,
)


def measure_face(
    rgb: np.ndarray, face: FaceInfo, settings: MeasureSettings = DEFAULT_MEASURE_SETTINGS,
    geometry: SpecGeometry | None = None,
) -> dict[str, Measure]:
    """Every measure of one face in a final photo, by code (in MEASURES order).

    geometry: the head bands for this frame size (default: settings.geometry).
    """
    g = geometry or settings.geometry
    gray = luma(rgb)
    out: dict[str, Measure] = {}
    for fn in MEASURES:
        for m in fn(rgb, gray, face, settings, g):
            out[m.code] = m
    return out
