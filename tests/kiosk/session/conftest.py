"""The session flow tests' fixtures (helpers: tests/session_harness.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.session import SessionFlow
from session_harness import AFTERNOON_ID, ELSEWHERE_ID, EVENING_ID, MORNING_ID, Clock, make_flow


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def flow(clock: Clock) -> SessionFlow:
    return make_flow(clock)


@pytest.fixture
def roster_csv(tmp_path: Path) -> Path:
    path = tmp_path / "roster.csv"
    path.write_text("id_number,name,programme,centre,session\n"
                    f"{MORNING_ID},张三,会计学,centre-a,morning\n"
                    f"{AFTERNOON_ID},李四,法学,centre-a,Afternoon\n"
                    f"{EVENING_ID},王五,法学,centre-a,evening\n"
                    f"{ELSEWHERE_ID},赵六,法学,centre-b,morning\n", encoding="utf-8")
    return path
