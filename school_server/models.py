"""The server's tables (SQLAlchemy 2). The schema itself is made by the Alembic
migrations in school_server/migrations; tests check the two agree.

Times are stored as naive UTC (UtcDateTime) so SQLite and PostgreSQL hold the
same thing and a receipt's received_at reads back identically.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (Boolean, CheckConstraint, DateTime, ForeignKey, Index, Integer, MetaData,
                        String, Text, TypeDecorator, UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from photo_wire.ids import name_key  # noqa: F401  (the one normalisation of names)
# What a booth sends: the wire contract's sizes (SESSION_CHARS and the heartbeat's).
from photo_wire.requests import HEARTBEAT_STATUS_CHARS, KIOSK_VERSION_CHARS, SESSION_CHARS  # noqa: F401

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
STUDENT_REF_CHARS = 64
PERSON_NAME_CHARS = 200
PROGRAMME_CHARS = 200
STUDENT_NO_CHARS = 64
PHONE_CHARS = 32
ID_MASKED_CHARS = 18  # photo_wire.idnumber.mask_id's form: never the whole number


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
    # The token's last use (any API call), at most once a minute per address:
    # a stolen token used from elsewhere shows on the office's booths page.
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_address: Mapped[str | None] = mapped_column(String(64))


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
    # Set: the code enrols only this kiosk id, and may re-enrol it while it
    # is active (a reimaged booth). Unset: any new or revoked kiosk id.
    for_kiosk: Mapped[str | None] = mapped_column(String(64))


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
    # Set once when the office could not open it (reviews.identify_new): it is
    # skipped from then on, listed for the admin, until the admin retries.
    unopenable: Mapped[str | None] = mapped_column(String(200), index=True)
    # sha256 hex of the student's status link token (photo_wire/status_link.py),
    # as the booth sent it; never the token. None: no status page.
    status_hash: Mapped[str | None] = mapped_column(String(64), index=True, unique=True)


class RosterRow(Base):
    """One expected graduate. No plain ID number: student_ref is photo_wire's
    scrypt of it (or the CSV's own student_ref)."""

    __tablename__ = "roster_rows"
    # Progress counts a centre's and session's students from this index alone.
    __table_args__ = (Index("ix_roster_rows_centre_session_student_ref", "centre", "session",
                            "student_ref"),
                      Index("ix_roster_rows_student_ref", "student_ref"))  # a student's rows

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    centre: Mapped[str] = mapped_column(ForeignKey("centres.centre"), index=True)
    session: Mapped[str] = mapped_column(String(SESSION_CHARS))
    student_ref: Mapped[str] = mapped_column(String(STUDENT_REF_CHARS))
    uid_hash: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(PERSON_NAME_CHARS))
    programme: Mapped[str] = mapped_column(String(PROGRAMME_CHARS))
    # For the office's missing list (a makeup shoot calls them); never sent to booths.
    id_masked: Mapped[str | None] = mapped_column(String(ID_MASKED_CHARS))
    student_no: Mapped[str | None] = mapped_column(String(STUDENT_NO_CHARS))
    phone: Mapped[str | None] = mapped_column(String(PHONE_CHARS))


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


# ---------------------------------------------------------------- the office's web pages

STAFF_ROLES = ("viewer", "reviewer", "admin")  # each may do what the ones before it may
REVIEW_DECISIONS = ("pending", "approved", "rejected")
CORRECTABLE_FIELDS = ("name", "id_number")
USERNAME_CHARS = 64


class StaffUser(Base):
    """An office account (`photo-server add-user`); the password as an argon2 hash."""

    __tablename__ = "staff_users"
    __table_args__ = (
        CheckConstraint(f"role IN ({', '.join(repr(r) for r in STAFF_ROLES)})", name="role"),
    )

    username: Mapped[str] = mapped_column(String(USERNAME_CHARS), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # Sessions made under another generation are void: a new password or
    # disabling the account bumps it (accounts.py), ending every session.
    generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class StaffSession(Base):
    """A logged-in browser: the cookie's sha256 (never the cookie) and its CSRF token."""

    __tablename__ = "staff_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(ForeignKey("staff_users.username"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class LoginCounter(Base):
    """Failed office logins in the current window, per account name (known
    or not) and per client address: login_throttle.py reserves each attempt
    here, in one conditional UPDATE, before the password is hashed."""

    __tablename__ = "login_counters"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)  # "account:NAME", "address:IP"
    failures: Mapped[int] = mapped_column(Integer)
    window_ends: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    refusals: Mapped[int] = mapped_column(Integer, default=0)  # refused without a hash


