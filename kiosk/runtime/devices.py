"""The device threads: card reader, camera preview and frame analysis.

Each device runs off the UI thread and never touches the flow: it posts
events for ``KioskRuntime.poll()`` to apply. A failed device is tried again
every RECOVERY_PERIOD (no restart needed); a thread that an unexpected error
kills is restarted and the student sent to staff. Analysis never holds up the
preview: it reads only the newest frame and skips what it had no time for.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

import numpy as np

from kiosk.codes import Device, Problem, State
from kiosk.config import Config
from kiosk.session import CAMERA_STATES, SessionFlow
from kiosk.hardware.camera import Camera, CameraError
from kiosk.hardware.id_reader import CardReader, CardReadError, ReaderError
from kiosk.photo.analysis import FaceAnalyser
from kiosk.photo.guidance import GuidanceSettings, GuidanceSmoother, ZoneRota, hints_for
from kiosk.photo.qr import QrReader
from kiosk.runtime.capture import CapturePath

log = logging.getLogger(__name__)

FlowEvent = Callable[[SessionFlow], None]
RECOVERY_PERIOD = 1.0  # seconds between checks whether a failed device is back
IDLE_PERIOD = 0.05  # how soon the camera thread notices a camera state


class DeviceThreads:
    def __init__(self, config: Config, camera: Camera, reader: CardReader, capture: CapturePath,
                 stop: threading.Event, post: Callable[[FlowEvent], None],
                 internal_error: Callable[[str, BaseException], None]) -> None:
        self.config = config
        self.camera = camera
        self.reader = reader
        self._capture = capture  # the backdrop as staff last calibrated it
        self._stop = stop
        self.post = post
        self.internal_error = internal_error
        self.latest_frame: np.ndarray | None = None
        # The flow's state for the camera thread, with a count of state changes:
        # a retake is a new visit to GUIDE, so guidance starts afresh rather
        # than carrying the last attempt's "ready" into it.
        self._camera_state: tuple[State, int] = (State.ATTRACT, 0)
        # The newest preview frame with the visit it was grabbed in, numbered
        # so the analysis thread takes each frame once and skips what it missed.
        self._frame_ready = threading.Condition()
        self._frame_seq = 0
        self._frame_for_analysis: tuple[np.ndarray, tuple[State, int]] | None = None
        self._threads: list[threading.Thread] = []
        # Devices whose first open was tried (either way): systemd's READY=1 waits for both.
        self.tried: set[Device] = set()

    def start(self) -> None:
        self._threads = [
            threading.Thread(target=self._guarded_loop, args=(loop,), name=name, daemon=True)
            for loop, name in ((self._reader_loop, "card-reader"), (self._camera_loop, "camera"),
                               (self._analysis_loop, "frame-analysis"))
        ]
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        """Join the threads; the caller has set the stop event."""
        with self._frame_ready:
            self._frame_ready.notify_all()
        for t in self._threads:
            # Long enough for the analysis thread to finish loading its model under load:
            # the process leaving while it is inside mediapipe aborts (SIGABRT).
            t.join(timeout=10)

    def follow(self, state: State) -> None:
        """The flow's state after a poll (UI thread): a new visit for the camera thread."""
        if state != self._camera_state[0]:
            self._camera_state = (state, self._camera_state[1] + 1)

    def _guarded_loop(self, loop: Callable[[], None]) -> None:
        """A device thread: restarted after an unexpected error, which goes to staff."""
        while not self._stop.is_set():
            try:
                loop()
                return
            except Exception as err:
                self.internal_error(f"the {threading.current_thread().name} thread", err)
                self._stop.wait(RECOVERY_PERIOD)

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
            self.tried.add(device)
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
                self.latest_frame = None
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
            self.latest_frame = frame
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
        analyser = FaceAnalyser(static_image_mode=False, backdrop=self._capture.backdrop)
        qr = QrReader()
        guidance = self._capture.guidance_settings()
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
        zones = ZoneRota()  # the slow-changing zones, one group a frame
        while not self._stop.is_set():
            newest = self._next_frame(seen)
            if newest is None:
                continue
            seen, frame, visit = newest
            if visit != last_visit:
                smoother.reset()
                zones.reset()
                last_code, last_visit = "", visit
            state = visit[0]
            if state == State.SCAN_CODE:
                payload = qr.decode(frame)
                if payload and payload != last_code:
                    last_code = payload  # a rejected code is not re-posted every frame
                    self.post(lambda f, p=payload: f.code_scanned(p))
            elif state == State.GUIDE:
                if analyser.backdrop is not self._capture.backdrop:  # staff recalibrated
                    analyser.backdrop, guidance = self._capture.backdrop, self._capture.guidance_settings()
                analysis = analyser.analyse(frame)
                hints, ready = smoother.update(hints_for(analysis, self.config.photo, guidance, zones),
                                               time.monotonic())
                self.post(lambda f, h=hints, r=ready: f.guidance(h, r))

