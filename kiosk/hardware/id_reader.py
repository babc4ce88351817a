"""ID card reader interface.

Backends: id_reader_sim.SimulatedCardReader, sam_reader.SamCardReader (the
certified SAM serial reader), pcsc_reader.PcscCardReader (a plain contactless
reader through pcscd: only a UID or chip serial, in IdCard.uid). A read
returns a kiosk.domain.IdCard; a card the student must fix raises
CardReadError; a reader that is gone raises ReaderError (the flow's failsafe).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from kiosk.domain import IdCard


class ReaderError(Exception):
    """The reader is unplugged or broken."""


class CardReadError(Exception):
    """A card was there but could not be read (the student can retry)."""


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

