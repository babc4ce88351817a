"""The view model: what the screens show, built fresh from the flow's state
(kiosk/screens/ draw a View and nothing else), and the news the runtime
feeds in for it (sync, free disk, the school's schedule)."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from kiosk.codes import (BackdropResult, Device, Hint, KioskStatus, Problem, RejectReason, State, SyncProblem,
                         UsbResult)
from kiosk.domain import RosterOutcome
from kiosk.identity.schedule import Schedule, SessionWindow
from photo_wire.capture import reference
from photo_wire.idnumber import mask_id
from photo_wire.ids import name_key

# States a student is in; leaving them for ATTRACT ends the session.
STUDENT_STATES = frozenset(State) - {State.ATTRACT, State.CALL_STAFF, State.STAFF}
# Sessions staff mode lists (today's and the coming ones).
STAFF_SCHEDULE_ROWS = 6


@dataclass(frozen=True)
class UsbOutcome:
    """How staff mode's USB exchange went (counts when DONE)."""

    result: UsbResult
    acknowledged: int = 0  # receipts applied: the school has these
    exported: int = 0  # captures now on the stick for the school
    problems: int = 0  # receipts not applied, captures set aside


@dataclass(frozen=True)
class RejectedCapture:
    """A capture the server refused for good, as staff mode lists it (nothing
    personal: the booth keeps nothing that narrows the ID number)."""

    short_id: str  # the capture id's first 8 characters
    reason: RejectReason
    created_at: datetime | None = None


@dataclass(frozen=True)
class SyncInfo:
    """Fed by the sync agent and the store; shown on the LED and in staff mode."""

    queue_depth: int = 0
    online: bool = True
    # No school server configured: captures wait for staff export, so a
    # backlog is normal and not shown as "waiting to sync" on the LED.
    configured: bool = False
    last_success: datetime | None = None  # last answer from the server that moved things on
    problem: SyncProblem | None = None  # what is wrong now, for staff
    uploads_stopped: bool = False  # 401/403/no token: nothing is sent until `kiosk enrol`
    rejected: tuple[RejectedCapture, ...] = ()  # oldest first, at most a screenful or two
    rejected_total: int = 0


@dataclass(frozen=True)
class View:
    """What the screens show; built fresh from the flow's state."""

    state: State
    status: KioskStatus
    problem: Problem | None = None
    # For staff: what exactly is wrong (e.g. the roster file's reason), '' if nothing more.
    problem_detail: str = ""
    # The name as the card gives it, unmasked: the person holding the card
    # checks it ('' typed in, or a UID-only card). The ID number stays masked.
    name: str = ""
    name_disputed: bool = False  # 信息有误 pressed: the office checks the details
    retake_reason: str = ""  # the office refused their last photo for this code
    # NOT_ON_ROSTER, another centre or session: where and when the student is
    # expected (the window only when it is this centre's: the booth knows its own).
    own_centre: str = ""
    own_session: str = ""
    own_window: SessionWindow | None = None
    id_masked: str = ""
    programme: str = ""
    hints: tuple[Hint, ...] = ()
    ready: bool = False
    countdown: int = 0
    retakes_left: int = 0
    photo_jpeg: bytes | None = None
    photo_compliant: bool = False
    photo_problems: tuple[str, ...] = ()
    capture_id: str = ""
    reference: str = ""  # the receipt's 采集编号 (photo_wire.capture.reference)
    # The receipt's QR code: the capture's status page ('' without [sync] public_url).
    status_url: str = ""
    staff_unlocked: bool = False
    failed_devices: tuple[Device, ...] = ()
    consent_version: str = ""
    seconds_left: int = 0  # until this state times out
    queue_depth: int = 0
    online: bool = True
    sync_configured: bool = False
    # MANUAL_ENTRY: the last number staff submitted (the student's own, shown as typed).
    id_entry: str = ""
    id_method: str = ""  # the student's: 'card' or 'manual'
    # Staff mode: the page shown, sync detail, free disk (MiB; -1 not known yet).
    staff_page: str = "status"
    sync: SyncInfo = SyncInfo()
    free_mb: int = -1
    # Sessions. now: the booth's wall clock in its time zone (for showing times).
    now: datetime | None = None
    schedule_known: bool = False
    session: str = ""  # what a capture would be recorded under now ('' between sessions)
    session_now: SessionWindow | None = None
    session_next: SessionWindow | None = None  # later today
    sessions_today: int = 0
    schedule: tuple[SessionWindow, ...] = ()  # staff mode: today's and the coming ones
    makeup_mode: bool = False  # the roster takes students outside their centre and session
    # Staff mode: when the backdrop was last calibrated (None: the spec blue is
    # assumed) and how the calibration staff started in this visit went.
    backdrop_at: datetime | None = None
    backdrop_result: BackdropResult | None = None
    usb: UsbOutcome | None = None  # staff mode's USB exchange in this visit
    # Staff mode's booth check page: kiosk.tools.doctor.Finding's of the last run in this visit.
    doctor: tuple[Any, ...] = ()
    doctor_running: bool = False
    # A card or a 采集码 is being checked (CHECKING, SCAN_CODE): the answer is on its way.
    checking: bool = False



