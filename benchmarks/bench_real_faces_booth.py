"""Real faces through the whole simulated booth, hands-free (issue 23 item 12).

    python benchmarks/real_faces/build_set.py            # once: var/real_faces/
    python benchmarks/bench_real_faces_booth.py [--limit N] [--only 003,017] [--guide-seconds 20]

Each one-person photo of the labelled real-faces set (var/real_faces/, truth
in benchmarks/real_faces/labels.toml, loaded by bench_real_faces.load_set)
becomes the simulated camera's student (camera.simulated.faces: cut out of
its own background, padded if tight, put on the booth's blue, shown as
photographed). A real KioskRuntime (the session flow, the device threads,
the live guidance, hands-free capture, the still's processing) runs the
headless harness's script up to the guide screen (tests/headless_harness.py
TO_GUIDE: card, confirm, consent, 采集码) and then the student sits still,
as photographed, for at most --guide-seconds of the booth's own clock.
One process, one booth after another (a fresh runtime and data directory
per face, the cut-outs dropped between faces to keep memory flat).

Per face (named by the file's number and source project only): captured or
held, seconds from the guide screen to the shot, the live hint shown first
on each analysed preview frame (with how many frames each; "(none)": no
hint shown, not ready either), the raw hints before the booth's smoothing
(frames with each), and the still's verdict (its problem codes). Then: compliant faces captured / held and the
hint that held them, per skin-tone bin and East Asian; non-compliant faces
captured anyway and what the still's check said of them.
Group photos (not one person) are skipped: the cut-out takes one face.
"""

from __future__ import annotations

import argparse
import collections
import logging
import os
import resource
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench_real_faces import ROOT, SKIN_BINS, load_set  # puts ROOT and tests/ on sys.path

from headless_harness import TO_GUIDE, write_config  # noqa: E402
from kiosk.codes import Device, State  # noqa: E402
from kiosk.config import load_config  # noqa: E402
from kiosk.hardware.sim_portrait import forget_cutouts  # noqa: E402
from kiosk.photo.guidance import GuidanceSmoother  # noqa: E402
from kiosk.runtime import KioskRuntime, devices  # noqa: E402
from kiosk.script import ScriptRunner  # noqa: E402

REAL_HOLD_SECONDS = 1.0  # the booth's default [flow] ready_hold_seconds (the harness shortens it)
CAMERA_WAIT = 180.0  # the cut-out (FaceMesh + GrabCut) under a loaded machine
POLL = 1 / 100  # the headless loop's rate (kiosk.script.run_headless)


@dataclass
class Outcome:
    short: str  # "003-3DDFA_V2": the file's number and source project, nothing about the person
    labels: dict
    reached_guide: bool = False
    captured: bool = False
    seconds: float | None = None  # guide screen to the shot
    frames: int = 0  # preview frames analysed in the guide
    first_hints: collections.Counter = field(default_factory=collections.Counter)  # shown first, per frame
    raw_hints: collections.Counter = field(default_factory=collections.Counter)  # before the smoothing
    verdict: tuple[str, ...] = ()  # the still's problem codes ('' if compliant)
    note: str = ""  # why the booth did not get to the guide, or ended elsewhere


class RecordingSmoother(GuidanceSmoother):
    """The booth's own smoother, counting on each analysed guide frame the
    raw hints it was given and what it showed (ready needs
    ready_hold_seconds without a raw hint, shown or not)."""

    current: Outcome | None = None

    def update(self, hints, now):
        shown, ready = super().update(hints, now)
        out = RecordingSmoother.current
        if out is not None:
            out.frames += 1
            out.first_hints[shown[0].value if shown else ("READY" if ready else "(none)")] += 1
            out.raw_hints.update(h.value for h in set(hints))
        return shown, ready


def short_name(file: str) -> str:
    return "-".join(file.split("-")[:2])


def booth_config(tmp: Path, face: Path):
    cfg = write_config(tmp, extra=f'[camera.simulated]\nfaces = ["{face}"]\n')
    config = load_config(cfg).as_demo()
    return config.model_copy(update={"flow": config.flow.model_copy(
        update={"ready_hold_seconds": REAL_HOLD_SECONDS})})


def run_face(entry: dict, set_dir: Path, guide_limit: float, tmp: Path) -> Outcome:
    out = Outcome(short_name(entry["file"]), entry["labels"])
    rt = KioskRuntime(booth_config(tmp, (set_dir / entry["file"]).resolve()))
    RecordingSmoother.current = out
    rt.start()
    try:
        start = time.monotonic()
        while Device.CAMERA not in rt.devices.tried:  # the camera thread cuts the portrait out first
            rt.poll()
            if time.monotonic() - start > CAMERA_WAIT:
                out.note = "camera not started"
                return out
            time.sleep(POLL)
        drive(rt, out, guide_limit)
    finally:
        rt.stop()
        RecordingSmoother.current = None
        forget_cutouts()
    return out


