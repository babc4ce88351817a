"""PcscCardReader against a real pcscd + vpcd, with virtual cards from vicc.py."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

import pcsc_stack
from kiosk.config import IdReaderConfig, parse_config
from kiosk.domain import IdCard, RosterOutcome
from kiosk.hardware.backends import make_card_reader
from kiosk.hardware.id_reader import CardReadError, ReaderError
from kiosk.hardware.pcsc_reader import PcscCardReader, mask_uid
from kiosk.identity.roster import CsvRoster
from photo_wire.ids import student_ref
from vicc import GET_SERIAL, GET_UID, VirtualCard

pytestmark = pytest.mark.timeout(60)

ROOT = Path(__file__).resolve().parents[3]
UID = "04A2C3D4E5F601"
SERIAL = "1122334455667788"


def poll_until(reader: PcscCardReader, seconds: float = 5.0) -> IdCard | None:
    """Poll as the kiosk does (short polls) until a card or the time is up."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        card = reader.poll(0.2)
        if card is not None:
            return card
    return None


def quiet_for(reader: PcscCardReader, seconds: float) -> bool:
    """True when no card is reported for that long."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if reader.poll(0.2) is not None:
            return False
    return True


@pytest.fixture
def cards(pcscd: pcsc_stack.PcscDaemon) -> Iterator[Callable[..., VirtualCard]]:
    """Make virtual cards; all are lifted, and pcscd has seen the readers empty, after the test."""
    made: list[VirtualCard] = []

    def make(**kwargs: object) -> VirtualCard:
        card = VirtualCard(**kwargs)  # type: ignore[arg-type]
        made.append(card)
        return card

    yield make
    for card in made:
        card.remove()
    if pcsc_stack.list_readers():  # pcscd may have been left stopped by a failed test
        pcsc_stack.wait_card_state(False)
        pcsc_stack.wait_card_state(False, pcsc_stack.SECOND_READER)


def config(name: str = pcsc_stack.VIRTUAL_READER) -> IdReaderConfig:
    # Named, not the first reader: a developer's real reader may be listed first.
    return IdReaderConfig(backend="pcsc", pcsc_reader=name)


@pytest.fixture
def reader(pcscd: pcsc_stack.PcscDaemon) -> Iterator[PcscCardReader]:
    r = PcscCardReader(config())
    r.open()
    yield r
    r.close()


# ------------------------------------------------------------- no pcscd needed


def test_config_and_factory() -> None:
    c = parse_config({"id_reader": {"backend": "pcsc", "pcsc_reader": "ACR122U"}})
    assert c.id_reader.pcsc_reader == "ACR122U"
    assert isinstance(make_card_reader(c.id_reader), PcscCardReader)
    assert IdReaderConfig().pcsc_reader == ""


def test_without_pyscard_the_reader_is_just_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "smartcard", None)  # import smartcard now fails
    r = PcscCardReader(IdReaderConfig(backend="pcsc"))
    with pytest.raises(ReaderError, match="pyscard"):
        r.open()
    assert not r.is_available()
    r.close()


def test_uids_are_masked_in_logs() -> None:
    assert mask_uid(UID) == "…F601"
    assert mask_uid("ID-" + SERIAL) == "…7788"


def test_pcsc_errors_are_sorted_into_reader_and_card_errors(pyscard: ModuleType) -> None:
    """Reader unplug cannot be played with vpcd: check the mapping directly."""
    sc = pyscard
    r = PcscCardReader(config())
    r._sc = sc
    gone = sc.SCARD_STATE_UNKNOWN | sc.SCARD_STATE_CHANGED | sc.SCARD_STATE_IGNORE  # pcsc-lite: reader removed
    with pytest.raises(ReaderError, match="went away"):
        r._on_state(sc, gone)
    for code in (sc.SCARD_E_UNKNOWN_READER, sc.SCARD_E_READER_UNAVAILABLE, sc.SCARD_E_NO_SERVICE):
        with pytest.raises(ReaderError):
            r._fail(sc, code, "test")
    for code in (sc.SCARD_W_REMOVED_CARD, sc.SCARD_E_NO_SMARTCARD, sc.SCARD_E_NOT_TRANSACTED,
                 sc.SCARD_W_UNRESPONSIVE_CARD, sc.SCARD_E_SHARING_VIOLATION):
        with pytest.raises(CardReadError):
            r._fail(sc, code, "test")


# ------------------------------------------------------------- real pcscd


def test_card_is_read_once_with_its_uid(
    reader: PcscCardReader, cards: Callable[..., VirtualCard], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="kiosk")
    assert reader.is_available()
    assert reader.reader_name == pcsc_stack.VIRTUAL_READER
    card = cards(uid=UID)
    card.insert()
    got = poll_until(reader)
    assert got == IdCard(id_number="", name="", uid=UID)
    assert card.apdus == [GET_UID]
    assert quiet_for(reader, 1.2)  # stays on the reader: not read again
    assert card.apdus == [GET_UID]
    # Not even the tail (issue 24 item 10): a card was read, not whose.
    assert "PC/SC reader: read a card" in caplog.text and "F601" not in caplog.text


def test_card_is_read_again_after_lift_and_put_back(reader: PcscCardReader, cards: Callable[..., VirtualCard]) -> None:
    card = cards(uid=UID)
    card.insert()
    assert poll_until(reader) is not None
    card.remove()
    assert quiet_for(reader, 0.8)
    card.insert()
    assert poll_until(reader) == IdCard(id_number="", name="", uid=UID)


def test_lift_and_put_back_between_polls_is_noticed(reader: PcscCardReader, cards: Callable[..., VirtualCard]) -> None:
    """Nobody polling while the card goes and comes back: pcscd's event count tells."""
    card = cards(uid=UID)
    card.insert()
    assert poll_until(reader) is not None
    card.remove()
    pcsc_stack.wait_card_state(False)
    card.insert()
    pcsc_stack.wait_card_state(True)
    assert reader.poll(1.0) == IdCard(id_number="", name="", uid=UID)


