"""The office's web pages: staff accounts and sessions, the audit log
(append-only, enforced by triggers), capture reviews, corrections; indexes
for the progress page.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: Union[str, Sequence[str], None] = "0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_PG_FUNCTION = """
CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only';
END;
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    op.create_table(
        "staff_users",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.CheckConstraint("role IN ('viewer', 'reviewer', 'admin')",
                           name=op.f("ck_staff_users_role")),
        sa.PrimaryKeyConstraint("username", name=op.f("pk_staff_users")),
    )
    op.create_table(
        "staff_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["username"], ["staff_users.username"],
                                name=op.f("fk_staff_sessions_username_staff_users")),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_staff_sessions")),
    )
    op.create_index(op.f("ix_staff_sessions_username"), "staff_sessions", ["username"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_table(
        "capture_reviews",
        sa.Column("capture_id", sa.String(length=64), nullable=False),
        sa.Column("centre", sa.String(length=100), nullable=False),
        sa.Column("session", sa.String(length=100), nullable=False),
        sa.Column("student_ref", sa.String(length=64), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("reviewer", sa.String(length=64), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("decision IN ('pending', 'approved', 'rejected')",
                           name=op.f("ck_capture_reviews_decision")),
        sa.ForeignKeyConstraint(["capture_id"], ["captures.capture_id"],
                                name=op.f("fk_capture_reviews_capture_id_captures")),
        sa.PrimaryKeyConstraint("capture_id", name=op.f("pk_capture_reviews")),
    )
    op.create_index("ix_capture_reviews_centre_session_decision", "capture_reviews",
                    ["centre", "session", "decision"])
    op.create_index("ix_capture_reviews_student_ref_decision", "capture_reviews",
                    ["student_ref", "decision"])
    op.create_index("ix_roster_rows_centre_session_student_ref", "roster_rows",
                    ["centre", "session", "student_ref"])
    op.create_table(
        "corrections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("capture_id", sa.String(length=64), nullable=False),
        sa.Column("field", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("field IN ('name', 'id_number')", name=op.f("ck_corrections_field")),
        sa.ForeignKeyConstraint(["capture_id"], ["captures.capture_id"],
                                name=op.f("fk_corrections_capture_id_captures")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_corrections")),
    )
    op.create_index(op.f("ix_corrections_capture_id"), "corrections", ["capture_id"])
    # Append-only in the database itself, not just in the code.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        op.execute("CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
                   "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()")
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                       "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION audit_log_append_only()")
    op.drop_index(op.f("ix_corrections_capture_id"), table_name="corrections")
    op.drop_table("corrections")
    op.drop_index("ix_roster_rows_centre_session_student_ref", table_name="roster_rows")
    op.drop_index("ix_capture_reviews_student_ref_decision", table_name="capture_reviews")
    op.drop_index("ix_capture_reviews_centre_session_decision", table_name="capture_reviews")
    op.drop_table("capture_reviews")
    op.drop_table("audit_log")
    op.drop_index(op.f("ix_staff_sessions_username"), table_name="staff_sessions")
    op.drop_table("staff_sessions")
    op.drop_table("staff_users")
