"""Every code the kiosk shows, logs or sends: one home for each enum.

The Chinese and English texts for these live in the message catalogs
(kiosk/locale/*/LC_MESSAGES/kiosk.po) under keys built by ``message_key``.
"""

from __future__ import annotations

from enum import Enum


class State(str, Enum):
    """The session flow's states; each has one screen."""

    ATTRACT = "attract"
    IDENTIFY = "identify"
    CHECKING = "checking"  # the card (or typed number) is looked up in the roster
    CONFIRM = "confirm"
    NOT_ON_ROSTER = "not_on_roster"
    MANUAL_ENTRY = "manual_entry"  # staff type the ID number (temporary or lost card)
    CONSENT = "consent"
    SCAN_CODE = "scan_code"
    GUIDE = "guide"
    COUNTDOWN = "countdown"
    CAPTURING = "capturing"
    REVIEW = "review"
    SAVING = "saving"
    RECEIPT = "receipt"
    CALL_STAFF = "call_staff"
    STAFF = "staff"


class Button(str, Enum):
    """Touches the screens forward to the flow."""

    START = "start"
    CONFIRM_IDENTITY = "confirm_identity"
    NOT_ME = "not_me"
    NAME_WRONG = "name_wrong"  # 信息有误: the card's details are wrong (the office checks)
    AGREE = "agree"
    DECLINE = "decline"
    TAKE_PHOTO = "take_photo"
    RETAKE = "retake"
    ACCEPT_PHOTO = "accept_photo"
    DONE = "done"
    CANCEL = "cancel"
    STAFF = "staff"
    STAFF_EXIT = "staff_exit"
    MANUAL_ENTRY = "manual_entry"
    LANGUAGE = "language"
    LARGER_TEXT = "larger_text"  # the attract screen's 大字 (the screens' own: the flow ignores it)
    # staff mode (after the PIN): its pages, and what staff can do there
    STAFF_STATUS = "staff_status"
    STAFF_SYNC = "staff_sync"
    STAFF_REJECTED = "staff_rejected"
    STAFF_SCHEDULE = "staff_schedule"
    STAFF_DOCTOR = "staff_doctor"  # the booth check page (kiosk/tools/doctor.py): opening it runs the checks
    RETRY_REJECTED = "retry_rejected"
    CALIBRATE_BACKDROP = "calibrate_backdrop"
    USB_EXCHANGE = "usb_exchange"
    MAKEUP_MODE = "makeup_mode"  # staff switch makeup shoots on or off (logged)


class Device(str, Enum):
    CAMERA = "camera"
    ID_READER = "id_reader"
    LIGHTS = "lights"
    STATUS_LED = "status_led"
    STORE = "store"
    ROSTER = "roster"  # the list of expected graduates could not be read


class Problem(str, Enum):
    """Why the flow shows a message instead of moving on.

    Student-facing ones (bad card, bad code, no face in the still) keep the
    student where they are; device ones send the kiosk to CALL_STAFF.
    """

    # identify
    CARD_UNREADABLE = "card_unreadable"
    CARD_INVALID_NUMBER = "card_invalid_number"
    CARD_EXPIRED = "card_expired"
    NOT_EXPECTED = "not_expected"
    ALREADY_CAPTURED = "already_captured"
    OTHER_CENTRE = "other_centre"  # another centre, or another session of this one
    MISSED_SESSION = "missed_session"  # their session is over and makeup shoots are off
    # manual entry of the ID number
    ID_TOO_SHORT = "id_too_short"
    ID_BAD_AREA_CODE = "id_bad_area_code"
    ID_BAD_BIRTH_DATE = "id_bad_birth_date"
    ID_BAD_CHECK_CHARACTER = "id_bad_check_character"
    # scan code
    CODE_INVALID = "code_invalid"
    CODE_USED_BY_OTHER = "code_used_by_other"
    # capture
    NO_FACE_IN_PHOTO = "no_face_in_photo"
    PHOTO_NOT_COMPLIANT = "photo_not_compliant"
    NO_RETAKES_LEFT = "no_retakes_left"
    # devices and storage (failsafe)
    CAMERA_FAILED = "camera_failed"
    READER_FAILED = "reader_failed"
    LIGHTS_FAILED = "lights_failed"
    STORE_FAILED = "store_failed"
    DISK_FULL = "disk_full"
    ROSTER_UNUSABLE = "roster_unusable"
    INTERNAL_ERROR = "internal_error"  # an unexpected error in the kiosk's own code
    STAFF_REQUESTED = "staff_requested"
    PIN_WRONG = "pin_wrong"