def test_card_already_on_the_reader_at_open_is_read(pcscd: pcsc_stack.PcscDaemon, cards: Callable[..., VirtualCard]) -> None:
    card = cards(uid=UID)
    card.insert()
    pcsc_stack.wait_card_state(True)
    r = PcscCardReader(config())
    r.open()
    try:
        assert r.poll(2.0) == IdCard(id_number="", name="", uid=UID)
    finally:
        r.close()


def test_resident_id_card_gives_its_chip_serial(reader: PcscCardReader, cards: Callable[..., VirtualCard]) -> None:
    card = cards(uid=None, serial=SERIAL)  # GET UID answers 6A 81, 00 36 answers
    card.insert()
    assert poll_until(reader) == IdCard(id_number="", name="", uid="ID-" + SERIAL)
    assert card.apdus == [GET_UID, GET_SERIAL]


class _ExactLengthCard(VirtualCard):
    """Wants the UID's exact length in Le: FF CA 00 00 00 gets 6C 07, as some readers answer."""

    def answer(self, apdu: bytes) -> bytes:
        if apdu == GET_UID:
            return bytes([0x6C, len(self.uid or b"")])
        if apdu == GET_UID[:4] + bytes([len(self.uid or b"")]):
            return (self.uid or b"") + b"\x90\x00"
        return super().answer(apdu)


def test_uid_asked_again_with_the_length_the_reader_wants(reader: PcscCardReader, pcscd: pcsc_stack.PcscDaemon) -> None:
    with _ExactLengthCard(uid=UID) as card:
        assert poll_until(reader) == IdCard(id_number="", name="", uid=UID)
        assert card.apdus == [GET_UID, bytes.fromhex("FFCA000007")]
    pcsc_stack.wait_card_state(False)


