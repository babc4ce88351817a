"""No ID number recoverable from a booth's data_dir (issue 12, item 1).

An attacker copies a booth's data_dir (a stolen SD card) and brute-forces
the demo captures' ID numbers with everything on it: captures.db, any key
file, the cached server roster. Against the store as it was (masked ID
first 6 + last 4, HMAC refs with their key beside them) that takes a few
thousand guesses, about a second; against photo_wire's scheme the same attacker, told the right area
code and birth year, gets nowhere within the budget, and the measured rate
puts the whole ID space out of reach. A store from before is migrated: the
old keys go, its rows are re-keyed from the roster file, and the attack fails
on it too.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterator

import pytest

from kiosk.config import parse_config
from kiosk.domain import CaptureRequest, RosterOutcome, Student
from kiosk.hardware.id_reader_sim import DEMO_CARDS, to_id_card
from photo_wire.idnumber import check_character, mask_id
from kiosk.capture.store import CaptureStore
from kiosk.identity.loader import rekey_legacy_captures
from kiosk.identity.roster import CsvRoster
from photo_wire.ids import opaque_ref

ROOT = Path(__file__).resolve().parents[3]
DEMO_ROSTER = ROOT / "examples" / "roster-demo.csv"
BUDGET_SECONDS = 3.0
# The attacker may know the area code and birth year of a student (a class
# list, a home town): a year of birth dates times 1000 sequence numbers.
PRIOR_CANDIDATES = 366 * 1000
# All plausible ID numbers: ~3,500 area codes, ~20 birth years, 1000 sequences.
ID_SPACE = 3_500 * 20 * 365 * 1000


@dataclass
class Photo:
    spec_jpeg: bytes = b"\xff\xd8 demo spec \xff\xd9"
    original_jpeg: bytes | None = None
    compliant: bool = True
    problems: tuple[str, ...] = ()
    measures: dict = field(default_factory=dict)


def demo_cards() -> list:
    """The demo's expected graduates that an ID card reader identifies."""
    wanted = {"zhangsan", "lisi", "wangwu"}
    return [to_id_card(c) for c in DEMO_CARDS if c.label in wanted]


def capture_demo_students(data_dir: Path) -> list[str]:
    """The booth's own path: the demo roster finds each card, the store saves it."""
    store = CaptureStore(data_dir, "demo-kiosk")
    roster = CsvRoster(DEMO_ROSTER, "demo-centre", "demo-session", has_capture=store.has_capture)
    ids = []
    for n, card in enumerate(demo_cards()):
        match = roster.lookup(card)
        assert match.outcome == RosterOutcome.EXPECTED
        student = Student(card=card, match=match, consent_version="v1",
                          consent_time=datetime.now(timezone.utc), code_payload=f"CHSI-{n}")
        store.save(CaptureRequest(student=student, photo=Photo()), "demo-session", {})  # type: ignore[arg-type]
        ids.append(card.id_number)
    store.close()
    return ids


# ---------------------------------------------------------------- attacker


def dates(start: date, end: date) -> Iterator[str]:
    day = start
    while day <= end:
        yield day.strftime("%Y%m%d")
        day += timedelta(days=1)


def candidates(area: str, year: int, last4: str | None) -> Iterator[str]:
    """ID numbers with this area code born in this year (and these last 4, if known)."""
    for born in dates(date(year, 1, 1), date(year, 12, 31)):
        sequences = [last4[:3]] if last4 else [f"{s:03d}" for s in range(1000)]
        for seq in sequences:
            first17 = area + born + seq
            number = first17 + check_character(first17)
            if not last4 or number.endswith(last4):
                yield number


def masked_candidates(masked: str) -> Iterator[str]:
    """Every birth date 1950-2010 between the first 6 and last 4 digits."""
    for born in dates(date(1950, 1, 1), date(2010, 12, 31)):
        number = masked[:6] + born + masked[-4:]
        if check_character(number[:17]) == number[17]:
            yield number


@dataclass
class Attack:
    found: dict[str, str]  # student_ref -> ID number
    guesses: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.guesses / self.seconds


def brute_force(data_dir: Path, prior: dict[str, tuple[str, int]],
                budget: float = BUDGET_SECONDS) -> Attack:
    """Everything an SD card offers, tried against every ref in captures.db.

    prior: per demo ID number, the area code and birth year the attacker is
    told (a generous attacker: the real one has to guess them too)."""
    conn = sqlite3.connect(data_dir / "captures.db")
    conn.row_factory = sqlite3.Row
    rows = conn.execute("SELECT * FROM captures").fetchall()
    conn.close()
    refs = {r["student_ref"] for r in rows}
    masked = [r["id_masked"] for r in rows if "id_masked" in r.keys()]
    # Any key on the card first (fast), then the keyless scheme.
    hashes: list[Callable[[str], str]] = [
        lambda n, k=key: hmac.new(k, f"id:{n}".encode(), hashlib.sha256).hexdigest()
        for key in keys_on_card(data_dir)]
    hashes.append(lambda n: opaque_ref("id", n))
    found: dict[str, str] = {}
    guesses = 0
    start = time.perf_counter()
    for h in hashes:
        if masked:  # the old store told the attacker everything but the birth date
            streams = [masked_candidates(m) for m in masked]
        else:
            streams = [candidates(area, year, None) for area, year in prior.values()]
        for stream in streams:
            for number in stream:
                guesses += 1
                ref = h(number)
                if ref in refs:
                    found[ref] = number
                    break  # this student is done
                if time.perf_counter() - start > budget:
                    return Attack(found, guesses, time.perf_counter() - start)
        if len(found) == len(refs):
            break
    return Attack(found, guesses, time.perf_counter() - start)