def drive(rt: KioskRuntime, out: Outcome, guide_limit: float) -> None:
    """TO_GUIDE by the script runner, then the student sits still until the
    shot is reviewed or guide_limit seconds of guide screen have passed."""
    runner = ScriptRunner(rt, TO_GUIDE + f"expect review {guide_limit + 60}\n")
    guide_time, entered = 0.0, None
    while True:
        view = rt.poll()
        now = time.monotonic()
        if view.state == State.GUIDE:
            out.reached_guide = True
            entered = now if entered is None else entered
            if guide_time + now - entered > guide_limit:
                out.note = f"held at the guide {guide_limit:.0f} s"
                return
        elif entered is not None:  # left the guide: the shot (or a timeout, a fault)
            guide_time += now - entered
            entered = None
            if view.state in (State.COUNTDOWN, State.CAPTURING) and out.seconds is None:
                out.seconds = guide_time
        if view.state == State.REVIEW:
            out.captured = True
            out.verdict = view.photo_problems
            return
        result = runner.step(view)
        if result is not None and not out.reached_guide:
            out.note = result.reason
            return
        if view.state in (State.CALL_STAFF, State.ATTRACT) and out.reached_guide:
            out.note = f"ended in {view.state.value}" + (f" ({view.problem.value})" if view.problem else "")
            return
        time.sleep(POLL)


def held_on(o: Outcome) -> str:
    """The hint the face was held on most (READY excluded: it is the way
    out); when none was shown, the raw hint that kept flickering."""
    top = [(n, h) for h, n in o.first_hints.items() if h != "READY"]
    hint = max(top)[1] if top else "-"
    if hint == "(none)" and o.raw_hints:
        raw, n = o.raw_hints.most_common(1)[0]
        return f"none shown (raw {raw} on {n}/{o.frames} frames)"
    return hint


def print_face(o: Outcome) -> None:
    hints = ", ".join(f"{h} {n}" for h, n in o.first_hints.most_common())
    raw = ", ".join(f"{h} {n}" for h, n in o.raw_hints.most_common())
    if o.captured:
        state = f"captured {o.seconds:5.1f} s" if o.seconds is not None else "captured"
        verdict = ",".join(o.verdict) or "compliant"
    else:
        state, verdict = "HELD" if o.reached_guide else "no guide", o.note
    label = "compliant" if o.labels["compliant"] else "non-compl."
    print(f"{o.short:28} {label:10} {state:16} frames {o.frames:3d}  shown: {hints or '-'}  raw: {raw or '-'}"
          f"  verdict: {verdict}", flush=True)


def report(outcomes: list[Outcome]) -> None:
    ok = [o for o in outcomes if o.labels["compliant"]]
    print(f"\ncompliant faces: {sum(o.captured for o in ok)}/{len(ok)} captured")
    groups = [(skin, lambda o, s=skin: o.labels["skin"] == s) for skin in SKIN_BINS]
    groups += [("East Asian", lambda o: o.labels["east_asian"]),
               ("not East Asian", lambda o: not o.labels["east_asian"])]
    for name, member in groups:
        mine = [o for o in ok if member(o)]
        if not mine:
            continue
        held = [o for o in mine if not o.captured]
        why = "; ".join(f"{o.short}: {held_on(o) if o.reached_guide else o.note}" for o in held)
        print(f"  {name:15} captured {len(mine) - len(held)}/{len(mine)}, held {len(held)}"
              + (f"  ({why})" if why else ""))
    refused = [o for o in ok if o.captured and o.verdict]
    if refused:
        print("  compliant, captured, but the still refused: "
              + "; ".join(f"{o.short}: {','.join(o.verdict)}" for o in refused))
    bad = [o for o in outcomes if not o.labels["compliant"]]
    anyway = [o for o in bad if o.captured]
    print(f"\nnon-compliant faces captured anyway: {len(anyway)}/{len(bad)}")
    for o in anyway:
        print(f"  {o.short}: still verdict {','.join(o.verdict) or 'compliant'}")
    holds = collections.Counter(held_on(o) for o in outcomes if o.reached_guide and not o.captured)
    print("\nheld faces by the hint that held them most: "
          + (", ".join(f"{h} {n}" for h, n in holds.most_common()) or "-"))
    times = sorted(o.seconds for o in outcomes if o.seconds is not None)
    if times:
        print(f"seconds to capture: median {times[len(times) // 2]:.1f}, max {times[-1]:.1f}")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--set", type=Path, default=ROOT / "var" / "real_faces")
    ap.add_argument("--guide-seconds", type=float, default=20.0, help="how long the student waits at the guide")
    ap.add_argument("--limit", type=int, default=0, help="only the first N one-person faces")
    ap.add_argument("--only", default="", help="comma-separated file numbers, e.g. 003,017")
    args = ap.parse_args()
    faces = [e for e in load_set(args.set) if e["labels"]["single"]]
    if args.only:
        wanted = {n.strip().zfill(3) for n in args.only.split(",") if n.strip()}
        faces = [e for e in faces if e["file"].split("-")[0] in wanted]
    if args.limit:
        faces = faces[:args.limit]
    if not faces:
        print("bench_real_faces_booth: no face selected", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.ERROR)
    devices.GuidanceSmoother = RecordingSmoother  # type: ignore[misc]  (the analysis thread's)
    os.environ.setdefault("GPIOZERO_PIN_FACTORY", "mock")
    print(f"{len(faces)} one-person faces, {args.guide_seconds:.0f} s at the guide each, "
          f"hold {REAL_HOLD_SECONDS} s, countdown 0\n", flush=True)
    outcomes = []
    for entry in faces:
        with tempfile.TemporaryDirectory() as tmp:
            outcomes.append(run_face(entry, args.set, args.guide_seconds, Path(tmp)))
        print_face(outcomes[-1])
    report(outcomes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
