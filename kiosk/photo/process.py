"""Turn a still into the spec photo, and check the result for real.

process_still: find the one face in the still, crop to the spec frame,
encode the JPEG, then decode that JPEG and analyse it again: compliance is
measured on the file that will be submitted, not assumed from the plan.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from kiosk.config import PhotoConfig
from kiosk.photo.analysis import FaceAnalyser, FaceInfo, FrameAnalysis
from kiosk.photo.measures import DEFAULT_MEASURE_SETTINGS, Measure, MeasureSettings, measure_face
from kiosk.photo.measures.eyewear import apply_policy
from kiosk.photo.measures.jewellery import worn_policy
from kiosk.photo.measures.light import clipped_share
from kiosk.photo.crop import (
    GEOMETRY,
    CropError,
    PhotoError,
    SpecGeometry,
    crop_inside,
    crop_to_spec,
    encode_jpeg,
    encode_original,
    plan_crop,
)

__all__ = ["NoFaceError", "PhotoError", "SpecPhoto", "check_photo", "check_spec_jpeg", "no_face_problems",
           "process_still"]


class NoFaceError(PhotoError):
    """The still has no face, or more than one: the student must pose again."""

    def __init__(self, faces: int) -> None:
        self.faces = faces
        super().__init__("no face in the still" if faces == 0 else f"{faces} faces in the still")


@dataclass
class SpecPhoto:
    """A processed capture (satisfies kiosk.domain.ProcessedPhoto)."""

    spec_jpeg: bytes
    original_jpeg: bytes  # the full still, for audit
    compliant: bool
    problems: list[str] = field(default_factory=list)
    measures: dict[str, Any] = field(default_factory=dict)


def check_spec_jpeg(
    jpeg: bytes, analyser: FaceAnalyser, spec: PhotoConfig, geometry: SpecGeometry = GEOMETRY,
    settings: MeasureSettings = DEFAULT_MEASURE_SETTINGS, count_people: bool = True,
) -> tuple[list[str], dict[str, Any]]:
    """Problems and measures of an encoded spec photo, from the file itself.

    count_people=False when the photo was cut from a still whose people
    were counted already (process_still): the full-range detector is the
    costliest part of a check.

    measures["checks"] holds every quality measure as {code: {value, band,
    passed}}; problems lists the failing codes (file format ones first).
    """
    problems: list[str] = []
    measures: dict[str, Any] = {"jpeg_bytes": len(jpeg)}
    img = Image.open(io.BytesIO(jpeg))
    img.load()
    file_format = img.format
    img = ImageOps.exif_transpose(img)  # judged as it is shown (EXIF Orientation)
    measures.update(
        format=file_format,
        mode=img.mode,
        size=img.size,
        progressive=bool(img.info.get("progressive") or img.info.get("progression")),
        dpi=tuple(round(float(v)) for v in img.info.get("dpi", (0, 0))),
    )
    if img.size != (spec.width, spec.height):
        problems.append("WRONG_SIZE")
    if (
        file_format != "JPEG"
        or img.mode != "RGB"
        or measures["progressive"]
        or measures["dpi"] != (spec.dpi, spec.dpi)
    ):
        problems.append("WRONG_FORMAT")
    kb = len(jpeg) / 1024
    if not spec.min_kb <= kb <= spec.max_kb:
        problems.append("FILE_SIZE")

    rgb = np.asarray(img.convert("RGB"))
    analysis = analyser.analyse(rgb, count_people)
    measures["faces"] = analysis.face_count
    if analysis.face_count > 1:
        problems.append("MULTIPLE_FACES")
        return problems, measures
    if not analysis.faces:
        more, checks = no_face_problems(rgb, settings)
        if checks:
            measures["checks"] = checks
        return problems + more, measures
    g = geometry.scaled(spec)
    f = analysis.faces[0]
    offset = f.centre_x - rgb.shape[1] / 2
    measures.update(
        face_width_px=round(f.face_width, 1),
        eye_line_px=round(f.eye_line_y, 1),
        head_top_px=round(f.head_top_y, 1),
        head_top_found=f.head_top_found,
        centre_offset_px=round(offset, 1),
        roll_deg=round(f.roll_deg, 2),
        face_luma=round(f.mean_luma, 1),
    )
    checks = apply_policy(measure_face(rgb, f, settings, g), spec.glasses)  # the school's glasses rule
    checks = worn_policy(checks, "JEWELLERY", spec.jewellery)  # ... its jewellery rule
    checks = worn_policy(checks, "HEAD_COVERED", spec.head_covering)  # ... and head coverings
    measures["checks"] = {code: m.as_dict() for code, m in checks.items()}

    def failed(code: str) -> bool:
        return not checks[code].passed

    # The geometry codes are spelled out: tests/kiosk/test_i18n.py finds each
    # literal append and requires a check.<code> catalog text for it.
    if failed("FACE_TOO_SMALL"):
        problems.append("FACE_TOO_SMALL")
    elif failed("FACE_TOO_LARGE"):
        problems.append("FACE_TOO_LARGE")
    if failed("HEAD_TOP_OUT_OF_BAND"):
        problems.append("HEAD_TOP_OUT_OF_BAND")
    if failed("EYE_LINE_OUT_OF_BAND"):
        problems.append("EYE_LINE_OUT_OF_BAND")
    if failed("FACE_OFF_CENTRE"):
        problems.append("FACE_OFF_CENTRE")
    if failed("HEAD_ROLL"):
        problems.append("HEAD_ROLL")
    # Pose, expression, light, background, clothing (kiosk.photo.measures).
    problems += [code for code, m in checks.items() if not m.passed and code not in problems]
    return problems, measures


def no_face_problems(
    rgb: np.ndarray, settings: MeasureSettings = DEFAULT_MEASURE_SETTINGS,
) -> tuple[list[str], dict[str, Any]]:
    """Problems and checks of an image with no face in it: NO_FACE, and
    OVEREXPOSED too when the light washed the face out (what the camera
    clipped), so the student is told "too bright", not only "no face".
    The checks hold OVEREXPOSED's measure only when it failed."""
    clipped = clipped_share(rgb, settings)
    measure = Measure("OVEREXPOSED", round(clipped, 3), (None, settings.max_frame_clipped_share),
                      clipped <= settings.max_frame_clipped_share)
    problems: list[str] = []
    problems.append("NO_FACE")  # spelled so: tests/test_i18n.py finds the code
    if measure.passed:  # no face measures without a face
        return problems, {}
    return problems + [measure.code], {measure.code: measure.as_dict()}


