"""The simulated ID card reader, driven from real threads."""

from __future__ import annotations

import threading
import time
from datetime import date

import pytest

from kiosk.config import IdReaderConfig, SimulatedCard
from kiosk.hardware.backends import make_card_reader
from kiosk.hardware.id_reader import CardReadError, ReaderError
from kiosk.domain import IdCard
from kiosk.hardware.id_reader_sim import DEMO_CARDS, SimulatedCardReader
from photo_wire.idnumber import is_valid


@pytest.fixture
def reader() -> SimulatedCardReader:
    r = SimulatedCardReader(IdReaderConfig())
    r.open()
    return r


def poll_in_thread(reader: SimulatedCardReader, timeout: float) -> tuple[threading.Thread, dict]:
    out: dict = {}

    def run() -> None:
        start = time.monotonic()
        try:
            out["card"] = reader.poll(timeout)
        except Exception as err:  # handed back to the test thread
            out["error"] = err
        out["elapsed"] = time.monotonic() - start

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, out


# ---------------------------------------------------------------- demo set


def test_factory_builds_simulated_reader() -> None:
    assert isinstance(make_card_reader(IdReaderConfig()), SimulatedCardReader)


def test_demo_cards_are_used_when_config_has_none() -> None:
    labels = SimulatedCardReader(IdReaderConfig()).labels()
    assert labels == [c.label for c in DEMO_CARDS]
    assert {"zhangsan", "lisi", "sunqi", "zhouba-bad-check", "wujiu-expired",
            "zhengshi-unreadable"} <= set(labels)


def test_demo_cards_check_characters() -> None:
    numbered = [c for c in DEMO_CARDS if c.id_number]
    bad = [c.label for c in numbered if not is_valid(c.id_number)]
    assert bad == ["zhouba-bad-check"]
    assert len(numbered) >= 6


def test_demo_set_has_one_expired_and_one_unreadable() -> None:
    today = date.today()
    expired = [c.label for c in DEMO_CARDS if c.valid_until and c.valid_until < today]
    assert expired == ["wujiu-expired"]
    assert [c.label for c in DEMO_CARDS if c.fault == "unreadable"] == ["zhengshi-unreadable"]


def test_config_cards_replace_demo_set() -> None:
    cfg = IdReaderConfig(
        simulated_cards=[
            SimulatedCard(label="a", id_number="110101200103151236", name="张三"),
            SimulatedCard(label="b", uid="0011", name="李四"),
        ]
    )
    r = SimulatedCardReader(cfg)
    assert r.labels() == ["a", "b"]
    r.open()
    r.present("b")
    card = r.poll(0)
    assert card is not None and card.uid == "0011" and card.id_number == ""


def test_duplicate_labels_refused() -> None:
    cards = [SimulatedCard(label="x", name="甲"), SimulatedCard(label="x", name="乙")]
    with pytest.raises(ValueError, match="twice"):
        SimulatedCardReader(IdReaderConfig(simulated_cards=cards))


# --------------------------------------------------------- present and poll


def test_present_then_poll_reads_once(reader: SimulatedCardReader) -> None:
    reader.present("zhangsan")
    card = reader.poll(0)
    assert isinstance(card, IdCard)
    assert card.id_number == "110101200103151236"
    assert card.name == "张三"
    assert card.sex == "1"
    assert card.birth_date == date(2001, 3, 15)  # taken from the number
    # Still lying on the reader: not read again.
    assert reader.poll(0.05) is None
    reader.present("zhangsan")  # the same card, never lifted
    assert reader.poll(0) is None
    assert reader.card_on_reader == "zhangsan"


def test_lift_and_put_back_reads_again(reader: SimulatedCardReader) -> None:
    reader.present("lisi")
    assert reader.poll(0) is not None
    reader.lift()
    assert reader.card_on_reader is None
    assert reader.poll(0) is None
    reader.present("lisi")
    card = reader.poll(0)
    assert card is not None and card.name == "李四"


def test_lift_before_poll_loses_the_card(reader: SimulatedCardReader) -> None:
    reader.present("lisi")
    reader.lift()
    assert reader.poll(0) is None


