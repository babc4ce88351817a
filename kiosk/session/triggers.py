"""How a touch reaches the state machine: each Button fires its own trigger,
and the transitions declared for it (in student.py and staff.py) say where
it counts and under what guard."""

from __future__ import annotations

from kiosk.codes import Button


def pressed(button: Button) -> str:
    """The trigger a button fires (press_start, press_cancel, ...)."""
    return f"press_{button.value}"