class AuditEntry(Base):
    """Who did what when. Append-only: the code only inserts, and triggers
    (the 0002 and 0005 migrations) refuse UPDATE, DELETE and an INSERT over
    an existing id in the database. Each row's chain is the sha256 of the
    previous row's chain and its own fields (audit.py), so a row changed or
    removed on a copy of the database shows (`photo-server verify-audit`)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # given by AuditHead
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    # No foreign key: the entry outlives the account.
    username: Mapped[str] = mapped_column(String(USERNAME_CHARS), index=True)
    action: Mapped[str] = mapped_column(String(32), index=True)
    target: Mapped[str] = mapped_column(String(200), index=True)
    detail: Mapped[str] = mapped_column(Text, default="")
    chain: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The audit chain's last id and hash (one row, id 1). Updated first when
    a row is added, so concurrent writers take turns on it."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_id: Mapped[int] = mapped_column(Integer)
    chain: Mapped[str] = mapped_column(String(64))


class CaptureReview(Base):
    """Whose a capture is (learnt by opening it with the private key, in
    memory) and the office's decision on it."""

    __tablename__ = "capture_reviews"
    __table_args__ = (
        CheckConstraint(f"decision IN ({', '.join(repr(d) for d in REVIEW_DECISIONS)})",
                        name="decision"),
        # Progress: decisions per centre and session; missing: a student's captures.
        Index("ix_capture_reviews_centre_session_decision", "centre", "session", "decision"),
        Index("ix_capture_reviews_student_ref_decision", "student_ref", "decision"),
        # The review grid: flagged first, then oldest received.
        Index("ix_capture_reviews_decision_triage_received_at", "decision", "triage",
              "received_at"),
        Index("ix_capture_reviews_name", "name"),
        Index("ix_capture_reviews_id_masked", "id_masked"),
    )

    capture_id: Mapped[str] = mapped_column(ForeignKey("captures.capture_id"), primary_key=True)
    # The capture's own centre and session, copied (they never change) so the
    # progress counts read this table's index alone.
    centre: Mapped[str] = mapped_column(String(CENTRE_CHARS))
    session: Mapped[str] = mapped_column(String(SESSION_CHARS))
    student_ref: Mapped[str] = mapped_column(String(STUDENT_REF_CHARS))
    decision: Mapped[str] = mapped_column(String(16), default="pending")
    reason: Mapped[str | None] = mapped_column(String(64))
    reviewer: Mapped[str | None] = mapped_column(String(USERNAME_CHARS))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # What the grid and the search show without opening the capture again
    # (copied when it is first opened; reviews.index_fields). The name is in
    # clear as in the roster; the ID number only masked (first 6 + last 4).
    received_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    name: Mapped[str] = mapped_column(String(PERSON_NAME_CHARS), default="", server_default="")
    id_masked: Mapped[str] = mapped_column(String(24), default="", server_default="")
    makeup: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # The student pressed 信息有误 at the booth: the name wants checking (勘误).
    name_disputed: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    passed: Mapped[bool | None] = mapped_column(Boolean)
    problems: Mapped[str] = mapped_column(String(400), default="", server_default="")
    measures: Mapped[str] = mapped_column(String(400), default="", server_default="")
    # 0 the booth failed it, 1 borderline, 2 passed well; None: not indexed yet.
    triage: Mapped[int | None] = mapped_column(Integer)


class Correction(Base):
    """勘误: an admin's fix of a name or ID number against a capture (the
    sealed capture keeps what the booth read; the latest correction wins in
    the hand-over export; the audit log keeps the old value)."""

    __tablename__ = "corrections"
    __table_args__ = (
        CheckConstraint(f"field IN ({', '.join(repr(f) for f in CORRECTABLE_FIELDS)})",
                        name="field"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    capture_id: Mapped[str] = mapped_column(ForeignKey("captures.capture_id"), index=True)
    field: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(PERSON_NAME_CHARS))
    reason: Mapped[str] = mapped_column(String(200))
    username: Mapped[str] = mapped_column(String(USERNAME_CHARS))
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