def test_another_card_replaces_the_one_there(reader: SimulatedCardReader) -> None:
    reader.present("zhangsan")
    assert reader.poll(0).name == "张三"  # type: ignore[union-attr]
    reader.present("lisi")
    assert reader.poll(0).name == "李四"  # type: ignore[union-attr]


def test_unknown_label(reader: SimulatedCardReader) -> None:
    with pytest.raises(KeyError, match="nobody"):
        reader.present("nobody")


def test_poll_waits_for_timeout(reader: SimulatedCardReader) -> None:
    start = time.monotonic()
    assert reader.poll(0.2) is None
    assert time.monotonic() - start >= 0.19


def test_unreadable_card_raises_once(reader: SimulatedCardReader) -> None:
    reader.present("zhengshi-unreadable")
    with pytest.raises(CardReadError):
        reader.poll(0)
    assert reader.poll(0) is None  # the student has to lift it and try again
    reader.lift()
    reader.present("zhengshi-unreadable")
    with pytest.raises(CardReadError):
        reader.poll(0)


def test_read_card_repr_masks_number(reader: SimulatedCardReader) -> None:
    reader.present("zhangsan")
    card = reader.poll(0)
    assert "110101200103151236" not in repr(card)


# ---------------------------------------------------------- unplug and plug


def test_unplug_and_plug(reader: SimulatedCardReader) -> None:
    assert reader.is_available()
    reader.unplug()
    assert not reader.is_available()
    with pytest.raises(ReaderError):
        reader.poll(0)
    with pytest.raises(ReaderError):
        reader.open()
    reader.plug()
    assert reader.is_available()
    with pytest.raises(ReaderError, match="not open"):
        reader.poll(0)  # like a serial port: reopen after replugging
    reader.open()
    reader.present("lisi")
    assert reader.poll(0) is not None


def test_poll_before_open_fails() -> None:
    r = SimulatedCardReader(IdReaderConfig())
    with pytest.raises(ReaderError):
        r.poll(0)


def test_a_card_put_down_before_open_is_read_once_opened() -> None:
    # The demo keyboard can put a card down before the reader thread has opened the reader.
    r = SimulatedCardReader(IdReaderConfig())
    r.present("zhangsan")
    r.open()
    card = r.poll(0)
    assert card is not None and card.name == "张三"
    assert r.poll(0) is None  # still read once


# ------------------------------------------------------------------ threads


def test_waiting_poll_wakes_on_present(reader: SimulatedCardReader) -> None:
    t, out = poll_in_thread(reader, 5.0)
    time.sleep(0.1)
    assert t.is_alive()  # really waiting
    reader.present("wangwu")
    t.join(2.0)
    assert not t.is_alive()
    assert out["card"].name == "王五"
    assert out["elapsed"] < 1.0


def test_waiting_poll_wakes_on_unplug(reader: SimulatedCardReader) -> None:
    t, out = poll_in_thread(reader, 5.0)
    time.sleep(0.1)
    reader.unplug()
    t.join(2.0)
    assert isinstance(out.get("error"), ReaderError)
    assert out["elapsed"] < 1.0


def test_waiting_poll_returns_none_on_close(reader: SimulatedCardReader) -> None:
    t, out = poll_in_thread(reader, 5.0)
    time.sleep(0.1)
    reader.close()
    t.join(2.0)
    assert not t.is_alive()
    assert out == {"card": None, "elapsed": out["elapsed"]}
    assert out["elapsed"] < 1.0


def test_many_placements_from_another_thread_each_read_once(reader: SimulatedCardReader) -> None:
    seen: list[str] = []
    stop = threading.Event()

    def worker() -> None:
        while not stop.is_set():
            card = reader.poll(0.05)
            if card is not None:
                seen.append(card.name)

    t = threading.Thread(target=worker, daemon=True)
    t.start()
    for i in range(20):
        reader.present("zhangsan")
        assert _wait(lambda: len(seen) == i + 1)
        time.sleep(0.06)  # the card stays a while: a second read would show up here
        reader.lift()
    stop.set()
    t.join(2.0)
    assert seen == ["张三"] * 20


def _wait(predicate, timeout: float = 2.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.005)
    return False
