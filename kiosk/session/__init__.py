"""The session flow: the kiosk's brain, in plain Python (no Kivy, no devices).

It receives events (card read, code scanned, guidance for a frame, button
pressed, still processed, capture saved, device failed or back, time passed)
and decides the next state. It never touches a device: what it wants done
(take a still, switch the lights, save, speak a prompt) it queues as
Effects that the runtime drains and carries out. Everything a screen shows
comes from ``view()``.

- machine.py: SessionFlow, the state machine, and the timeouts;
- student.py: the student's way from card to receipt (and manual entry);
- staff.py: staff mode, its PIN and pages;
- failsafe.py: device failures and recoveries;
- view.py: the View the screens draw;
- effects.py: what the runtime is asked to do.

The shared types (Student, CaptureRequest, IdCard, ...) are in kiosk.domain.
"""

from kiosk.session.effects import Check, Effect, EffectKind
from kiosk.session.machine import SessionFlow
from kiosk.session.student import CAMERA_STATES, ENTRY_PROBLEM, Roster, code_problem
from kiosk.session.view import RejectedCapture, SyncInfo, UsbOutcome, View

__all__ = [
    "CAMERA_STATES", "ENTRY_PROBLEM", "Check", "Effect", "EffectKind", "RejectedCapture", "Roster",
    "SessionFlow", "SyncInfo", "UsbOutcome", "View", "code_problem",
]
