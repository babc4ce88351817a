"""Wires devices, photo engine, store and the session flow together.

One KioskRuntime per booth. Devices are slow or blocking, so each runs off
the UI thread: a reader thread polls the card reader, a camera thread grabs
preview frames, an analysis thread reads the newest of them (QR codes,
guidance), and one worker takes stills, saves captures and checks cards
and codes (a slow hash each). Analysis never holds up the preview: on a
slower Pi the live picture keeps the camera's rate and guidance skips the
frames it has no time for. Threads never touch
the flow: they post events to a queue that ``poll()`` applies on the
caller's thread (Kivy's clock, or the headless loop), then carries out the
flow's effects. No Kivy here.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Callable

import numpy as np

from kiosk.capture.bundle import BundleError, NothingToExport, export_bundle
from kiosk.capture.enrolment import read_token
from kiosk.capture.receipts import RECEIPTS, import_receipts
from kiosk.codes import BackdropResult, Button, Device, Problem, State, UsbResult
from kiosk.config import Config
from kiosk.flow import (
    CAMERA_STATES, CaptureRequest, Check, Effect, EffectKind, RejectedCapture, Roster, RosterMatch,
    RosterOutcome, SessionFlow, SyncInfo, UsbOutcome, View,
)
from kiosk.hardware.camera import Camera, CameraError, make_camera
from kiosk.hardware.gpio import use_pin_factory
from kiosk.hardware.id_reader import CardReader, CardReadError, IdCard, ReaderError, make_card_reader
from kiosk.hardware.lights import Lights, LightsError
from kiosk.hardware.staff_button import StaffButton, StaffButtonError
from kiosk.hardware.status_led import StatusLed, StatusLedError
from kiosk.photo.analysis import FaceAnalyser
from kiosk.photo.backdrop import Backdrop, CalibrationError, calibrate, load_backdrop
from kiosk.photo.guidance import DEFAULT_SETTINGS, GuidanceSettings, GuidanceSmoother, hints_for
from kiosk.photo.measures import DEFAULT_MEASURE_SETTINGS, MeasureSettings
from kiosk.photo.process import PhotoError, process_still
from kiosk.photo.qr import QrReader
from kiosk.roster import RosterError, open_roster, rekey_legacy_captures
from kiosk.schedule import Schedule, SessionSlot, load_cached_schedule
from kiosk.capture.store import StoreError, open_store
from kiosk.capture.sync import SyncAgent, SyncStatus
from kiosk.capture.uploads import rejection_reason
from kiosk.capture.usb import bundle_dir, mounted_sticks

log = logging.getLogger(__name__)

FlowEvent = Callable[[SessionFlow], None]
RECOVERY_PERIOD = 1.0  # seconds between checks whether a failed device is back
DISK_CHECK_PERIOD = 10.0
# An offline booth's retention purge (receipts come on a USB stick; no sync agent).
PURGE_PERIOD = 3600.0
STAFF_CHECK_PERIOD = 2.0  # staff mode: free disk and refused captures refresh sooner
REJECTED_SHOWN = 20  # refused captures handed to staff mode (the count is always whole)
IDLE_PERIOD = 0.05  # how soon the camera thread notices a camera state
ROSTER_RETRY_PERIOD = 5.0  # an unusable roster file is read again this often (fixed by staff)
# The same unexpected error is logged with its traceback at most this often.
ERROR_LOG_PERIOD = 60.0


class UnusableRoster:
    """Stands in for a roster file that cannot be read: the kiosk is out of
    service (Device.ROSTER failed), and nobody is recognised meanwhile."""

    def lookup(self, card: IdCard, slot: SessionSlot | None = None) -> RosterMatch:
        return RosterMatch(RosterOutcome.NOT_EXPECTED)


class KioskRuntime:
    def __init__(self, config: Config, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self._clock = clock
        data_dir = config.kiosk.data_dir
        self.store = open_store(config)
        self._error_logged: dict[str, float] = {}
        rekey_legacy_captures(config, data_dir, self.store)  # a store from before photo_wire
        # The server's roster once the sync agent has fetched it, else the CSV.
        # A bad file does not stop the booth: it waits for staff, telling them why.
        roster_problem = ""
        try:
            self.roster: Roster = self._open_roster()
        except RosterError as err:
            log.error("roster unusable: %s", err)
            self.roster, roster_problem = UnusableRoster(), str(err)
        self._roster_reason = roster_problem
        self._next_roster_try = 0.0
        self.flow = SessionFlow(
            config.flow,
            self.roster,
            consent_version=config.consent.version,
            staff_pin=config.kiosk.staff_pin,
            code_owner=self.store.student_for_code,
            clock=clock,
            session=config.kiosk.session,
            tz=config.kiosk.tz(),
        )
        if roster_problem:
            self.flow.device_failed(Device.ROSTER, detail=roster_problem)
        pin_factory = use_pin_factory(config.gpio.pin_factory)
        self.lights = Lights(config.gpio.lights_pins, config.gpio.lights_level, pin_factory)
        self.status_led = StatusLed(config.gpio.status_led_pins, pin_factory)
        self.staff_button: StaffButton | None = None
        if config.gpio.staff_button_pin >= 0:
            try:
                self.staff_button = StaffButton(
                    config.gpio.staff_button_pin, config.gpio.staff_button_hold_seconds, pin_factory,
                    on_press=lambda long: self.post(lambda f: f.staff_button(long)))
            except StaffButtonError as err:  # the on-screen staff corner still works
                log.error("staff button unavailable: %s", err)
        self.camera: Camera = make_camera(config.camera)
        self.reader: CardReader = make_card_reader(config.id_reader)
        self.on_prompt: Callable[[str], None] = lambda key: log.info("prompt %s", key)
        self._events: queue.Queue[FlowEvent] = queue.Queue()
        self._stop = threading.Event()
        self._latest_frame: np.ndarray | None = None
        # The flow's state for the camera thread, with a count of state changes:
        # a retake is a new visit to GUIDE, so guidance starts afresh rather
        # than carrying the last attempt's "ready" into it.
        self._camera_state: tuple[State, int] = (State.ATTRACT, 0)
        # The newest preview frame with the visit it was grabbed in, numbered
        # so the analysis thread takes each frame once and skips what it missed.
        self._frame_ready = threading.Condition()
        self._frame_seq = 0
        self._frame_for_analysis: tuple[np.ndarray, tuple[State, int]] | None = None
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="worker")
        self._threads: list[threading.Thread] = []
        # Devices whose first open was tried (either way): systemd's READY=1 waits for both.
        self._tried: set[Device] = set()
        self._next_disk_check = 0.0
        self._next_purge = 0.0
        self._still_analyser_obj: FaceAnalyser | None = None
        # This booth's backdrop as staff last calibrated it (else the spec blue).
        self.backdrop: Backdrop = load_backdrop(data_dir)
        self.flow.backdrop_at = _parse_time(self.backdrop.calibrated_at)
        # Seconds between the staff's touch and the still: time to step out of view.
        self.calibration_delay = 3.0
        self.sync_agent: SyncAgent | None = None
        self.flow.sync = SyncInfo(configured=bool(config.sync.server_url))
        self._refresh_rejected()
        self._last_state = self.flow.state
        if config.sync.server_url:
            # The school's schedule as last fetched: an offline restart still knows it.
            self.flow.set_schedule(load_cached_schedule(data_dir, config.kiosk.tz()))
            self.sync_agent = SyncAgent(
                self.store, config, on_status=self._sync_status,
                on_roster=lambda roster: self.post(lambda f: self._use_roster(roster)),
                on_schedule=lambda schedule: self.post(lambda f: self._use_schedule(schedule)))

    # -------------------------------------------------------------- public

    def start(self) -> None:
        self._threads = [
            threading.Thread(target=self._guarded_loop, args=(loop,), name=name, daemon=True)
            for loop, name in ((self._reader_loop, "card-reader"), (self._camera_loop, "camera"),
                               (self._analysis_loop, "frame-analysis"))
        ]
        for t in self._threads:
            t.start()
        if self.sync_agent is not None:
            self.sync_agent.start()

    def stop(self) -> None:
        self._stop.set()
        with self._frame_ready:
            self._frame_ready.notify_all()
        for t in self._threads:
            # Long enough for the analysis thread to finish loading its model under load:
            # the process leaving while it is inside mediapipe aborts (SIGABRT).
            t.join(timeout=10)
        self._worker.shutdown(wait=True, cancel_futures=True)
        if self.sync_agent is not None:
            self.sync_agent.stop()
        closers = [self.camera.close, self.reader.close, self.lights.close, self.status_led.close]
        if self.staff_button is not None:
            closers.append(self.staff_button.close)
        for close in closers:
            try:
                close()
            except Exception:  # closing a broken device must not stop the others
                log.exception("closing a device failed")
        self.store.close()

    def poll(self) -> View:
        """Apply what the devices reported, let time pass, do what the flow asks.

        Never raises: an unexpected error in one step sends the student to
        staff (internal_error) and the next steps still run."""
        while True:
            try:
                event = self._events.get_nowait()
            except queue.Empty:
                break
            self._guarded("an event", event, self.flow)
        if self.flow.state != self._last_state:
            self._last_state = self.flow.state
            if self.flow.state == State.STAFF:
                self._next_disk_check = 0.0  # staff see fresh figures at once
        self._guarded("the disk check", self._check_disk)
        self._guarded("the roster check", self._check_roster)
        self._guarded("the timeouts", self.flow.tick)
        for effect in self.flow.drain_effects():
            self._guarded(f"effect {effect.kind.value}", self._carry_out, effect)
        if self.flow.state != self._camera_state[0]:
            self._camera_state = (self.flow.state, self._camera_state[1] + 1)
        self._guarded("the status LED", self._show_status)
        return self.flow.view()

    def internal_error(self, where: str, err: BaseException) -> None:
        """Thread-safe: an unexpected error (here, in a device thread or in the
        window) is logged and the student sent to staff, never a dead kiosk."""
        self._log_unexpected(where, err)
        self.post(lambda f: f.internal_error())

    def press(self, button: Button) -> None:
        self.flow.press(button)

    # ------------------------------------------------------- safety net

    def _guarded(self, where: str, step: Callable[..., object], *args: object) -> None:
        try:
            step(*args)
        except Exception as err:
            self._log_unexpected(where, err)
            self.flow.internal_error()

    def _log_unexpected(self, where: str, err: BaseException) -> None:
        # The traceback once a minute per place and kind: a failing disk must not flood the log.
        key = f"{where}:{type(err).__name__}"
        now = time.monotonic()
        if now - self._error_logged.get(key, -ERROR_LOG_PERIOD) >= ERROR_LOG_PERIOD:
            self._error_logged[key] = now
            log.error("unexpected error in %s", where, exc_info=err)
        else:
            log.error("unexpected error in %s again: %s", where, type(err).__name__)

    def _submit(self, job: Callable[..., None], *args: object) -> None:
        """Run job on the worker; an error it lets out reaches the flow, not the void."""
        future = self._worker.submit(job, *args)
        name = getattr(job, "__name__", "a job").lstrip("_")

        def check(done: Future) -> None:
            if not done.cancelled() and done.exception() is not None:
                self.internal_error(f"the worker ({name})", done.exception())  # type: ignore[arg-type]

        future.add_done_callback(check)

    def _guarded_loop(self, loop: Callable[[], None]) -> None:
        """A device thread: restarted after an unexpected error, which goes to staff."""
        while not self._stop.is_set():
            try:
                loop()
                return
            except Exception as err:
                self.internal_error(f"the {threading.current_thread().name} thread", err)
                self._stop.wait(RECOVERY_PERIOD)

    def _show_status(self) -> None:
        try:
            self.status_led.show(self.flow.status)
        except StatusLedError as err:
            log.error("status LED failed: %s", err)
            self.flow.device_failed(Device.STATUS_LED)

    # ------------------------------------------------------------ roster

    def _open_roster(self) -> Roster:
        return open_roster(self.config, self.config.kiosk.data_dir, self.store.has_capture)

    def _check_roster(self) -> None:
        """While the roster is unusable, read it again now and then (worker thread)."""
        now = self._clock()
        if self.flow.is_failed(Device.ROSTER) and now >= self._next_roster_try:
            self._next_roster_try = now + ROSTER_RETRY_PERIOD
            self._submit(self._reload_roster)

    def _reload_roster(self) -> None:
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

    def enter_pin(self, pin: str) -> None:
        self.flow.enter_pin(pin)

    def enter_id_number(self, text: str) -> None:
        """Staff confirmed a typed ID number (manual entry)."""
        self.flow.enter_id_number(text)

    def latest_frame(self) -> np.ndarray | None:
        """Newest preview frame for the screen (RGB), while the camera runs."""
        return self._latest_frame if self.flow.state in CAMERA_STATES else None

    @property
    def devices_up(self) -> bool:
        """Camera and reader have each had their first try: the screen tells the truth."""
        return {Device.CAMERA, Device.ID_READER} <= self._tried

    def post(self, event: FlowEvent) -> None:
        """Thread-safe: queue an event for the flow."""
        self._events.put(event)

    # ------------------------------------------------------------- effects

    def _carry_out(self, effect: Effect) -> None:
        kind = effect.kind
        try:
            if kind == EffectKind.LIGHTS_ON:
                self.lights.on()
            elif kind == EffectKind.LIGHTS_OFF:
                self.lights.off()
        except LightsError as err:
            log.error("lights failed: %s", err)
            self.flow.device_failed(Device.LIGHTS)
            return
        if kind == EffectKind.TAKE_STILL:
            self._submit(self._take_still)
        elif kind == EffectKind.SAVE_CAPTURE:
            self._submit(self._save, effect.arg)
        elif kind == EffectKind.PROMPT:
            if not self.config.audio.muted:
                self.on_prompt(effect.arg)
        elif kind == EffectKind.RETRY_REJECTED:
            self._retry_rejected()
        elif kind == EffectKind.CALIBRATE_BACKDROP:
            self.calibrate_backdrop(
                lambda result: self.flow.backdrop_calibrated(result, _parse_time(self.backdrop.calibrated_at)))
        elif kind == EffectKind.USB_EXCHANGE:
            self._submit(self._usb_exchange)
        elif kind == EffectKind.RUN_DOCTOR:
            self._submit(self._run_doctor)
        elif kind == EffectKind.CHECK:
            self._submit(self._run_check, effect.arg)

    def _run_check(self, check: Check) -> None:
        """The flow's slow look-up (worker thread: the scrypt hash must not
        freeze the window); an error goes to the safety net through _submit."""
        answer = check.run()
        self.post(lambda f: f.checked(check, answer))

    def _take_still(self) -> None:
        try:
            still = self.camera.capture_still()
        except CameraError as err:
            log.error("still failed: %s", err)
            self.post(lambda f: f.device_failed(Device.CAMERA))
            return
        try:
            analyser = self._still_analyser()
            photo = process_still(still, analyser, self.config.photo,
                                  settings=self._measure_settings())
        except PhotoError as err:
            log.info("still not usable: %s", err)
            self.post(lambda f: f.photo_failed(Problem.NO_FACE_IN_PHOTO))
            return
        except Exception:
            log.exception("processing the still failed")
            self.post(lambda f: f.photo_failed(Problem.NO_FACE_IN_PHOTO))
            return
        self.post(lambda f: f.photo_ready(photo))

    # ------------------------------------------------------------ backdrop

    def _measure_settings(self) -> MeasureSettings:
        return replace(DEFAULT_MEASURE_SETTINGS, backdrop=self.backdrop)

    def _guidance_settings(self) -> GuidanceSettings:
        return replace(DEFAULT_SETTINGS, ready_hold_seconds=self.config.flow.ready_hold_seconds,
                       measures=self._measure_settings())

    def calibrate_backdrop(self, done: Callable[[BackdropResult], None]) -> None:
        """Staff, with the booth empty: measure the backdrop from a still
        under the booth's lights. done(result) runs on the UI thread."""
        self._submit(self._calibrate_backdrop, done)

    def _calibrate_backdrop(self, done: Callable[[BackdropResult], None]) -> None:
        result = BackdropResult.OK
        try:
            self._stop.wait(self.calibration_delay)
            self.lights.on()  # measured as the photos will be lit
            try:
                still = self.camera.capture_still()
            finally:
                self.lights.off()
            # A quarter of the HQ still is plenty for a colour model.
            step = max(1, still.shape[1] // 1024)
            frame = np.ascontiguousarray(still[::step, ::step])
            if self._still_analyser().analyse(frame).faces:
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
            self.backdrop = model
            self._still_analyser().backdrop = model
        self.post(lambda f: done(result))

    # ----------------------------------------------------------------- USB

    def _usb_exchange(self) -> None:
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

    def _run_doctor(self) -> None:
        """Staff mode's booth check (worker thread), on the devices the kiosk holds."""
        from kiosk.doctor import Devices, device_checks, system_checks

        try:
            findings = device_checks(Devices(self.camera, self.lights, self.status_led, self.reader))
            findings += system_checks(self.config)
        except Exception:  # staff get the page back, never a stuck "checking"
            log.exception("the booth check failed")
            findings = []
        self.post(lambda f: f.doctor_done(tuple(findings)))

    def _still_analyser(self) -> FaceAnalyser:
        # Only the worker thread uses it; made on first use (model load ~0.1 s).
        if self._still_analyser_obj is None:
            self._still_analyser_obj = FaceAnalyser(static_image_mode=True, backdrop=self.backdrop)
        return self._still_analyser_obj

    def _save(self, request: CaptureRequest) -> None:
        report = {
            "compliant": request.photo.compliant,
            "problems": list(request.photo.problems),
            "measures": getattr(request.photo, "measures", {}),
            # how identity was established: 'card' or 'manual' (staff typed the number)
            "id_method": request.student.id_method,
            # a makeup shoot: taken outside the student's own centre and session
            "makeup": request.student.match.makeup,
        }
        session = request.student.session or self.config.kiosk.session
        try:
            capture_id = self.store.save(request, session, report)
        except StoreError as err:
            problem = Problem.DISK_FULL if err.disk_full else Problem.STORE_FAILED
            log.error("saving the capture failed: %s", err)
            self.post(lambda f: f.save_failed(problem))
            return
        except Exception as err:  # not saved: the student must not be told it was
            self._log_unexpected("saving the capture", err)
            self.post(lambda f: f.save_failed(Problem.STORE_FAILED))
            return
        # Committed: the student is told first, whatever happens after.
        log.info("capture %s saved", capture_id)
        self.post(lambda f: f.saved(capture_id))
        if self.sync_agent is not None:
            self.sync_agent.wake()
        try:
            pending = self.store.pending_count()
        except Exception as err:  # the queue's count is refreshed by the next disk check
            self._log_unexpected("counting the queue after a save", err)
            return
        self.post(lambda f: f.set_sync(pending, f.sync.online))

    def _use_roster(self, roster: Roster) -> None:
        # UI thread: a fresh roster (the school server's, or the file read again) replaces the old one.
        self.roster = self.flow.roster = roster
        self.flow.device_ok(Device.ROSTER)

    def _use_schedule(self, schedule: Schedule) -> None:
        # UI thread: the school's new schedule decides the session from now on.
        self.flow.set_schedule(schedule)

    def _sync_status(self, status: SyncStatus) -> None:
        # Called on the sync thread: hand it to the UI thread.
        self.post(lambda f: self._apply_sync(status))

    def _apply_sync(self, status: SyncStatus) -> None:
        refused_changed = status.rejected != self.flow.sync.rejected_total
        self.flow.set_sync(status.queue_depth, status.online, last_success=status.last_success,
                           problem=status.problem, uploads_stopped=status.uploads_stopped)
        if refused_changed or self.flow.state == State.STAFF:
            self._refresh_rejected()  # not a query per upload while a backlog drains

    def _refresh_rejected(self) -> None:
        """The captures the server refused, for staff mode (UI thread)."""
        try:
            rows = self.store.rejected_captures(REJECTED_SHOWN)
            total = self.store.status_counts()["rejected"]
        except Exception as err:  # staff mode's detail must not take the kiosk down
            log.error("reading the refused captures failed: %s", type(err).__name__)
            return
        self.flow.set_sync(self.flow.sync.queue_depth, self.flow.sync.online, rejected_total=total,
                           rejected=tuple(RejectedCapture(
                               r.capture_id[:8], rejection_reason(r.reason),
                               _parse_time(r.created_at)) for r in rows))

    def _retry_rejected(self) -> None:
        """Staff: the refused captures go back in the queue (after fixing the cause)."""
        try:
            n = self.store.retry_rejected()
        except Exception as err:
            log.error("retrying the refused captures failed: %s", type(err).__name__)
            return
        log.info("staff put %d refused captures back in the queue", n)
        if self.sync_agent is not None:
            self.sync_agent.wake()
        self._refresh_rejected()

    def _check_disk(self) -> None:
        now = self._clock()
        if now < self._next_disk_check:
            return
        staff = self.flow.state == State.STAFF
        self._next_disk_check = now + (STAFF_CHECK_PERIOD if staff else DISK_CHECK_PERIOD)
        try:
            pending = self.store.pending_count()
            free_mb = self.store.free_mb()
        except (sqlite3.Error, StoreError, OSError) as err:
            # The database or the card is failing: out of service until it answers again.
            log.error("the capture store is not answering: %s: %s", type(err).__name__, err)
            self.flow.device_failed(Device.STORE, Problem.STORE_FAILED)
            return
        self.flow.set_sync(pending, self.flow.sync.online)
        if staff:
            self._refresh_rejected()
        self.flow.set_free_disk(free_mb)
        full = free_mb < self.config.kiosk.min_free_mb
        if full and not self.flow.is_failed(Device.STORE):
            log.error("disk nearly full: %d MB free", free_mb)
            self.flow.device_failed(Device.STORE, Problem.DISK_FULL)
        elif not full:
            self.flow.device_ok(Device.STORE)
        if self.sync_agent is None and now >= self._next_purge:
            self._next_purge = now + PURGE_PERIOD
            self._submit(self._purge_offline)

    def _purge_offline(self) -> None:
        """Delete the files of captures acknowledged (by receipts imported from
        a USB bundle) more than retention_days ago; online, the sync agent does."""
        cutoff = datetime.now(timezone.utc) - timedelta(days=self.config.sync.retention_days)
        try:
            self.store.purge_acknowledged(cutoff)
        except Exception as err:  # next hour again; the captures stay meanwhile
            log.error("the retention purge failed: %s", type(err).__name__)

    # ------------------------------------------------------------- threads

    def _reader_loop(self) -> None:
        ok = self._open(self.reader.open, Device.ID_READER, (ReaderError,))
        while not self._stop.is_set():
            if not ok:
                self._stop.wait(RECOVERY_PERIOD)
                if self.reader.is_available():
                    ok = self._open(self.reader.open, Device.ID_READER, (ReaderError,))
                continue
            try:
                card = self.reader.poll(0.2)
            except CardReadError as err:
                log.info("card unreadable: %s", err)
                self.post(lambda f: f.card_failed(Problem.CARD_UNREADABLE))
                continue
            except ReaderError as err:
                log.error("card reader failed: %s", err)
                self.post(lambda f: f.device_failed(Device.ID_READER))
                ok = False
                continue
            if card is not None:
                self.post(lambda f, c=card: f.card_presented(c))

    def _open(self, opener: Callable[[], None], device: Device, errors: tuple) -> bool:
        try:
            opener()
        except errors as err:
            log.error("%s unavailable: %s", device.value, err)
            self.post(lambda f: f.device_failed(device))
            return False
        finally:
            self._tried.add(device)
        self.post(lambda f: f.device_ok(device))
        return True

    def _camera_loop(self) -> None:
        period = 1.0 / self.config.camera.simulated.fps if self.config.camera.backend == "simulated" else 0.0
        ok = self._open(self.camera.start, Device.CAMERA, (CameraError,))
        next_idle_check = 0.0
        while not self._stop.is_set():
            if not ok:
                self._stop.wait(RECOVERY_PERIOD)
                if self.camera.is_available():
                    ok = self._open(self.camera.start, Device.CAMERA, (CameraError,))
                continue
            visit = self._camera_state
            if visit[0] not in CAMERA_STATES:
                self._latest_frame = None
                self._stop.wait(IDLE_PERIOD)
                # Notice an unplugged camera while idle, so the LED tells staff.
                if time.monotonic() >= next_idle_check:
                    next_idle_check = time.monotonic() + RECOVERY_PERIOD
                    if not self.camera.is_available():
                        self.post(lambda f: f.device_failed(Device.CAMERA))
                        ok = False
                continue
            started = time.monotonic()
            try:
                frame = self.camera.preview_frame()
            except CameraError as err:
                log.error("camera failed: %s", err)
                self.post(lambda f: f.device_failed(Device.CAMERA))
                ok = False
                continue
            self._latest_frame = frame
            with self._frame_ready:
                self._frame_for_analysis = (frame, visit)
                self._frame_seq += 1
                self._frame_ready.notify()
            spare = period - (time.monotonic() - started)
            if spare > 0:
                self._stop.wait(spare)

    def _next_frame(self, seen: int) -> tuple[int, np.ndarray, tuple[State, int]] | None:
        """Wait briefly for a preview frame newer than ``seen``."""
        with self._frame_ready:
            self._frame_ready.wait_for(
                lambda: self._frame_seq != seen or self._stop.is_set(), timeout=IDLE_PERIOD)
            if self._frame_seq == seen or self._frame_for_analysis is None:
                return None
            frame, visit = self._frame_for_analysis
            return self._frame_seq, frame, visit

    def _analysis_loop(self) -> None:
        analyser = FaceAnalyser(static_image_mode=False, backdrop=self.backdrop)
        qr = QrReader()
        guidance = self._guidance_settings()
        smoother = GuidanceSmoother(guidance)
        try:
            self._analyse_frames(analyser, qr, guidance, smoother)
        finally:
            analyser.close()

    def _analyse_frames(self, analyser: FaceAnalyser, qr: QrReader, guidance: GuidanceSettings,
                        smoother: GuidanceSmoother) -> None:
        last_code = ""
        last_visit = (State.ATTRACT, 0)
        seen = 0
        while not self._stop.is_set():
            newest = self._next_frame(seen)
            if newest is None:
                continue
            seen, frame, visit = newest
            if visit != last_visit:
                smoother.reset()
                last_code, last_visit = "", visit
            state = visit[0]
            if state == State.SCAN_CODE:
                payload = qr.decode(frame)
                if payload and payload != last_code:
                    last_code = payload  # a rejected code is not re-posted every frame
                    self.post(lambda f, p=payload: f.code_scanned(p))
            elif state == State.GUIDE:
                if analyser.backdrop is not self.backdrop:  # staff recalibrated
                    analyser.backdrop, guidance = self.backdrop, self._guidance_settings()
                analysis = analyser.analyse(frame)
                hints, ready = smoother.update(hints_for(analysis, self.config.photo, guidance),
                                               time.monotonic())
                self.post(lambda f, h=hints, r=ready: f.guidance(h, r))


def _parse_time(text: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
