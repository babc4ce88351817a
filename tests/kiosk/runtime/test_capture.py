"""The capture path's receipt (kiosk/runtime/capture.py): a real runtime, a
scripted student, the receipt's view. With [sync] public_url the receipt
carries the capture's status link (the QR code); without, none."""

from __future__ import annotations

from pathlib import Path

from kiosk.capture.status_links import read_status_key
from kiosk.codes import State
from kiosk.config import load_config
from kiosk.runtime import KioskRuntime
from kiosk.script import ScriptRunner, run_headless
from headless_harness import HAPPY, write_config
from photo_wire.status_link import status_token, status_url

TO_RECEIPT = HAPPY[:HAPPY.index("expect_stored")]  # the script ends on the receipt


def _receipt(tmp_path: Path, sync: str = ""):  # type: ignore[no-untyped-def]
    cfg = write_config(tmp_path, extra=sync)
    runtime = KioskRuntime(load_config(cfg).as_demo())
    result = run_headless(runtime, ScriptRunner(runtime, TO_RECEIPT))
    assert result.ok, result.reason
    view = runtime.flow.view()
    assert view.state == State.RECEIPT and view.capture_id
    return view


def test_the_receipt_carries_the_status_link_when_public_url_is_set(tmp_path: Path) -> None:
    view = _receipt(tmp_path, '[sync]\npublic_url = "https://photo.school.edu.cn"\n')
    key = read_status_key(tmp_path / "data")
    assert key is not None
    assert view.status_url == status_url("https://photo.school.edu.cn",
                                         status_token(key, view.capture_id))


def test_without_public_url_the_receipt_has_no_link_and_no_key(tmp_path: Path) -> None:
    view = _receipt(tmp_path)
    assert view.status_url == ""
    assert read_status_key(tmp_path / "data") is None


def test_a_stopped_runtime_closes_its_still_analyser(tmp_path: Path) -> None:
    """The still analyser's model graph is closed when the runtime stops:
    left open, each runtime started and stopped in one process kept about
    25 MB (issue 23 item 11)."""
    runtime = KioskRuntime(load_config(write_config(tmp_path)).as_demo())
    made = []
    still_analyser = runtime.capture.still_analyser
    runtime.capture.still_analyser = lambda: made.append(still_analyser()) or made[-1]  # type: ignore[method-assign]
    result = run_headless(runtime, ScriptRunner(runtime, TO_RECEIPT))
    assert result.ok, result.reason
    assert made and made[0] is made[-1]  # one analyser for every still
    assert made[0]._mesh._graph is None  # mediapipe's own sign of a closed graph
