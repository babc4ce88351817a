"""The server's tables (SQLAlchemy 2). The schema itself is made by the Alembic
migrations in school_server/migrations; tests check the two agree.

Times are stored as naive UTC (UtcDateTime) so SQLite and PostgreSQL hold the
same thing and a receipt's received_at reads back identically.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (CheckConstraint, DateTime, ForeignKey, Index, Integer, MetaData, String,
                        Text, TypeDecorator, UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from photo_wire.ids import name_key  # noqa: F401  (the one normalisation of names)

# Fixed constraint names, so migrations are the same on every database.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

CAPTURE_STATUSES = ("received",)

# Sizes (in characters) of the columns that hold values from outside: kiosks'
# requests (school_server/schemas.py) and staff's CSV files and options (the
# CLI). PostgreSQL refuses a longer value where SQLite keeps it, so both check
# values against these before writing (see schemas.text_problem).
CENTRE_CHARS = 100  # name_key(centre): Centre.centre and every centre column
SESSION_CHARS = 100  # name_key(session)
STUDENT_REF_CHARS = 64
PERSON_NAME_CHARS = 200
PROGRAMME_CHARS = 200
HEARTBEAT_STATUS_CHARS = 32
KIOSK_VERSION_CHARS = 64


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC in Python, naive UTC in the database."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        return None if value is None else value.replace(tzinfo=timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Centre(Base):
    """A learning centre; its key is the centre name, stripped and casefolded
    (as the kiosk compares it)."""

    __tablename__ = "centres"

    centre: Mapped[str] = mapped_column(String(CENTRE_CHARS), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Kiosk(Base):
    __tablename__ = "kiosks"

    kiosk_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    centre: Mapped[str] = mapped_column(ForeignKey("centres.centre"), index=True)
    # sha256 hex of the bearer token; the token itself is never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    enrolled_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_heartbeat_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class EnrolmentCode(Base):
    """A one-time code staff type into a new kiosk; stored as its sha256."""

    __tablename__ = "enrolment_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    centre: Mapped[str] = mapped_column(ForeignKey("centres.centre"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    used_by: Mapped[str | None] = mapped_column(String(64))


class Capture(Base):
    """One sealed capture. The server cannot read it; only export (with the
    private key) can. Idempotency lives in the primary key."""

    __tablename__ = "captures"
    __table_args__ = (
        CheckConstraint(f"status IN ({', '.join(repr(s) for s in CAPTURE_STATUSES)})",
                        name="status"),
        Index("ix_captures_centre_session", "centre", "session"),  # for progress
    )

    capture_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kiosk_id: Mapped[str] = mapped_column(ForeignKey("kiosks.kiosk_id"), index=True)
    centre: Mapped[str] = mapped_column(ForeignKey("centres.centre"))
    session: Mapped[str] = mapped_column(String(SESSION_CHARS))
    digest: Mapped[str] = mapped_column(String(64))  # sha256 hex of the sealed bytes
    size: Mapped[int] = mapped_column(Integer)
    object_key: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)  # the kiosk's clock
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(20), default="received")


class RosterRow(Base):
    """One expected graduate. No plain ID number: student_ref is photo_wire's
    scrypt of it (or the CSV's own student_ref)."""

    __tablename__ = "roster_rows"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    centre: Mapped[str] = mapped_column(ForeignKey("centres.centre"), index=True)
    session: Mapped[str] = mapped_column(String(SESSION_CHARS))
    student_ref: Mapped[str] = mapped_column(String(STUDENT_REF_CHARS))
    uid_hash: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(PERSON_NAME_CHARS))
    programme: Mapped[str] = mapped_column(String(PROGRAMME_CHARS))


class ScheduleEntry(Base):
    __tablename__ = "schedule"
    __table_args__ = (UniqueConstraint("centre", "session"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    centre: Mapped[str] = mapped_column(ForeignKey("centres.centre"))
    session: Mapped[str] = mapped_column(String(SESSION_CHARS))
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Heartbeat(Base):
    """The latest heartbeat of each kiosk (one row per kiosk, overwritten)."""

    __tablename__ = "heartbeats"

    kiosk_id: Mapped[str] = mapped_column(ForeignKey("kiosks.kiosk_id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(HEARTBEAT_STATUS_CHARS))
    queue_depth: Mapped[int] = mapped_column(Integer)
    free_mb: Mapped[int] = mapped_column(Integer)
    version: Mapped[str] = mapped_column(String(KIOSK_VERSION_CHARS))
    last_error: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UtcDateTime)