def test_card_answering_neither_is_one_card_error_per_placement(
    reader: PcscCardReader, cards: Callable[..., VirtualCard]
) -> None:
    card = cards(uid=None, serial=None)
    card.insert()
    with pytest.raises(CardReadError, match="neither"):
        poll_until(reader)
    assert quiet_for(reader, 0.8)  # lying there: not reported again
    card.remove()
    pcsc_stack.wait_card_state(False)
    card.insert()
    with pytest.raises(CardReadError):
        poll_until(reader)


def test_card_pulled_away_mid_read(reader: PcscCardReader, cards: Callable[..., VirtualCard]) -> None:
    bad = cards(uid=UID, drop_on=GET_UID)  # vanishes instead of answering
    bad.insert()
    with pytest.raises(CardReadError):
        poll_until(reader)
    pcsc_stack.wait_card_state(False)
    good = cards(uid="0A0B0C0D")
    good.insert()
    assert poll_until(reader) == IdCard(id_number="", name="", uid="0A0B0C0D")


def test_removing_the_card_while_polling_is_harmless(reader: PcscCardReader, cards: Callable[..., VirtualCard]) -> None:
    """A worker thread polls as in the booth; cards come and go under it."""
    got: list[IdCard] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def worker() -> None:
        while not stop.is_set():
            try:
                card = reader.poll(0.2)
            except BaseException as err:  # noqa: BLE001 - the test wants to see anything
                errors.append(err)
                return
            if card is not None:
                got.append(card)

    t = threading.Thread(target=worker)
    t.start()
    try:
        first = cards(uid=UID)
        for _ in range(3):  # pcscd checks presence every 0.4 s: leave it time to see each change
            first.insert()
            time.sleep(0.8)
            first.remove()
            time.sleep(0.8)
        second = cards(uid="0A0B0C0D")
        second.insert()
        deadline = time.monotonic() + 5
        while len(got) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        t.join(timeout=5)
    assert errors == []
    assert [c.uid for c in got] == [UID, UID, UID, "0A0B0C0D"]


def test_close_from_another_thread_ends_a_long_poll(reader: PcscCardReader) -> None:
    result: list[object] = []
    t = threading.Thread(target=lambda: result.append(reader.poll(30)))
    t.start()
    time.sleep(0.3)
    start = time.monotonic()
    reader.close()
    t.join(timeout=5)
    assert not t.is_alive() and result == [None]
    assert time.monotonic() - start < 1.0
    with pytest.raises(ReaderError):
        reader.poll(0.1)


def test_reader_chosen_by_name(pcscd: pcsc_stack.PcscDaemon, cards: Callable[..., VirtualCard]) -> None:
    first = PcscCardReader(IdReaderConfig(backend="pcsc"))  # no name: the first one listed
    first.open()
    assert first.reader_name == (pcsc_stack.list_readers() or [""])[0]
    first.close()
    second = PcscCardReader(config("virtual pcd 00 01"))  # any case, any part of the name
    second.open()
    try:
        assert second.reader_name == pcsc_stack.SECOND_READER
        cards(uid=UID, port=35963).insert()  # on the first reader: not ours
        cards(uid="0A0B0C0D", port=35964).insert()
        assert poll_until(second) == IdCard(id_number="", name="", uid="0A0B0C0D")
        assert quiet_for(second, 0.6)
    finally:
        second.close()
    missing = PcscCardReader(config("ACR122U"))
    assert not missing.is_available()
    with pytest.raises(ReaderError, match="ACR122U.*Virtual PCD 00 00"):
        missing.open()


