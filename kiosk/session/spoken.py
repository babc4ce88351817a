"""What the booth says aloud as the student reaches a screen.

The pose hints are spoken as they change (StudentFlow.guidance); every other
student screen says what it asks for once, on arrival, so a student who does
not read the screen still hears what to do. The keys are catalog keys;
`kiosk make-prompts` turns each into a WAV (kiosk/tools/prompts.py).
"""

from __future__ import annotations

from kiosk.codes import State
from kiosk.domain import Student
from photo_wire.models import REJECT_REASONS

# Said on arriving in the state (CONFIRM: see entry_prompt).
ON_ENTRY = {
    State.IDENTIFY: "prompt.identify",
    State.CONFIRM: "prompt.confirm",
    State.CONSENT: "prompt.consent",
    State.SCAN_CODE: "prompt.scan_code",
    State.COUNTDOWN: "prompt.countdown",
    State.RECEIPT: "prompt.saved",
}
# Said when the student presses 信息有误.
NAME_DISPUTED = "prompt.name_disputed"


def retake_key(reason: str) -> str:
    """The text (shown and spoken) telling a student why the office refused
    their last photo: retake.<reason code>."""
    return f"retake.{reason if reason in REJECT_REASONS else 'other'}"


def entry_prompt(state: State, student: Student | None) -> str | None:
    """The prompt for arriving in state: a returning student whose photo the
    office refused first hears why (then checks their details)."""
    if state == State.CONFIRM and student is not None and student.match.retake_reason:
        return retake_key(student.match.retake_reason)
    return ON_ENTRY.get(state)


def spoken_keys() -> list[str]:
    """Every key entry_prompt and the flow speak (for make-prompts and the catalogs)."""
    return [*dict.fromkeys(ON_ENTRY.values()), NAME_DISPUTED,
            *(retake_key(r) for r in REJECT_REASONS)]
