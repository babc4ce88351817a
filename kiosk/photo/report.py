"""Short English reasons for check codes, for staff tools and scripts.

The student sees the catalog texts (check.<code> in kiosk/locale); these are
for `kiosk check-photo`: what was measured and what is allowed, e.g.
"eye line at 318 px, allowed 200-300".
"""

from __future__ import annotations

from typing import Any

from kiosk.config import PhotoConfig

# code -> (what was measured, unit, decimals)
_MEASURED: dict[str, tuple[str, str, int]] = {
    "FACE_TOO_SMALL": ("face width", " px", 0),
    "FACE_TOO_LARGE": ("face width", " px", 0),
    "HEAD_TOP_OUT_OF_BAND": ("head top at", " px", 0),
    "EYE_LINE_OUT_OF_BAND": ("eye line at", " px", 0),
    "FACE_OFF_CENTRE": ("face centre off by", " px", 0),
    "HEAD_ROLL": ("head roll", " deg", 1),
    "HEAD_YAW": ("head turned (yaw)", " deg", 1),
    "HEAD_PITCH": ("head tilted up/down (pitch)", " deg", 1),
    "EYES_CLOSED": ("eye opening", "", 2),
    "MOUTH_OPEN": ("mouth opening", "", 2),
    "UNDEREXPOSED": ("face brightness (highlights: 99th percentile luma)", "", 0),
    "OVEREXPOSED": ("clipped share (of the face, or of the frame scaled to the face's limit)", "", 2),
    "NOT_COLOUR": ("colour of the face its lightness does not explain (0: one tone)", " a*b*", 1),
    "UNEVEN_LIGHTING": ("light on the left cheek over the right (stops)", "", 2),
    "BLURRY": ("face sharpness (fine/coarse gradient energy)", "", 2),
    "BACKGROUND_COLOUR": ("background colour distance from the backdrop", "", 0),
    "BACKGROUND_UNEVEN": ("background variation", "", 1),
    "CLOTHING_MATCHES_BACKGROUND": ("share of clothing in the backdrop colour", "", 2),
    "BACKGROUND_SHADOW": ("share of the backdrop in shadow", "", 2),
    "SHOULDERS_NOT_LEVEL": ("shoulder line tilt", " deg", 1),
    "EYEBROWS_COVERED": ("skin visible just above the eyebrows (best row share)", "", 2),
    "EARS_COVERED": ("share of hair where an ear should be (the worse ear)", "", 2),
    "GLASSES": ("glasses frame across the nose (edge strength)", "", 2),
    "GLASSES_GLARE": ("largest reflection over an eye (share of the lens area)", "", 3),
    "TINTED_GLASSES": ("lens tint: skin under the lenses against the cheek (under 1: too dark or too coloured)", "", 2),
    "LOW_RESOLUTION": ("face width in the image", " px", 0),
    "HEAD_COVERED": ("share of the crown covered (neither skin nor hair)", "", 2),
    "JEWELLERY": ("largest jewellery-shaped blob at the ears or neck (share of face width squared)", "", 4),
}
_NOT_MEASURED = {
    "HEAD_TOP_OUT_OF_BAND": "top of the hair not found against the backdrop (cut off or no backdrop)",
    "HEAD_COVERED": "no crown between the head top and the forehead (a covering in the backdrop's colour?)",
}


def _num(v: float, decimals: int) -> str:
    return f"{v:.{decimals}f}"


def _band_text(band: list, unit: str, decimals: int) -> str:
    lo, hi = band
    if lo is None:
        return f"at most {_num(hi, decimals)}{unit}"
    if hi is None:
        return f"at least {_num(lo, decimals)}{unit}"
    return f"{_num(lo, decimals)} to {_num(hi, decimals)}{unit}" if lo < 0 else (
        f"{_num(lo, decimals)}-{_num(hi, decimals)}{unit}")


def problem_message(code: str, measures: dict[str, Any], spec: PhotoConfig) -> str:
    """One line: the measured value and the allowed band, where there are any."""
    check = measures.get("checks", {}).get(code)
    if check is not None and code in _MEASURED:
        label, unit, dec = _MEASURED[code]
        if check["value"] is None:
            return _NOT_MEASURED.get(code, f"{label}: could not be measured")
        return f"{label} {_num(check['value'], dec)}{unit}, allowed {_band_text(check['band'], unit, dec)}"
    if code == "WRONG_SIZE":
        w, h = measures.get("size", (0, 0))
        return f"image is {w}x{h} px, must be {spec.width}x{spec.height}"
    if code == "WRONG_FORMAT":
        dpi = measures.get("dpi", (0, 0))
        return (f"{measures.get('format')} {measures.get('mode')}"
                f"{' progressive' if measures.get('progressive') else ''} at {dpi[0]} dpi, "
                f"must be baseline JPEG RGB at {spec.dpi} dpi")
    if code == "FILE_SIZE":
        kb = measures.get("jpeg_bytes", 0) / 1024
        return f"file is {kb:.1f} KB, allowed {spec.min_kb}-{spec.max_kb} KB"
    if code == "NO_FACE":
        return "no face found"
    if code == "MULTIPLE_FACES":
        return f"{measures.get('faces', 'several')} faces found, exactly one allowed"
    if code == "CROP_OUTSIDE_STILL":
        return measures.get("crop_error") or "the spec crop runs past the image edges"
    return code.replace("_", " ").lower()


def json_measures(measures: dict[str, Any]) -> dict[str, Any]:
    """The per-code measures {code: {value, band, passed}} of a report."""
    return dict(measures.get("checks", {}))
