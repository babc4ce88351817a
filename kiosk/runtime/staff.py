"""Staff jobs (worker thread): the USB stick exchange, backdrop calibration,
the booth check (doctor) and reading an unusable roster file again.

Each ends by posting its outcome for the flow; an error gives staff a
message, never a page stuck on "working".
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from typing import Callable

import numpy as np

from kiosk.capture.bundle import BundleError, NothingToExport, export_bundle
from kiosk.capture.enrolment import read_token
from kiosk.capture.receipts import RECEIPTS, import_receipts
from kiosk.capture.store import CaptureStore, StoreError
from kiosk.capture.usb import bundle_dir, mounted_sticks
from kiosk.codes import BackdropResult, Device, UsbResult
from kiosk.config import Config
from kiosk.session import Roster, SessionFlow, UsbOutcome
from kiosk.hardware.camera import Camera, CameraError
from kiosk.hardware.id_reader import CardReader
from kiosk.hardware.lights import Lights, LightsError
from kiosk.hardware.status_led import StatusLed
from kiosk.photo.backdrop import CalibrationError, calibrate
from kiosk.identity.roster import RosterError
from kiosk.runtime.capture import CapturePath

log = logging.getLogger(__name__)

FlowEvent = Callable[[SessionFlow], None]
ROSTER_RETRY_PERIOD = 5.0  # an unusable roster file is read again this often (fixed by staff)


class StaffJobs:
    def __init__(self, config: Config, store: CaptureStore, flow: SessionFlow, capture: CapturePath,
                 devices: tuple[Camera, Lights, StatusLed, CardReader], stop: threading.Event,
                 post: Callable[[FlowEvent], None], submit: Callable[..., None],
                 open_roster: Callable[[], Roster], use_roster: Callable[[Roster], None],
                 refresh_rejected: Callable[[], None], clock: Callable[[], float],
                 roster_reason: str) -> None:
        self.config = config
        self.store = store
        self.flow = flow
        self._capture = capture
        self.camera, self.lights, self.status_led, self.reader = devices
        self._stop = stop
        self.post = post
        self._submit = submit
        self._open_roster = open_roster
        self._use_roster = use_roster
        self._refresh_rejected = refresh_rejected
        self._clock = clock
        self._roster_reason = roster_reason
        self._next_roster_try = 0.0

    def check_roster(self) -> None:
        """While the roster is unusable, read it again now and then (worker thread)."""
        now = self._clock()
        if self.flow.is_failed(Device.ROSTER) and now >= self._next_roster_try:
            self._next_roster_try = now + ROSTER_RETRY_PERIOD
            self._submit(self.reload_roster)

    def reload_roster(self) -> None:
        try:
            roster = self._open_roster()
        except RosterError as err:
            reason = str(err)
            if reason != self._roster_reason:  # staff see the newest reason
                self._roster_reason = reason
                self.post(lambda f: f.device_failed(Device.ROSTER, detail=reason))
            return
        log.info("roster readable again")
        self.post(lambda f: self._use_roster(roster))

    def calibrate_backdrop(self, done: Callable[[BackdropResult], None], delay: float) -> None:
        result = BackdropResult.OK
        try:
            self._stop.wait(delay)
            self.lights.on()  # measured as the photos will be lit
            try:
                still = self.camera.capture_still()
            finally:
                self.lights.off()
            # A quarter of the HQ still is plenty for a colour model.
            step = max(1, still.shape[1] // 1024)
            frame = np.ascontiguousarray(still[::step, ::step])
            if self._capture.still_analyser().analyse(frame).faces:
                raise CalibrationError("not_empty", "a face is in view")
            model = calibrate(frame)
            model.save(self.config.kiosk.data_dir)
        except (CameraError, LightsError) as err:
            log.error("backdrop calibration: %s failed: %s", type(err).__name__, err)
            result = BackdropResult.CAMERA
        except CalibrationError as err:
            log.info("backdrop calibration refused: %s", err)
            result = BackdropResult(err.code) if err.code in BackdropResult._value2member_map_ \
                else BackdropResult.CAMERA
        except OSError as err:
            log.error("backdrop calibration not saved: %s", err)
            result = BackdropResult.SAVE_FAILED
        except Exception:  # staff get a message, never a stuck "measuring"
            log.exception("backdrop calibration failed")
            result = BackdropResult.CAMERA
        else:
            log.info("backdrop calibrated: RGB %s, tolerance %.3f", model.rgb, model.chroma_tolerance)
            self._capture.use_backdrop(model)
        self.post(lambda f: done(result))

    def usb_exchange(self) -> None:
        """Staff's USB stick (worker thread): apply the school's receipts on it,
        then put every pending capture on it. The same tap both ways, so staff
        need no terminal: plug in, tap, take the stick to the school, bring it
        back, tap again."""
        try:
            outcome = self._exchange_with_stick()
        except BundleError as err:
            log.error("USB exchange failed: %s", err)
            outcome = UsbOutcome(err.reason)
        except (OSError, sqlite3.Error, StoreError) as err:
            log.error("USB exchange failed: %s", err)
            outcome = UsbOutcome(UsbResult.FAILED)
        except Exception:  # staff get a message, never a stuck "working"
            log.exception("USB exchange failed")
            outcome = UsbOutcome(UsbResult.FAILED)
        self.post(lambda f: f.usb_exchanged(outcome))
        try:
            pending = self.store.pending_count()
        except (sqlite3.Error, StoreError) as err:
            log.error("counting the queue after the USB exchange failed: %s", err)
            return
        self.post(lambda f: (f.set_sync(pending, f.sync.online), self._refresh_rejected()))

    def _exchange_with_stick(self) -> UsbOutcome:
        sticks = mounted_sticks(self.config.sync.usb_roots)
        if not sticks:
            return UsbOutcome(UsbResult.NO_STICK)
        if len(sticks) > 1:
            return UsbOutcome(UsbResult.MANY_STICKS)
        if self.config.sync.public_key_bytes() is None:
            return UsbOutcome(UsbResult.NOT_SEALED)  # nothing leaves the booth unsealed
        kiosk_id = self.config.kiosk.id
        dest = bundle_dir(sticks[0], kiosk_id)
        acknowledged = problems = 0
        if (dest / RECEIPTS).is_file():
            receipts = import_receipts(self.store, kiosk_id, dest, self.config.sync.retention_days,
                                       read_token(self.config.kiosk.data_dir))
            acknowledged, problems = len(receipts.applied), receipts.problems
        try:
            exported = export_bundle(self.store, kiosk_id, self.config.kiosk.centre, dest)
        except NothingToExport:
            return UsbOutcome(UsbResult.DONE, acknowledged, 0, problems)
        log.info("USB exchange: %d receipts applied, %d captures on the stick",
                 acknowledged, len(exported.exported))
        return UsbOutcome(UsbResult.DONE, acknowledged, len(exported.exported),
                          problems + len(exported.damaged) + exported.unsealed)

    def run_doctor(self) -> None:
        """Staff mode's booth check (worker thread), on the devices the kiosk holds."""
        from kiosk.tools.doctor import Devices, device_checks, system_checks

        try:
            findings = device_checks(Devices(self.camera, self.lights, self.status_led, self.reader))
            findings += system_checks(self.config)
        except Exception:  # staff get the page back, never a stuck "checking"
            log.exception("the booth check failed")
            findings = []
        self.post(lambda f: f.doctor_done(tuple(findings)))