class Hint(str, Enum):
    """Pose guidance hints, most important first (the photo engine ranks them)."""

    NO_FACE = "NO_FACE"
    MULTIPLE_FACES = "MULTIPLE_FACES"
    TOO_DARK = "TOO_DARK"
    TOO_BRIGHT = "TOO_BRIGHT"
    LOW_RESOLUTION = "LOW_RESOLUTION"  # `kiosk guide` on a still: the face has too few pixels
    MOVE_CLOSER = "MOVE_CLOSER"
    MOVE_BACK = "MOVE_BACK"
    MOVE_LEFT = "MOVE_LEFT"
    MOVE_RIGHT = "MOVE_RIGHT"
    MOVE_UP = "MOVE_UP"
    MOVE_DOWN = "MOVE_DOWN"
    LEVEL_HEAD = "LEVEL_HEAD"
    FACE_CAMERA = "FACE_CAMERA"
    CHIN_DOWN = "CHIN_DOWN"
    CHIN_UP = "CHIN_UP"
    OPEN_EYES = "OPEN_EYES"
    CLOSE_MOUTH = "CLOSE_MOUTH"
    HAIR_OFF_FACE = "HAIR_OFF_FACE"
    GLASSES = "GLASSES"  # the school forbids glasses
    GLASSES_GLARE = "GLASSES_GLARE"
    TINTED_GLASSES = "TINTED_GLASSES"
    HEAD_COVERED = "HEAD_COVERED"  # a hat, cap, hood or headscarf
    JEWELLERY = "JEWELLERY"  # earrings or a necklace (not with jewellery = "ignore")
    HOLD_STILL = "HOLD_STILL"
    READY = "READY"


class KioskStatus(str, Enum):
    """What the status LED tells staff at a glance (see hardware/status_led.py)."""

    READY = "ready"  # idle, devices fine, nothing waiting to sync
    BUSY = "busy"  # a student is in a session
    QUEUE = "queue"  # captures waiting to sync
    OFFLINE = "offline"  # server unreachable
    STAFF = "staff"  # staff mode open
    ERROR = "error"  # needs help: a device failed or storage is full


class SyncProblem(str, Enum):
    """Why the sync agent is stuck, in words staff can act on (staff mode)."""

    UNREACHABLE = "unreachable"  # no connection to the school server
    TIMEOUT = "timeout"  # it did not answer in time
    SERVER_ERROR = "server_error"  # it answered 5xx / 429 / 408: retried
    BUSY = "busy"  # 429/503 with Retry-After: retried once that time has passed
    BAD_ANSWER = "bad_answer"  # an answer the kiosk cannot read: retried
    TOKEN_REVOKED = "token_revoked"  # 401: uploads stopped until `kiosk enrol`
    NOT_ENROLLED = "not_enrolled"  # no token yet
    WRONG_KIOSK = "wrong_kiosk"  # 403: the token is another kiosk id's
    REFUSED = "refused"  # some captures were refused for good (staff mode lists them)
    INTERNAL = "internal"  # a bug in the agent: it keeps retrying


class RejectReason(str, Enum):
    """Why the server refused one capture for good (the row's upload_error, classified)."""

    CONFLICT = "conflict"  # 409: another capture holds the id on the server
    TOO_LARGE = "too_large"  # 413: over the server's max_body_bytes
    MALFORMED = "malformed"  # 422
    OTHER_KIOSK = "other_kiosk"  # 403: saved under another kiosk id
    FILE_MISSING = "file_missing"  # the sealed file is gone from the SD card
    FILE_DAMAGED = "file_damaged"  # it no longer matches its digest
    BAD_RECEIPT = "bad_receipt"  # the receipt named another capture or digest
    OTHER = "other"


class BackdropResult(str, Enum):
    """Staff mode's backdrop calibration: under way, done, or why not."""

    MEASURING = "measuring"
    OK = "ok"
    CAMERA = "camera"  # no still from the camera
    NOT_EMPTY = "not_empty"  # someone is in view
    TOO_DARK = "too_dark"  # lights off
    WRONG_COLOUR = "wrong_colour"  # not a blue backdrop (fallen, or the camera points elsewhere)
    SAVE_FAILED = "save_failed"


class UsbResult(str, Enum):
    """Staff mode's USB exchange: receipts read from the stick, captures written to it."""

    WORKING = "working"
    DONE = "done"  # see UsbOutcome for the counts
    NO_STICK = "no_stick"  # nothing writable mounted
    MANY_STICKS = "many_sticks"  # which one? staff take all but one out
    NOT_ENROLLED = "not_enrolled"  # no token: receipts cannot be checked
    NOT_SEALED = "not_sealed"  # no server key: nothing may leave the booth
    OTHER_KIOSK = "other_kiosk"  # the stick's bundle folder belongs to another booth
    NO_SPACE = "no_space"  # the stick is full or read-only
    FAILED = "failed"


def message_key(code: Enum) -> str:
    """Catalog key for a code: e.g. Hint.MOVE_CLOSER -> 'hint.MOVE_CLOSER'."""
    prefix = {
        State: "state",
        Button: "button",
        Device: "device",
        Problem: "problem",
        Hint: "hint",
        KioskStatus: "status",
        SyncProblem: "sync_problem",
        RejectReason: "reject_reason",
        BackdropResult: "backdrop",
        UsbResult: "usb",
    }[type(code)]
    return f"{prefix}.{code.value}"
