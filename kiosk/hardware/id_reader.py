"""ID card reader interface.

Backends: id_reader_sim.SimulatedCardReader, sam_reader.SamCardReader (the
certified SAM serial reader), pcsc_reader.PcscCardReader (a plain contactless
reader through pcscd: only a UID or chip serial, in IdCard.uid). A read
returns an IdCard; a card the student must fix raises CardReadError; a reader
that is gone raises ReaderError (the flow's failsafe).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol


class ReaderError(Exception):
    """The reader is unplugged or broken."""


class CardReadError(Exception):
    """A card was there but could not be read (the student can retry)."""


@dataclass(frozen=True)
class IdCard:
    """The text fields of a resident ID card (no photo: we never keep it)."""

    id_number: str
    name: str
    sex: str = "0"  # 1 male, 2 female, 0 unknown, 9 unspecified
    ethnicity: str = ""
    birth_date: date | None = None
    address: str = ""
    issuer: str = ""
    valid_from: date | None = None
    valid_until: date | None = None  # None: long-term card (长期)
    uid: str | None = None  # chip serial or campus-card UID from PC/SC

    def __repr__(self) -> str:  # never let a full ID number reach a log
        from photo_wire.idnumber import mask_id

        return f"IdCard(id_number={mask_id(self.id_number)!r}, name=<{len(self.name)} chars>)"

    __str__ = __repr__


class CardReader(Protocol):
    def open(self) -> None:
        """Open the device. Raises ReaderError."""

    def poll(self, timeout: float) -> IdCard | None:
        """Wait up to timeout seconds for a newly placed card.

        Returns None when no new card came. A card stays on the reader
        between reads: it is reported once, until lifted and put back.
        Raises CardReadError or ReaderError.
        """

    def is_available(self) -> bool: ...

    def close(self) -> None: ...

