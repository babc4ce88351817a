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
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable

import numpy as np

from kiosk.codes import BackdropResult, Button, Device
from kiosk.config import Config
from kiosk.domain import IdCard, RosterMatch, RosterOutcome
from kiosk.session import CAMERA_STATES, Effect, EffectKind, Roster, SessionFlow, SyncInfo, View
from kiosk.hardware.backends import make_camera, make_card_reader
from kiosk.hardware.camera import Camera
from kiosk.hardware.gpio import use_pin_factory
from kiosk.hardware.id_reader import CardReader
from kiosk.hardware.lights import Lights
from kiosk.hardware.staff_button import StaffButton, StaffButtonError
from kiosk.hardware.status_led import StatusLed, StatusLedError
from kiosk.photo.backdrop import Backdrop, load_backdrop
from kiosk.identity.loader import open_roster, rekey_legacy_captures
from kiosk.identity.roster import RosterError
from kiosk.runtime.capture import CapturePath
from kiosk.runtime.devices import DeviceThreads
from kiosk.runtime.effects import Handler, effect_table
from kiosk.runtime.staff import StaffJobs
from kiosk.runtime.upkeep import Upkeep, parse_time
from kiosk.identity.schedule import Schedule, SessionSlot, load_cached_schedule
from kiosk.capture.store import open_store
from kiosk.capture.sync import SyncAgent, SyncStatus

log = logging.getLogger(__name__)

FlowEvent = Callable[[SessionFlow], None]
# The same unexpected error is logged with its traceback at most this often.
ERROR_LOG_PERIOD = 60.0


class UnusableRoster:
    """Stands in for a roster file that cannot be read: the kiosk is out of
    service (Device.ROSTER failed), and nobody is recognised meanwhile."""

    centre = ""
    makeup_mode = False

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
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="worker")
        # Seconds between the staff's touch and the still: time to step out of view.
        self.calibration_delay = 3.0
        self.sync_agent: SyncAgent | None = None
        if config.sync.server_url:
            # The school's schedule as last fetched: an offline restart still knows it.
            self.flow.set_schedule(load_cached_schedule(data_dir, config.kiosk.tz()))
            self.sync_agent = SyncAgent(
                self.store, config, on_status=self._sync_status,
                on_roster=lambda roster: self.post(lambda f: self._use_roster(roster)),
                on_schedule=lambda schedule: self.post(lambda f: self._use_schedule(schedule)))
        # This booth's backdrop as staff last calibrated it (else the spec blue).
        self.capture = CapturePath(config, self.camera, self.store, load_backdrop(data_dir),
                                   self.sync_agent, self.post, self._log_unexpected)
        self.flow.backdrop_at = parse_time(self.capture.backdrop.calibrated_at)
        self.devices = DeviceThreads(config, self.camera, self.reader, self.capture, self._stop,
                                     self.post, self.internal_error)
        self.upkeep = Upkeep(config, self.store, self.flow, self.sync_agent, self._submit, clock)
        self.staff = StaffJobs(config, self.store, self.flow, self.capture,
                               (self.camera, self.lights, self.status_led, self.reader), self._stop,
                               self.post, self._submit, self._open_roster, self._use_roster,
                               self.upkeep.refresh_rejected, clock, roster_problem)
        self.flow.sync = SyncInfo(configured=bool(config.sync.server_url))
        self.upkeep.refresh_rejected()
        self._effects: dict[EffectKind, Handler] = effect_table(
            self.flow, self.lights, self.capture, self.staff, self.upkeep, self._submit, self.post,
            self._prompt, self.calibrate_backdrop)

    # -------------------------------------------------------------- public

    def start(self) -> None:
        self.devices.start()
        if self.sync_agent is not None:
            self.sync_agent.start()

    def stop(self) -> None:
        self._stop.set()
        self.devices.stop()
        self._worker.shutdown(wait=True, cancel_futures=True)
        self.capture.close()
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
        self.upkeep.follow(self.flow.state)
        self._guarded("the disk check", self.upkeep.check_disk)
        self._guarded("the roster check", self.staff.check_roster)
        self._guarded("the timeouts", self.flow.tick)
        for effect in self.flow.drain_effects():
            self._guarded(f"effect {effect.kind.value}", self._carry_out, effect)
        self.devices.follow(self.flow.state)
        self._guarded("the status LED", self._show_status)
        return self.flow.view()

    def internal_error(self, where: str, err: BaseException) -> None:
        """Thread-safe: an unexpected error (here, in a device thread or in the
        window) is logged and the student sent to staff, never a dead kiosk."""
        self._log_unexpected(where, err)
        self.post(lambda f: f.internal_error())

    def press(self, button: Button) -> None:
        self.flow.press(button)

    def enter_pin(self, pin: str) -> None:
        self.flow.enter_pin(pin)

    def enter_id_number(self, text: str) -> None:
        """Staff confirmed a typed ID number (manual entry)."""
        self.flow.enter_id_number(text)

    def latest_frame(self) -> np.ndarray | None:
        """Newest preview frame for the screen (RGB), while the camera runs."""
        return self.devices.latest_frame if self.flow.state in CAMERA_STATES else None

    @property
    def devices_up(self) -> bool:
        """Camera and reader have each had their first try: the screen tells the truth."""
        return {Device.CAMERA, Device.ID_READER} <= self.devices.tried

    @property
    def backdrop(self) -> Backdrop:
        """This booth's backdrop as staff last calibrated it (else the spec blue)."""
        return self.capture.backdrop

    def post(self, event: FlowEvent) -> None:
        """Thread-safe: queue an event for the flow."""
        self._events.put(event)

    def calibrate_backdrop(self, done: Callable[[BackdropResult], None]) -> None:
        """Staff, with the booth empty: measure the backdrop from a still
        under the booth's lights. done(result) runs on the UI thread."""
        self._submit(self.staff.calibrate_backdrop, done, self.calibration_delay)

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

    def _carry_out(self, effect: Effect) -> None:
        self._effects[effect.kind](effect)

    def _prompt(self, key: str) -> None:
        if not self.config.audio.muted:
            self.on_prompt(key)

    def _show_status(self) -> None:
        try:
            self.status_led.show(self.flow.status)
        except StatusLedError as err:
            log.error("status LED failed: %s", err)
            self.flow.device_failed(Device.STATUS_LED)

    # ------------------------------------------------- roster, schedule, sync

    def _open_roster(self) -> Roster:
        return open_roster(self.config, self.config.kiosk.data_dir, self.store.has_capture)

    def _use_roster(self, roster: Roster) -> None:
        # UI thread: a fresh roster (the school server's, or the file read again) replaces the old one.
        self.flow.use_roster(roster)
        self.roster = self.flow.roster
        self.flow.device_ok(Device.ROSTER)

    def _use_schedule(self, schedule: Schedule) -> None:
        # UI thread: the school's new schedule decides the session from now on.
        self.flow.set_schedule(schedule)

    def _sync_status(self, status: SyncStatus) -> None:
        # Called on the sync thread: hand it to the UI thread.
        self.post(lambda f: self.upkeep.apply_sync(status))
