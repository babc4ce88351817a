"""Initial schema: centres, kiosks, enrolment codes, captures, roster, schedule,
heartbeats.

Revision ID: 0001
Revises:
Create Date: 2026-11-22

Written from `alembic revision --autogenerate` and tidied by hand: the
UtcDateTime columns are plain DateTime here (naive UTC; see models.py).
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "centres",
        sa.Column("centre", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("centre", name=op.f("pk_centres")),
    )
    op.create_table(
        "enrolment_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("centre", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.Column("used_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["centre"], ["centres.centre"],
                                name=op.f("fk_enrolment_codes_centre_centres")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrolment_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_enrolment_codes_code_hash")),
    )
    op.create_table(
        "kiosks",
        sa.Column("kiosk_id", sa.String(length=64), nullable=False),
        sa.Column("centre", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("enrolled_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("last_heartbeat_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["centre"], ["centres.centre"],
                                name=op.f("fk_kiosks_centre_centres")),
        sa.PrimaryKeyConstraint("kiosk_id", name=op.f("pk_kiosks")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_kiosks_token_hash")),
    )
    op.create_index(op.f("ix_kiosks_centre"), "kiosks", ["centre"], unique=False)
    op.create_table(
        "roster_rows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("centre", sa.String(length=100), nullable=False),
        sa.Column("session", sa.String(length=100), nullable=False),
        sa.Column("student_ref", sa.String(length=64), nullable=False),
        sa.Column("uid_hash", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("programme", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["centre"], ["centres.centre"],
                                name=op.f("fk_roster_rows_centre_centres")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roster_rows")),
    )
    op.create_index(op.f("ix_roster_rows_centre"), "roster_rows", ["centre"], unique=False)
    op.create_table(
        "schedule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("centre", sa.String(length=100), nullable=False),
        sa.Column("session", sa.String(length=100), nullable=False),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("ends_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["centre"], ["centres.centre"],
                                name=op.f("fk_schedule_centre_centres")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule")),
        sa.UniqueConstraint("centre", "session", name=op.f("uq_schedule_centre_session")),
    )
    op.create_table(
        "captures",
        sa.Column("capture_id", sa.String(length=64), nullable=False),
        sa.Column("kiosk_id", sa.String(length=64), nullable=False),
        sa.Column("centre", sa.String(length=100), nullable=False),
        sa.Column("session", sa.String(length=100), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("object_key", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.CheckConstraint("status IN ('received')", name=op.f("ck_captures_status")),
        sa.ForeignKeyConstraint(["centre"], ["centres.centre"],
                                name=op.f("fk_captures_centre_centres")),
        sa.ForeignKeyConstraint(["kiosk_id"], ["kiosks.kiosk_id"],
                                name=op.f("fk_captures_kiosk_id_kiosks")),
        sa.PrimaryKeyConstraint("capture_id", name=op.f("pk_captures")),
    )
    op.create_index(op.f("ix_captures_kiosk_id"), "captures", ["kiosk_id"], unique=False)
    op.create_index("ix_captures_centre_session", "captures", ["centre", "session"],
                    unique=False)
    op.create_table(
        "heartbeats",
        sa.Column("kiosk_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("queue_depth", sa.Integer(), nullable=False),
        sa.Column("free_mb", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["kiosk_id"], ["kiosks.kiosk_id"],
                                name=op.f("fk_heartbeats_kiosk_id_kiosks")),
        sa.PrimaryKeyConstraint("kiosk_id", name=op.f("pk_heartbeats")),
    )


def downgrade() -> None:
    op.drop_table("heartbeats")
    op.drop_index("ix_captures_centre_session", table_name="captures")
    op.drop_index(op.f("ix_captures_kiosk_id"), table_name="captures")
    op.drop_table("captures")
    op.drop_table("schedule")
    op.drop_index(op.f("ix_roster_rows_centre"), table_name="roster_rows")
    op.drop_table("roster_rows")
    op.drop_index(op.f("ix_kiosks_centre"), table_name="kiosks")
    op.drop_table("kiosks")
    op.drop_table("enrolment_codes")
    op.drop_table("centres")
