"""Photo commands: check-photo, guide, calibrate-backdrop."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.cli.common import load
from kiosk.config import Config

if TYPE_CHECKING:
    import numpy as np


def _read_image(path: str, command: str) -> tuple[bytes, np.ndarray] | None:
    """(file bytes, RGB uint8 array), or None with the reason printed (exit 2)."""
    from kiosk.imageio_safe import ImageError, read_image

    try:
        return read_image(path)
    except ImageError as err:
        print(f"{command}: {err}", file=sys.stderr)
        return None


def _out_problem(out: str) -> str | None:
    """Why --out cannot be written, or None; checked before the slow work."""
    path = Path(out)
    if path.is_dir():
        return f"--out {out}: is a folder: give a file name, e.g. {path / 'photo.jpg'}"
    folder = path.parent
    if not folder.is_dir():
        return f"--out {out}: folder {folder} does not exist"
    if not os.access(folder, os.W_OK):
        return f"--out {out}: cannot write into {folder}"
    return None


def _backdrop(config: Config):  # type: ignore[no-untyped-def]
    """The booth's calibrated backdrop model (the spec blue when none)."""
    from kiosk.photo.backdrop import load_backdrop

    return load_backdrop(config.kiosk.data_dir)


def cmd_calibrate_backdrop(args: argparse.Namespace) -> int:
    """Measure the empty booth's backdrop; exit 0 saved, 1 refused, 2 no image."""
    from kiosk.photo.analysis import FaceAnalyser
    from kiosk.photo.backdrop import CalibrationError, calibrate

    config = load(args)
    if args.image:
        read = _read_image(args.image, "calibrate-backdrop")
        if read is None:
            return 2
        frame = read[1]
    else:
        from kiosk.hardware.backends import make_camera
        from kiosk.hardware.camera import CameraError

        camera = make_camera(config.camera)
        try:
            camera.start()
            frame = camera.capture_still()
        except CameraError as err:
            print(f"calibrate-backdrop: camera: {err}", file=sys.stderr)
            return 2
        finally:
            camera.close()
    try:
        with FaceAnalyser(static_image_mode=True) as analyser:
            if analyser.analyse(frame).faces:
                raise CalibrationError("not_empty", "a face is in view: the booth must be empty")
        model = calibrate(frame)
    except CalibrationError as err:
        print(f"calibrate-backdrop: not calibrated: {err}", file=sys.stderr)
        return 1
    config.kiosk.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = model.save(config.kiosk.data_dir)
    rgb = ", ".join(f"{v:.0f}" for v in model.rgb)
    print(f"backdrop calibrated: RGB({rgb}), tolerance {model.chroma_tolerance:.3f}; saved to {path}")
    return 0


def cmd_check_photo(args: argparse.Namespace) -> int:
    """Check a photo against the spec; exit 0 compliant, 1 not, 2 unreadable."""
    import json

    from dataclasses import replace

    from kiosk.photo.analysis import FaceAnalyser
    from kiosk.photo.measures import DEFAULT_MEASURE_SETTINGS
    from kiosk.photo.process import check_photo
    from kiosk.photo.report import json_measures, problem_message

    config = load(args)
    spec, backdrop = config.photo, _backdrop(config)
    settings = replace(DEFAULT_MEASURE_SETTINGS, backdrop=backdrop)
    if args.out and (problem := _out_problem(args.out)):
        print(f"check-photo: {problem}", file=sys.stderr)
        return 2
    read = _read_image(args.image, "check-photo")
    if read is None:
        return 2
    data, rgb = read
    with FaceAnalyser(static_image_mode=True, backdrop=backdrop) as analyser:
        problems, measures, spec_jpeg = check_photo(rgb, data, analyser, spec, settings, as_is=args.as_is)
    if args.out and spec_jpeg is not None:
        try:
            Path(args.out).write_bytes(spec_jpeg)
        except OSError as err:
            print(f"check-photo: --out {args.out}: cannot write: {err.strerror}", file=sys.stderr)
            return 2
    result = {
        "compliant": not problems,
        "problems": [{"code": c, "message": problem_message(c, measures, spec)} for c in problems],
        "measures": json_measures(measures),
    }
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(f"{args.image}: " + ("compliant" if not problems else "NOT compliant"))
        for p in result["problems"]:
            print(f"  {p['code']}: {p['message']}")
        if args.out:
            print(f"spec photo written to {args.out}" if spec_jpeg is not None
                  else "no spec photo written (no single face to crop around)")
    return 0 if not problems else 1


def cmd_guide(args: argparse.Namespace) -> int:
    """Pose hints for one frame; exit 0 ready, 1 hints, 2 unreadable."""
    import json

    from kiosk.codes import message_key
    from kiosk.i18n import Translator
    from dataclasses import replace

    from kiosk.photo.analysis import FaceAnalyser
    from kiosk.photo.guidance import DEFAULT_SETTINGS, hints_for

    config = load(args)
    backdrop = _backdrop(config)
    read = _read_image(args.image, "guide")
    if read is None:
        return 2
    # An image wider than the booth's preview is a still (a phone photo):
    # then its own pixels are what the spec photo would be cut from.
    settings = replace(DEFAULT_SETTINGS, frame_is_still=read[1].shape[1] > config.camera.preview_size[0],
                       measures=replace(DEFAULT_SETTINGS.measures, backdrop=backdrop))
    with FaceAnalyser(static_image_mode=True, backdrop=backdrop) as analyser:
        hints = hints_for(analyser.analyse(read[1]), config.photo, settings)
    t = Translator("en")
    result = {
        "ready": not hints,
        "hints": [{"code": h.value, "message": t.t(message_key(h))} for h in hints],
    }
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print("ready" if not hints else "\n".join(f"{h['code']}: {h['message']}" for h in result["hints"]))
    return 0 if not hints else 1