def test_pcscd_stopping_is_a_reader_error_and_reopen_recovers(
    pcscd: pcsc_stack.PcscDaemon, cards: Callable[..., VirtualCard]
) -> None:
    if not pcscd.owned:
        pytest.skip("pcscd was started outside the tests; not stopping someone else's daemon")
    reader = PcscCardReader(config())
    reader.open()
    outcome: list[object] = []

    def blocked_poll() -> None:
        try:
            outcome.append(reader.poll(10))
        except ReaderError as err:
            outcome.append(err)

    t = threading.Thread(target=blocked_poll)
    t.start()
    time.sleep(0.3)
    try:
        pcscd.stop()  # while the poll waits inside pcscd
        t.join(timeout=5)
        assert len(outcome) == 1 and isinstance(outcome[0], ReaderError)
        with pytest.raises(ReaderError):
            reader.poll(0.1)  # the context was dropped
        assert not reader.is_available()
        with pytest.raises(ReaderError, match="pcscd"):
            reader.open()
    finally:
        if not pcscd.owned:
            pcscd.start()
    assert reader.is_available()
    reader.open()
    try:
        cards(uid=UID).insert()
        assert poll_until(reader) == IdCard(id_number="", name="", uid=UID)
    finally:
        reader.close()


def test_poll_of_an_open_reader_after_pcscd_restart(
    pcscd: pcsc_stack.PcscDaemon, cards: Callable[..., VirtualCard]
) -> None:
    """pcscd restarted between two polls: the stale context is a ReaderError, not a hang."""
    if not pcscd.owned:
        pytest.skip("pcscd was started outside the tests; not stopping someone else's daemon")
    reader = PcscCardReader(config())
    reader.open()
    try:
        pcscd.stop()
        pcscd.start()
        with pytest.raises(ReaderError):
            reader.poll(1.0)
        reader.open()
        cards(uid=UID).insert()
        assert poll_until(reader) is not None
    finally:
        reader.close()
        if not pcscd.owned:
            pcscd.start()


def test_roster_maps_the_uid_to_a_student(
    tmp_path: Path, reader: PcscCardReader, cards: Callable[..., VirtualCard]
) -> None:
    csv = tmp_path / "roster.csv"
    csv.write_text(
        "id_number,name,programme,centre,session,card_uid\n"
        "110101200103151236,张三,计算机科学与技术,centre-a,morning,04:a2:c3:d4:e5:f6:01\n"
        ",李四,会计学,centre-a,morning,ID-1122334455667788\n",
        encoding="utf-8",
    )
    roster = CsvRoster(csv, "centre-a", "morning")
    campus = cards(uid=UID)
    campus.insert()
    got = poll_until(reader)
    assert got is not None
    match = roster.lookup(got)
    assert match.outcome == RosterOutcome.EXPECTED
    assert match.programme == "计算机科学与技术"
    assert match.student_ref == student_ref("110101200103151236")
    campus.remove()
    pcsc_stack.wait_card_state(False)

    resident = cards(uid=None, serial=SERIAL)
    resident.insert()
    got = poll_until(reader)
    assert got is not None and roster.lookup(got).programme == "会计学"
    resident.remove()
    pcsc_stack.wait_card_state(False)

    stranger = cards(uid="DEADBEEF")
    stranger.insert()
    got = poll_until(reader)
    assert got is not None and roster.lookup(got).outcome == RosterOutcome.NOT_EXPECTED


def test_read_card_command_prints_the_masked_uid(
    tmp_path: Path, pcscd: pcsc_stack.PcscDaemon, cards: Callable[..., VirtualCard]
) -> None:
    toml = tmp_path / "kiosk.toml"
    toml.write_text(f'[id_reader]\nbackend = "pcsc"\npcsc_reader = "{pcsc_stack.VIRTUAL_READER}"\n')
    cards(uid=UID).insert()
    pcsc_stack.wait_card_state(True)
    out = subprocess.run(
        [sys.executable, "-m", "kiosk.cli", "--config", str(toml), "read-card", "--timeout", "5"],
        cwd=ROOT, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "…F601" in out.stdout and UID not in out.stdout + out.stderr