def keys_on_card(data_dir: Path) -> list[bytes]:
    keys = []
    if (data_dir / "roster.key").exists():
        keys.append((data_dir / "roster.key").read_bytes())
    cache = data_dir / "server-roster.json"
    if cache.exists():
        scheme = json.loads(cache.read_text())["roster"]["student_ref_scheme"]
        if "key" in scheme:
            import base64

            keys.append(base64.b64decode(scheme["key"]))
    return keys


def prior_for(ids: list[str]) -> dict[str, tuple[str, int]]:
    return {n: (n[:6], int(n[6:10])) for n in ids}


def copy_of(data_dir: Path, tmp_path: Path) -> Path:
    stolen = tmp_path / "stolen"
    shutil.copytree(data_dir, stolen)
    return stolen


# -------------------------------------------------- the store as it was (v1)

V1_TABLE = """
CREATE TABLE captures (
    capture_id TEXT PRIMARY KEY, student_ref TEXT NOT NULL, id_masked TEXT NOT NULL,
    code_digest TEXT NOT NULL, code_payload TEXT, consent_version TEXT NOT NULL,
    consent_time TEXT, kiosk_id TEXT NOT NULL, session TEXT NOT NULL, spec_path TEXT,
    original_path TEXT, report_json TEXT, digest TEXT,
    status TEXT NOT NULL DEFAULT 'captured', attempts INTEGER NOT NULL DEFAULT 0,
    upload_error TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    received_at TEXT, acked_at TEXT, purged_at TEXT);
PRAGMA user_version = 1;
"""


def make_v1_booth(data_dir: Path) -> list[str]:
    """A booth in the field before this change: roster.key, HMAC refs, masked IDs.
    (The rows a v1 store wrote for the demo captures, sealed mode.)"""
    data_dir.mkdir(mode=0o700)
    key = b"k" * 32
    (data_dir / "roster.key").write_bytes(key)
    conn = sqlite3.connect(data_dir / "captures.db")
    conn.executescript(V1_TABLE)
    ids = []
    with conn:
        for n, card in enumerate(demo_cards()):
            ref = hmac.new(key, f"id:{card.id_number}".encode(), hashlib.sha256).hexdigest()
            code = hmac.new(key, f"CHSI-{n}".encode(), hashlib.sha256).hexdigest()
            conn.execute(
                "INSERT INTO captures (capture_id, student_ref, id_masked, code_digest,"
                " consent_version, kiosk_id, session, digest, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, 'v1', 'demo-kiosk', 'demo-session', ?, ?, ?)",
                (f"capture{n:04d}", ref, mask_id(card.id_number), code, "0" * 64,
                 f"2026-11-2{n}T09:00:00+00:00", f"2026-11-2{n}T09:00:00+00:00"))
            ids.append(card.id_number)
    conn.close()
    return ids


def demo_config(data_dir: Path):
    return parse_config({"kiosk": {"id": "demo-kiosk", "centre": "demo-centre",
                                   "session": "demo-session", "data_dir": str(data_dir)},
                         "roster": {"path": str(DEMO_ROSTER)}})


# ------------------------------------------------------------------ tests


def test_the_old_store_gives_every_id_number_away_within_the_budget(tmp_path: Path) -> None:
    """The control: the same attack on the store as it was (or with the
    protection off) recovers every ID number, so its failure below means something."""
    ids = make_v1_booth(tmp_path / "data")
    attack = brute_force(copy_of(tmp_path / "data", tmp_path), prior_for(ids))
    assert sorted(attack.found.values()) == sorted(ids)
    assert attack.seconds < BUDGET_SECONDS
    print(f"\nthe old store: {len(ids)} ID numbers in {attack.guesses} guesses, "
          f"{attack.seconds:.2f} s")


