"""The capture path (worker thread): take the still, process it, save it.

It also holds the booth's backdrop as staff last calibrated it, which the
still's checks and the live guidance both measure against.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Callable

from kiosk.codes import Device, Problem
from kiosk.config import Config
from kiosk.domain import CaptureRequest
from kiosk.session import SessionFlow
from kiosk.hardware.camera import Camera, CameraError
from kiosk.photo.analysis import FaceAnalyser
from kiosk.photo.backdrop import Backdrop
from kiosk.photo.guidance import DEFAULT_SETTINGS, GuidanceSettings
from kiosk.photo.measures import DEFAULT_MEASURE_SETTINGS, MeasureSettings
from kiosk.photo.process import PhotoError, process_still
from kiosk.capture.status_links import StatusLinks
from kiosk.capture.store import CaptureStore, StoreError
from kiosk.capture.sync import SyncAgent
from photo_wire.capture import CheckReport

log = logging.getLogger(__name__)

FlowEvent = Callable[[SessionFlow], None]


class CapturePath:
    def __init__(self, config: Config, camera: Camera, store: CaptureStore, backdrop: Backdrop,
                 sync_agent: SyncAgent | None, post: Callable[[FlowEvent], None],
                 log_unexpected: Callable[[str, BaseException], None]) -> None:
        self.config = config
        self.camera = camera
        self.store = store
        self.backdrop = backdrop
        self.post = post
        self._log_unexpected = log_unexpected
        self.sync_agent = sync_agent  # woken after each save
        self._still_analyser_obj: FaceAnalyser | None = None
        # The receipt's QR code ([sync] public_url); the key is made here, once.
        self.status_links = StatusLinks(config.sync.public_url, store.data_dir)

    def use_backdrop(self, model: Backdrop) -> None:
        """Staff calibrated afresh: stills and guidance measure against it from now on."""
        self.backdrop = model
        self.still_analyser().backdrop = model

    def take_still(self) -> None:
        try:
            still = self.camera.capture_still()
        except CameraError as err:
            log.error("still failed: %s", err)
            self.post(lambda f: f.device_failed(Device.CAMERA))
            return
        try:
            analyser = self.still_analyser()
            photo = process_still(still, analyser, self.config.photo,
                                  settings=self.measure_settings())
        except PhotoError as err:
            log.info("still not usable: %s", err)
            self.post(lambda f: f.photo_failed(Problem.NO_FACE_IN_PHOTO))
            return
        except Exception:
            log.exception("processing the still failed")
            self.post(lambda f: f.photo_failed(Problem.NO_FACE_IN_PHOTO))
            return
        self.post(lambda f: f.photo_ready(photo))

    def measure_settings(self) -> MeasureSettings:
        return replace(DEFAULT_MEASURE_SETTINGS, backdrop=self.backdrop)

    def guidance_settings(self) -> GuidanceSettings:
        return replace(DEFAULT_SETTINGS, ready_hold_seconds=self.config.flow.ready_hold_seconds,
                       measures=self.measure_settings())

    def still_analyser(self) -> FaceAnalyser:
        # Only the worker thread uses it; made on first use (model load ~0.1 s).
        if self._still_analyser_obj is None:
            self._still_analyser_obj = FaceAnalyser(static_image_mode=True, backdrop=self.backdrop)
        return self._still_analyser_obj

    def close(self) -> None:
        """Close the still analyser (after the worker stopped): its graph and
        buffers are 25 MB, kept otherwise by a runtime started again in the
        same process."""
        if self._still_analyser_obj is not None:
            self._still_analyser_obj.close()
            self._still_analyser_obj = None

    def save(self, request: CaptureRequest) -> None:
        # id_method and makeup travel as the document's own fields (photo_wire.capture).
        report = CheckReport(passed=request.photo.compliant, problems=list(request.photo.problems),
                             measures=request.photo.measures)
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
        status_url = self.status_links.url(capture_id)
        self.post(lambda f: f.saved(capture_id, status_url))
        if self.sync_agent is not None:
            self.sync_agent.wake()
        try:
            pending = self.store.pending_count()
        except Exception as err:  # the queue's count is refreshed by the next disk check
            self._log_unexpected("counting the queue after a save", err)
            return
        self.post(lambda f: f.set_sync(pending, f.sync.online))