class ViewModel:
    """The flow's outputs for the screens and the status LED (mixed into
    kiosk.session.SessionFlow, whose state it reads)."""

    def _init_view(self) -> None:
        self.schedule: Schedule | None = None
        self.sync = SyncInfo()
        self.free_mb = -1

    @property
    def healthy(self) -> bool:
        return not self._failed

    @property
    def status(self) -> KioskStatus:
        if self._failed:
            return KioskStatus.ERROR
        if self.state == State.STAFF:
            return KioskStatus.STAFF
        if self.state == State.CALL_STAFF:
            return KioskStatus.ERROR
        if self.state in STUDENT_STATES:
            return KioskStatus.BUSY
        if self.sync.configured and not self.sync.online:
            return KioskStatus.OFFLINE
        if self.sync.configured and self.sync.queue_depth:
            return KioskStatus.QUEUE
        return KioskStatus.READY

    def view(self) -> View:
        s = self.student
        photo = s.photo if s else None
        now = self._clock()
        timeout = self._timeout_for(self.state)
        wall = self._now().astimezone(self.tz)
        schedule = self._schedule()
        today = schedule.today(wall) if schedule else ()
        return View(
            state=self.state,
            status=self.status,
            problem=self.problem,
            problem_detail=next((self._details.get(d, "") for d, p in self._failed.items()
                                 if p == self.problem), ""),
            name=s.card.name if s else "",
            name_disputed=bool(s and s.name_disputed),
            retake_reason=s.match.retake_reason if s else "",
            **self._own_session(),
            id_masked=mask_id(s.card.id_number) if s else "",
            programme=s.match.programme if s else "",
            hints=self.hints,
            ready=self.ready,
            countdown=max(0, math.ceil(self._countdown_end - now))
            if self.state == State.COUNTDOWN
            else 0,
            retakes_left=s.retakes_left if s else 0,
            photo_jpeg=photo.spec_jpeg if photo else None,
            photo_compliant=bool(photo and photo.compliant),
            photo_problems=tuple(photo.problems) if photo else (),
            capture_id=self.capture_id,
            reference=reference(self.capture_id) if self.capture_id else "",
            status_url=self.status_url if self.capture_id else "",
            staff_unlocked=self.staff_unlocked,
            failed_devices=tuple(self._failed),
            consent_version=self.consent_version,
            seconds_left=max(0, math.ceil(self._last_activity + timeout - now)) if timeout else 0,
            queue_depth=self.sync.queue_depth,
            online=self.sync.online,
            sync_configured=self.sync.configured,
            id_entry=self.id_entry if self.state == State.MANUAL_ENTRY else "",
            id_method=s.id_method if s else "",
            staff_page=self.staff_page,
            sync=self.sync,
            free_mb=self.free_mb,
            now=wall,
            schedule_known=schedule is not None,
            session=self.session_now(),
            session_now=schedule.current(wall) if schedule else None,
            session_next=schedule.next_today(wall) if schedule else None,
            sessions_today=len(today),
            schedule=schedule.from_today(wall, STAFF_SCHEDULE_ROWS)
            if schedule and self.state == State.STAFF else (),
            makeup_mode=self.roster.makeup_mode,
            backdrop_at=self.backdrop_at,
            backdrop_result=self.backdrop_result if self.state == State.STAFF else None,
            usb=self.usb if self.state == State.STAFF else None,
            doctor=self.doctor if self.state == State.STAFF else (),
            doctor_running=self.doctor_running,
            checking=self._check is not None,
        )

    def _own_session(self) -> dict[str, Any]:
        """Where and when a student turned away for the wrong centre or session is expected."""
        s = self.student
        if s is None or s.match.outcome not in (RosterOutcome.OTHER_CENTRE,
                                                RosterOutcome.MISSED_SESSION):
            return {}
        schedule = self._schedule()
        ours = name_key(s.match.centre) == name_key(self.roster.centre)
        window = schedule.named(s.match.session) if schedule and ours else None
        return dict(own_centre=s.match.centre, own_session=s.match.session, own_window=window)

    def today(self) -> date:
        """The booth's date: the injected wall clock in [kiosk] timezone (not the host's)."""
        return self._now().astimezone(self.tz).date()

    def session_now(self) -> str:
        """The session a capture identified now is recorded under: the one whose
        window covers now when a schedule is known ('' between sessions: only
        makeup shoots then), else the config's."""
        schedule = self._schedule()
        if schedule is None:
            return self.session
        current = schedule.current(self._now())
        return current.name if current else ""

    def set_sync(self, queue_depth: int, online: bool, **detail: Any) -> None:
        """The sync agent's news; detail: other SyncInfo fields (kept when not given)."""
        self.sync = replace(self.sync, queue_depth=queue_depth, online=online, **detail)

    def set_free_disk(self, free_mb: int) -> None:
        self.free_mb = free_mb

    def set_schedule(self, schedule: Schedule | None) -> None:
        """The school's schedule (fetched or cached); None or empty: use the config's session."""
        self.schedule = schedule

    def _schedule(self) -> Schedule | None:
        # An empty schedule (none imported for this centre) is no schedule.
        return self.schedule if self.schedule else None
