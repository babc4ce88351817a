"""A simulated ID card reader for the laptop demo and tests.

Cards come from ``id_reader.simulated_cards`` in the config, or DEMO_CARDS
when that list is empty. A script or the demo UI puts a card on the reader
with present(label) and takes it off with lift(); the kiosk's worker thread
calls poll(). Like a real SAM reader, a card lying on the reader is read
once: it must be lifted and put back to be read again. unplug()/plug()
play the USB reader going away and coming back (open() is needed again
afterwards, as with a real serial port).

All names and numbers below are fictional; the check characters are real
(GB 11643) so the flow's validation treats them like genuine cards.
"""

from __future__ import annotations

import logging
import threading
from datetime import date

from kiosk.config import IdReaderConfig, SimulatedCard
from kiosk.hardware.id_reader import CardReadError, ReaderError
from kiosk.domain import IdCard
from photo_wire.idnumber import birth_date

log = logging.getLogger(__name__)

# Fictional people with made-up numbers (valid check characters so the demo
# runs); no real person's number. Matches examples/roster-demo.csv (centre
# demo-centre, session demo-session).
DEMO_CARDS: tuple[SimulatedCard, ...] = (
    # Expected graduates (110101 Beijing Dongcheng, 310104 Shanghai Xuhui,
    # 440106 Guangzhou Tianhe).
    SimulatedCard(
        label="zhangsan", id_number="110101200103151236", name="张三", sex="1",
        valid_until=date(2031, 7, 1),
    ),
    SimulatedCard(
        label="lisi", id_number="310104200011022468", name="李四", sex="2",
        valid_until=date(2030, 9, 1),
    ),
    SimulatedCard(
        label="wangwu", id_number="440106199907211356", name="王五", sex="1",
        valid_until=date(2029, 3, 15),
    ),
    # Wang Wu's campus card: UID only, matched through the roster's card_uid.
    SimulatedCard(label="wangwu-campus", name="王五", uid="04A2C3D4E5F601"),
    # On the roster, but for another centre (510107 Chengdu Wuhou).
    SimulatedCard(
        label="zhaoliu", id_number="510107200004053588", name="赵六", sex="2",
        valid_until=date(2030, 4, 5),
    ),
    # Valid card, not on the roster (330106 Hangzhou Xihu).
    SimulatedCard(
        label="sunqi", id_number="330106200109182626", name="孙七", sex="2",
        valid_until=date(2031, 9, 18),
    ),
    # Wrong check character (should be 9): the flow refuses the number.
    SimulatedCard(
        label="zhouba-bad-check", id_number="420102199901123712", name="周八", sex="1",
        valid_until=date(2029, 1, 12),
    ),
    # On the roster but the card expired (320102 Nanjing Xuanwu).
    SimulatedCard(
        label="wujiu-expired", id_number="320102200008304842", name="吴九", sex="2",
        valid_until=date(2026, 6, 30),
    ),
    # On the roster, but the chip cannot be read (damaged card).
    SimulatedCard(
        label="zhengshi-unreadable", id_number="610113200112251590", name="郑十", sex="1",
        valid_until=date(2031, 12, 25), fault="unreadable",
    ),
)


def to_id_card(card: SimulatedCard) -> IdCard:
    born = card.birth_date or (birth_date(card.id_number) if card.id_number else None)
    return IdCard(
        id_number=card.id_number,
        name=card.name,
        sex=card.sex,
        birth_date=born,
        valid_until=card.valid_until,
        uid=card.uid,
    )


class SimulatedCardReader:
    """CardReader backend driven by present()/lift(); safe across threads."""

    def __init__(self, config: IdReaderConfig) -> None:
        cards = config.simulated_cards or list(DEMO_CARDS)
        self._cards: dict[str, SimulatedCard] = {}
        for card in cards:
            if card.label in self._cards:
                raise ValueError(f"simulated card label {card.label!r} appears twice")
            self._cards[card.label] = card
        # One condition guards all state below; poll() sleeps on it.
        self._cond = threading.Condition()
        self._plugged = True
        self._open = False
        self._on_reader: str | None = None  # label of the card lying there
        self._unread: str | None = None  # placed and not yet reported by poll()
        self._wakeups = 0  # bumped by close() to release a waiting poll()

    # ------------------------------------------------------- CardReader

    def open(self) -> None:
        with self._cond:
            if not self._plugged:
                raise ReaderError("simulated ID reader is unplugged")
            self._open = True

    def poll(self, timeout: float) -> IdCard | None:
        with self._cond:
            self._check_usable()
            wakeups = self._wakeups
            self._cond.wait_for(
                lambda: self._unread is not None
                or not self._plugged
                or self._wakeups != wakeups,
                timeout=max(0.0, timeout),
            )
            if self._wakeups != wakeups:
                return None  # closed while waiting: shutting down is not a fault
            self._check_usable()
            label, self._unread = self._unread, None  # read once per placement
        if label is None:
            return None
        card = self._cards[label]
        if card.fault == "unreadable":
            log.info("simulated reader: card %r could not be read", label)
            raise CardReadError(f"card {label!r} could not be read")
        log.info("simulated reader: read card %r", label)
        return to_id_card(card)

    def is_available(self) -> bool:
        with self._cond:
            return self._plugged

    def close(self) -> None:
        with self._cond:
            self._open = False
            self._wakeups += 1
            self._cond.notify_all()

    # ------------------------------------------------- demo and test controls

    def labels(self) -> list[str]:
        return list(self._cards)

    @property
    def card_on_reader(self) -> str | None:
        with self._cond:
            return self._on_reader

    def present(self, label: str) -> None:
        """Put a card on the reader (a different card replaces the one there)."""
        if label not in self._cards:
            raise KeyError(f"no simulated card {label!r}; known: {', '.join(self._cards)}")
        with self._cond:
            if self._on_reader == label:
                return  # still lying there: not a new placement
            self._on_reader = self._unread = label
            self._cond.notify_all()

    def lift(self) -> None:
        with self._cond:
            self._on_reader = self._unread = None

    def unplug(self) -> None:
        """The USB reader went away: open() and poll() fail until plug()."""
        with self._cond:
            self._plugged = False
            self._open = False
            self._cond.notify_all()

    def plug(self) -> None:
        with self._cond:
            self._plugged = True

    # ------------------------------------------------------------ helpers

    def _check_usable(self) -> None:
        if not self._plugged:
            raise ReaderError("simulated ID reader is unplugged")
        if not self._open:
            raise ReaderError("simulated ID reader is not open")
