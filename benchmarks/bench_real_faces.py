"""Per-rule precision and recall of the photo check on real people (issue 23 item 9).

    python benchmarks/real_faces/build_set.py     # once: var/real_faces/
    python benchmarks/bench_real_faces.py [--set var/real_faces] [--pitch]

Runs what `kiosk check-photo IMAGE` runs (kiosk.photo.process.check_photo,
default settings and spec, the image cropped to the spec first) on every
image of the set, and compares each rule with the labels a person gave
(benchmarks/real_faces/labels.toml). The set's photos have their own
backgrounds and framing, so the backdrop, framing and file codes are
counted but not judged; the decision judged is the person's: would a
careful reviewer accept this face (labels' `compliant`) and does the check
raise none of the person codes. An image too tight for the spec crop
(CROP_OUTSIDE_STILL) is checked again padded with its own border colour,
as a booth's backdrop would surround it; WebP files are handed over as PNG (check-photo reads JPEG and
PNG only). Prints per-rule figures, false rejections of compliant faces per
skin-tone bin, the decision accuracy, the still time median and the peak
RSS, then every rule about the person (all but MULTIPLE_FACES) per half of
the set (fit, test: by sha256) with their false alarms per skin-tone bin; --pitch also prints the pitch read on each face labelled level.
--booth-backdrop first puts each person on the booth's blue (mediapipe's
selfie segmentation, as tests/face_set.py does for its portraits): the
measures that read around the head (ears, head covering) then see a
backdrop like a booth's instead of the photo's own wall or foliage.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import statistics
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from kiosk.config import PhotoConfig  # noqa: E402
from kiosk.hardware.sim_scene import BACKDROP_RGB  # noqa: E402
from kiosk.photo.analysis import FaceAnalyser  # noqa: E402
from kiosk.photo.measures import DEFAULT_MEASURE_SETTINGS  # noqa: E402
from kiosk.photo.process import check_photo  # noqa: E402

SKIN_BINS = ("very_light", "intermediate", "tan", "brown", "dark")

# rule: (codes that mean "the rule fired", truth from the labels or None to skip).
# Detection rules read the measure whatever the school's policy (GLASSES).
RULES = {
    "MULTIPLE_FACES": (("MULTIPLE_FACES",), lambda lb: not lb["single"]),
    "pose (YAW/PITCH/ROLL)": (("HEAD_YAW", "HEAD_PITCH", "HEAD_ROLL"), lambda lb: not lb["level"]),
    "EYES_CLOSED": (("EYES_CLOSED",), lambda lb: lb["eyes_closed"]),
    "MOUTH_OPEN": (("MOUTH_OPEN",), lambda lb: lb["mouth_open"]),
    "BLURRY": (("BLURRY",), lambda lb: not lb["sharp"]),
    "exposure (UNDER/OVER/UNEVEN)": (("UNDEREXPOSED", "OVEREXPOSED", "UNEVEN_LIGHTING"),
                                     lambda lb: not lb["exposure_ok"]),
    "EYEBROWS_COVERED": (("EYEBROWS_COVERED",), lambda lb: lb["eyebrows_covered"]),
    "EARS_COVERED": (("EARS_COVERED",), lambda lb: None if lb["ears_cut"] else lb["ears"] != "both"),
    "GLASSES (worn)": (("GLASSES",), lambda lb: lb["glasses"] != "none"),
    "GLASSES_GLARE": (("GLASSES_GLARE",), lambda lb: lb["glare"]),
    "TINTED_GLASSES": (("TINTED_GLASSES",), lambda lb: lb["glasses"] == "tinted"),
    "head covered": (("HEAD_COVERED", "HEADWEAR"), lambda lb: lb["head_covered"]),
    "jewellery": (("JEWELLERY", "EARRINGS", "NECKLACE"), lambda lb: lb["earrings"] or lb["necklace"]),
    "NOT_COLOUR": (("NOT_COLOUR",), lambda lb: not lb["colour"]),
}
# Codes about the person (the decision judged); everything else is the
# backdrop, the framing of someone else's photo or the file.
SCENE_CODES = {"WRONG_SIZE", "WRONG_FORMAT", "FILE_SIZE", "FACE_TOO_SMALL", "FACE_TOO_LARGE",
               "HEAD_TOP_OUT_OF_BAND", "EYE_LINE_OUT_OF_BAND", "FACE_OFF_CENTRE", "CROP_OUTSIDE_STILL",
               "LOW_RESOLUTION", "BACKGROUND_COLOUR", "BACKGROUND_UNEVEN", "BACKGROUND_SHADOW",
               "CLOTHING_MATCHES_BACKGROUND", "SHOULDERS_NOT_LEVEL"}


def as_checkable(data: bytes) -> tuple[bytes, np.ndarray]:
    """(bytes, rgb) of the file; WebP handed over as PNG."""
    img = Image.open(io.BytesIO(data))
    rgb = np.asarray(img.convert("RGB"))
    if img.format not in ("JPEG", "PNG"):
        out = io.BytesIO()
        Image.fromarray(rgb).save(out, "PNG")
        data = out.getvalue()
    return data, rgb


def padded(rgb: np.ndarray, colour: tuple[int, int, int] | None = None) -> np.ndarray:
    """rgb padded with its border colour (or colour) on every side by half
    its longer side (a tight crop leaves the spec crop no room)."""
    h, w = rgb.shape[:2]
    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
    pad = max(h, w) // 2
    out = np.empty((h + 2 * pad, w + 2 * pad, 3), np.uint8)
    out[:] = np.median(border, axis=0).astype(np.uint8) if colour is None else colour
    out[pad:pad + h, pad:pad + w] = rgb
    return out


def fired(rule_codes: tuple[str, ...], problems: list[str], checks: dict) -> bool | None:
    """Did the rule fire? None when the engine has no such measure."""
    if not any(c in checks or c in problems for c in rule_codes):
        return None
    return any(c in problems or (c in checks and outside(checks[c])) for c in rule_codes)


def outside(check: dict) -> bool:
    """Outside its band, whatever the school's policy made of it (GLASSES
    passes under "no_glare" but still says whether glasses are worn)."""
    value, (lo, hi) = check["value"], check["band"]
    if value is None:
        return not check["passed"]
    return (lo is not None and value < lo) or (hi is not None and value > hi)


def on_booth_backdrop(rgb: np.ndarray) -> tuple[bytes, np.ndarray]:
    from face_set import _person_on_backdrop  # tests/: the labelled set's own cut-out

    rgb = _person_on_backdrop(rgb)
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, "PNG")
    return out.getvalue(), rgb


def current_labels() -> dict[tuple[str, str], dict]:
    """labels.toml as it is now, by (source, sha256): a label fixed there
    counts without rebuilding the set (its manifest keeps the labels it was
    built with)."""
    with open(ROOT / "benchmarks" / "real_faces" / "labels.toml", "rb") as f:
        return {(lb["source"], lb["sha256"]): lb for lb in tomllib.load(f)["image"]}


def load_set(set_dir: Path) -> list[dict]:
    """The set's entries (file, source, sha256, labels as labels.toml has
    them now), in the manifest's order; exit 2 with one line when the set
    has not been built."""
    path = set_dir / "manifest.json"
    if not path.is_file():
        print(f"no real-faces set at {set_dir}: run benchmarks/real_faces/build_set.py first", file=sys.stderr)
        raise SystemExit(2)
    truth = current_labels()
    return [{**entry, "labels": truth.get((entry["source"], entry["sha256"]), entry["labels"])}
            for entry in json.loads(path.read_text())]


def run(set_dir: Path, booth_backdrop: bool = False) -> list[dict]:
    manifest = load_set(set_dir)
    spec, settings = PhotoConfig(), DEFAULT_MEASURE_SETTINGS
    rows = []
    with FaceAnalyser(static_image_mode=True) as analyser:
        for entry in manifest:
            data, rgb = as_checkable((set_dir / entry["file"]).read_bytes())
            if booth_backdrop:
                data, rgb = on_booth_backdrop(rgb)
            t0 = time.perf_counter()
            problems, measures, _ = check_photo(rgb, data, analyser, spec, settings)
            if "CROP_OUTSIDE_STILL" in problems:  # a tight crop: give it room, as a backdrop would
                # On the blue, pad with the blue: the border's median there
                # is often the clothing's (a grey the ear and headwear
                # measures then took for this photo's backdrop).
                rgb = padded(rgb, BACKDROP_RGB if booth_backdrop else None)
                t0 = time.perf_counter()
                problems, measures, _ = check_photo(rgb, data, analyser, spec, settings)
            rows.append({**entry, "problems": problems, "checks": measures.get("checks", {}),
                         "seconds": time.perf_counter() - t0})
    return rows


def ratio(a: int, b: int) -> str:
    return f"{a / b:.2f}" if b else "-"


def report(rows: list[dict], show_pitch: bool) -> None:
    single = [r for r in rows if r["labels"]["single"]]
    print(f"{len(rows)} images, {len(single)} with one person "
          f"({sum(r['labels']['east_asian'] for r in single)} East Asian), "
          f"{sum(r['labels']['compliant'] for r in rows)} labelled compliant\n")
    print(f"{'rule':30} {'truth+':>6} {'TP':>3} {'FP':>3} {'FN':>3} {'TN':>3} {'prec':>5} {'recall':>6}")
    right = total = 0
    for rule, (codes, truth_of) in RULES.items():
        tp = fp = fn = tn = 0
        missing = True
        for r in rows:
            lb = r["labels"]
            if rule != "MULTIPLE_FACES" and not lb["single"]:
                continue
            truth = truth_of(lb)
            said = fired(codes, r["problems"], r["checks"])
            if truth is None:
                continue
            if said is None and rule != "MULTIPLE_FACES":
                continue
            missing = False
            said = bool(said)
            tp += truth and said
            fp += said and not truth
            fn += truth and not said
            tn += not truth and not said
        if missing:
            print(f"{rule:30} {'no measure in this engine':>40}")
            continue
        right += tp + tn
        total += tp + fp + fn + tn
        print(f"{rule:30} {tp + fn:6d} {tp:3d} {fp:3d} {fn:3d} {tn:3d} {ratio(tp, tp + fp):>5} {ratio(tp, tp + fn):>6}")
    print(f"\nrule decisions right: {right}/{total} ({ratio(right, total)})")

    def person_codes(r: dict) -> list[str]:
        return [c for c in r["problems"] if c not in SCENE_CODES]

    print("\nfalse rejections of compliant faces (person codes), per skin-tone bin:")
    for skin in SKIN_BINS:
        ok = [r for r in single if r["labels"]["compliant"] and r["labels"]["skin"] == skin]
        bad = [r for r in ok if person_codes(r)]
        why = "; ".join(f"{r['file']}: {','.join(person_codes(r))}" for r in bad)
        print(f"  {skin:13} {len(bad)}/{len(ok)}" + (f"  ({why})" if why else ""))
    right = sum((not person_codes(r)) == r["labels"]["compliant"] for r in rows)
    print(f"decision (person codes) right: {right}/{len(rows)} ({ratio(right, len(rows))})")
    scene: dict[str, int] = {}
    for r in rows:
        for c in r["problems"]:
            if c in SCENE_CODES:
                scene[c] = scene.get(c, 0) + 1
    print("scene/framing codes raised (not judged): "
          + ", ".join(f"{c} {n}" for c, n in sorted(scene.items(), key=lambda kv: -kv[1])))
    times = [r["seconds"] * 1000 for r in rows if r["labels"]["single"]]
    print(f"\ncheck time per image (one face): median {statistics.median(times):.0f} ms, "
          f"max {max(times):.0f} ms; peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    print_halves(single)
    if show_pitch:
        print_pitch(single)


def half(r: dict) -> str:
    """The "fit" half (sha256 starting with an even hex digit) that
    thresholds are chosen on, and the "test" half they are judged on."""
    return "fit" if int(r["sha256"][0], 16) % 2 == 0 else "test"


def print_halves(single: list[dict], rules: tuple[str, ...] = tuple(r for r in RULES if r != "MULTIPLE_FACES")
                 ) -> None:
    """Each rule per half, and its false alarms per skin-tone bin."""
    print("\nper half (fit: sha256 starts with an even digit; test: odd):")
    for rule in rules:
        codes, truth_of = RULES[rule]
        for name in ("fit", "test"):
            # As in the table: not judged where the truth is unknown (ears
            # cut by the frame) or the engine measured nothing.
            said = [(truth_of(r["labels"]), bool(fired(codes, r["problems"], r["checks"])), r["labels"]["skin"])
                    for r in single if half(r) == name and truth_of(r["labels"]) is not None
                    and fired(codes, r["problems"], r["checks"]) is not None]
            tp, fp = sum(t and f for t, f, _ in said), sum(f and not t for t, f, _ in said)
            fn, tn = sum(t and not f for t, f, _ in said), sum(not t and not f for t, f, _ in said)
            bins = ", ".join(f"{b} {sum(f for t, f, k in said if not t and k == b)}/"
                             f"{sum(not t for t, _, k in said if k == b)}" for b in SKIN_BINS)
            print(f"  {rule:28} {name:4} TP {tp} FP {fp} FN {fn} TN {tn} precision {ratio(tp, tp + fp)} "
                  f"recall {ratio(tp, tp + fn)}; false alarms per bin: {bins}")


def print_pitch(single: list[dict]) -> None:
    """Pitch on the faces labelled level, by group and by half: the "fit"
    half (sha256 starting with an even hex digit) is the one DEPTH_WEIGHT
    (kiosk/photo/measures/face.py) was chosen on, the "test" half the rest;
    then the level faces whose pitch or yaw reads beyond 5 deg (labels to
    look at again, or the measure's misses)."""
    def pose(r: dict, code: str) -> float | None:
        return r["checks"].get(code, {}).get("value")

    level = [r for r in single if r["labels"]["level"] and pose(r, "HEAD_PITCH") is not None]
    ea = lambda r: r["labels"]["east_asian"]  # noqa: E731
    groups = {"all": lambda r: True, "East Asian": ea, "other": lambda r: not ea(r)}
    for name in ("fit", "test"):
        groups[f"{name} half"] = lambda r, name=name: half(r) == name
        groups[f"East Asian, {name} half"] = lambda r, name=name: ea(r) and half(r) == name
        groups[f"other, {name} half"] = lambda r, name=name: not ea(r) and half(r) == name
    for skin in SKIN_BINS:
        groups[f"skin {skin}"] = lambda r, skin=skin: r["labels"]["skin"] == skin
    print("\npitch read on faces labelled level (deg; + chin up):")
    for group, member in groups.items():
        vals = sorted((pose(r, "HEAD_PITCH"), r["file"][:3]) for r in level if member(r))
        if not vals:
            continue
        v = [p for p, _ in vals]
        print(f"  {group}: n={len(v)} median {statistics.median(v):+.1f} range {min(v):+.1f}..{max(v):+.1f}, "
              f"within +-3: {sum(abs(p) <= 3 for p in v)}/{len(v)}, within +-5: {sum(abs(p) <= 5 for p in v)}/{len(v)}")
        if group in ("East Asian", "other"):
            print("    " + ", ".join(f"{n} {p:+.1f}" for p, n in vals))
    print("level faces reading beyond 5 deg (file: pitch, yaw):")
    for r in level:
        pitch, yaw = pose(r, "HEAD_PITCH"), pose(r, "HEAD_YAW") or 0.0
        if abs(pitch) > 5 or abs(yaw) > 5:
            print(f"  {r['file']}: {pitch:+.1f}, {yaw:+.1f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--set", type=Path, default=ROOT / "var" / "real_faces")
    ap.add_argument("--pitch", action="store_true", help="print the pitch read on each level face")
    ap.add_argument("--booth-backdrop", action="store_true",
                    help="put each person on the booth's blue before checking")
    args = ap.parse_args()
    report(run(args.set, args.booth_backdrop), args.pitch)
    return 0


if __name__ == "__main__":
    sys.exit(main())