def test_no_id_number_is_recoverable_from_a_booth(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    ids = capture_demo_students(data_dir)
    stolen = copy_of(data_dir, tmp_path)
    disk = b"".join(p.read_bytes() for p in stolen.rglob("*") if p.is_file())
    for number in ids:  # nothing that narrows it: not the masked form, not its ends
        assert mask_id(number).encode() not in disk and number[:6].encode() + b"*" not in disk
    attack = brute_force(stolen, prior_for(ids))
    assert attack.found == {}
    # Even told the area code and birth year, one student takes hours; the
    # whole ID space takes years of CPU time.
    assert PRIOR_CANDIDATES / attack.rate > 3600
    assert ID_SPACE / attack.rate > 10 * 365 * 86400
    print(f"\nbrute force: {attack.rate:.1f} guesses/s; one student with a known area and "
          f"year: {PRIOR_CANDIDATES / attack.rate / 3600:.0f} h; the ID space: "
          f"{ID_SPACE / attack.rate / 86400 / 365:.0f} CPU-years")


def test_a_demo_session_run_by_the_kiosk_leaves_nothing_to_brute_force(tmp_path: Path) -> None:
    """The real runtime (`kiosk run --demo --headless`), 张三's whole session."""
    from headless_harness import HAPPY, run_cli, write_config

    done = run_cli(write_config(tmp_path), HAPPY, tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    stolen = copy_of(tmp_path / "data", tmp_path)
    zhang = "110101200103151236"
    assert not (stolen / "roster.key").exists()
    assert brute_force(stolen, prior_for([zhang]), budget=1.0).found == {}


def test_an_old_store_is_migrated_and_rekeyed(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    ids = make_v1_booth(data_dir)
    store = CaptureStore(data_dir, "demo-kiosk")
    rekey_legacy_captures(demo_config(data_dir), data_dir, store)
    # Still recognised as captured, now under the new refs.
    roster = CsvRoster(DEMO_ROSTER, "demo-centre", "demo-session", has_capture=store.has_capture)
    for card in demo_cards():
        assert roster.lookup(card).outcome == RosterOutcome.ALREADY_CAPTURED
    store.close()
    assert not (data_dir / "roster.key").exists()
    stolen = copy_of(data_dir, tmp_path)
    disk = b"".join(p.read_bytes() for p in stolen.rglob("*") if p.is_file())
    for number in ids:  # gone from free pages and the WAL too
        assert mask_id(number).encode() not in disk
    assert brute_force(stolen, prior_for(ids), budget=1.0).found == {}


def test_a_student_missing_from_the_roster_file_is_not_kept_as_an_oracle(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    make_v1_booth(data_dir)
    roster = tmp_path / "roster.csv"
    lines = DEMO_ROSTER.read_text(encoding="utf-8").splitlines()
    roster.write_text("\n".join(l for l in lines if "张三" not in l) + "\n", encoding="utf-8")
    config = parse_config({"kiosk": {"id": "demo-kiosk", "centre": "demo-centre",
                                     "session": "demo-session", "data_dir": str(data_dir)},
                           "roster": {"path": str(roster)}})
    store = CaptureStore(data_dir, "demo-kiosk")
    rekey_legacy_captures(config, data_dir, store)
    assert store.legacy_refs() == set()
    refs = {r[0] for r in sqlite3.connect(data_dir / "captures.db").execute(
        "SELECT student_ref FROM captures")}
    assert sum(ref.startswith("unmatched:") for ref in refs) == 1
    store.close()


def test_a_rekeying_without_the_roster_file_keeps_the_old_rows_for_later(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    make_v1_booth(data_dir)
    config = parse_config({"kiosk": {"id": "demo-kiosk", "centre": "demo-centre",
                                     "session": "demo-session", "data_dir": str(data_dir)},
                           "roster": {"path": str(tmp_path / "missing.csv")}})
    store = CaptureStore(data_dir, "demo-kiosk")
    rekey_legacy_captures(config, data_dir, store)
    assert len(store.legacy_refs()) == 3 and (data_dir / "roster.key").exists()
    store.close()


@pytest.mark.parametrize("cell", ["' 110101200103151236", "110101 20010315 1236",
                                  "１１０１０１２００１０３１５１２３６"])
def test_roster_cells_as_spreadsheets_write_them(tmp_path: Path, cell: str) -> None:
    path = tmp_path / "roster.csv"
    path.write_text("id_number,name,programme,centre,session\n"
                    f"{cell},张三,法学,c,s\n", encoding="utf-8")
    card = next(c for c in demo_cards() if c.id_number == "110101200103151236")
    assert CsvRoster(path, "c", "s").lookup(card).outcome == RosterOutcome.EXPECTED


def test_the_kiosk_rekeys_an_old_store_at_start(tmp_path: Path) -> None:
    """The runtime does the migration itself: a field booth's first start."""
    from headless_harness import write_config

    from kiosk.config import load_config
    from kiosk.runtime import KioskRuntime

    cfg = write_config(tmp_path)
    make_v1_booth(tmp_path / "data")  # the data_dir write_config names
    runtime = KioskRuntime(load_config(cfg).as_demo())
    try:
        assert not (tmp_path / "data" / "roster.key").exists()
        for card in demo_cards():
            assert runtime.roster.lookup(card).outcome == RosterOutcome.ALREADY_CAPTURED
    finally:
        runtime.stop()