def low_resolution(face: FaceInfo, width: int, height: int, spec: PhotoConfig,
                   geometry: SpecGeometry = GEOMETRY) -> Measure:
    """LOW_RESOLUTION: the face's width in the still, in pixels, against the
    narrowest the spec photo may show (no enlarging into the band) and the
    width the crop may enlarge by at most geometry.max_upscale."""
    g = geometry.scaled(spec)
    plan = plan_crop(face, width, height, spec, geometry)
    need = max(g.face_width[0], plan.face_width_out / g.max_upscale)
    ok = face.face_width >= need
    return Measure("LOW_RESOLUTION", round(face.face_width, 1), (round(need, 1), None), ok)


def native_sharpness(settings: MeasureSettings, face: FaceInfo) -> MeasureSettings:
    """settings with sharpness judged no finer than the still's own pixels
    (its eye distance): a small face the crop enlarged is soft for want of
    pixels, which LOW_RESOLUTION reports, and not BLURRY unless it was
    blurred already."""
    eyes = math.dist(face.left_eye, face.right_eye)
    return replace(settings, sharpness_eye_px=min(settings.sharpness_eye_px, eyes))


def _one_face(analysis: FrameAnalysis) -> None:
    if analysis.face is None:
        raise NoFaceError(analysis.face_count)


def process_still(
    still: np.ndarray, analyser: FaceAnalyser, spec: PhotoConfig, geometry: SpecGeometry = GEOMETRY,
    settings: MeasureSettings = DEFAULT_MEASURE_SETTINGS,
) -> SpecPhoto:
    """The spec photo for a still. analyser should be a static-image one.

    Raises NoFaceError when the still has no face or several. A crop that
    would run past the still is not padded: the best inside crop is made and
    reported as CROP_OUTSIDE_STILL (non-compliant), so the student sees why.
    """
    analysis = analyser.analyse(still)
    _one_face(analysis)
    face = analysis.faces[0]
    problems: list[str] = []
    resolution = low_resolution(face, analysis.width, analysis.height, spec, geometry)
    measures: dict[str, Any] = {
        "still_size": (analysis.width, analysis.height),
        "still_face_width_px": round(face.face_width, 1),
        "upscale": round(plan_crop(face, analysis.width, analysis.height, spec, geometry).scale, 2),
    }
    if not resolution.passed:
        problems.append("LOW_RESOLUTION")
    try:
        crop = crop_to_spec(still, face, spec, geometry)
    except CropError as err:
        problems.append("CROP_OUTSIDE_STILL")
        measures["crop_error"] = str(err)
        crop = crop_inside(still, face, spec, geometry)
    encoded = encode_jpeg(crop, spec)
    measures.update(quality=encoded.quality, jpeg_kb=round(encoded.kb, 1))
    checked, more = check_spec_jpeg(encoded.data, analyser, spec, geometry, native_sharpness(settings, face),
                                    count_people=False)
    measures.update(more)
    measures.setdefault("checks", {})["LOW_RESOLUTION"] = resolution.as_dict()
    problems += [p for p in checked if p not in problems]
    return SpecPhoto(
        spec_jpeg=encoded.data,
        original_jpeg=encode_original(still),
        compliant=not problems,
        problems=problems,
        measures=measures,
    )


def check_photo(
    rgb: np.ndarray, data: bytes, analyser: FaceAnalyser, spec: PhotoConfig,
    settings: MeasureSettings = DEFAULT_MEASURE_SETTINGS, as_is: bool = False,
) -> tuple[list[str], dict[str, Any], bytes | None]:
    """What `kiosk check-photo` judges of one image file (data, decoded as
    rgb): problems, measures and the spec JPEG when one could be made. By
    default the image is cropped to the spec first, as the booth does with a
    still; as_is checks the file itself as a final photo."""
    if as_is:
        return (*check_spec_jpeg(data, analyser, spec, settings=settings), None)
    faces = analyser.analyse(rgb).face_count
    if faces == 0:  # nothing to crop around; washed out, maybe
        problems, checks = no_face_problems(rgb, settings)
        return problems, {"faces": 0, **({"checks": checks} if checks else {})}, None
    if faces > 1:
        return ["MULTIPLE_FACES"], {"faces": faces}, None
    photo = process_still(rgb, analyser, spec, settings=settings)
    return photo.problems, photo.measures, photo.spec_jpeg
