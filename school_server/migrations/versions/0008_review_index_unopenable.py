"""The review grid and the search read capture_reviews alone (name, masked ID
number, the booth's verdict, a triage rank); captures the office cannot open
are marked once (captures.unopenable) and skipped; the audit log is indexed
for its filters, and the roster by student_ref (a student's history).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07

Reviews made before this have triage NULL: the office pages fill them in
(reviews.index_old) as they open new captures, a bounded batch a page load.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: Union[str, Sequence[str], None] = "0007"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_REVIEW_COLUMNS = (
    sa.Column("received_at", sa.DateTime(), nullable=True),
    sa.Column("name", sa.String(length=200), server_default="", nullable=False),
    sa.Column("id_masked", sa.String(length=24), server_default="", nullable=False),
    sa.Column("makeup", sa.Boolean(), server_default="0", nullable=False),
    sa.Column("name_disputed", sa.Boolean(), server_default="0", nullable=False),
    sa.Column("passed", sa.Boolean(), nullable=True),
    sa.Column("problems", sa.String(length=400), server_default="", nullable=False),
    sa.Column("measures", sa.String(length=400), server_default="", nullable=False),
    sa.Column("triage", sa.Integer(), nullable=True),
)
_REVIEW_INDEXES = {
    "ix_capture_reviews_decision_triage_received_at": ["decision", "triage", "received_at"],
    "ix_capture_reviews_name": ["name"],
    "ix_capture_reviews_id_masked": ["id_masked"],
}
_AUDIT_INDEXES = ("at", "username", "action", "target")


def upgrade() -> None:
    with op.batch_alter_table("captures") as batch:
        batch.add_column(sa.Column("unopenable", sa.String(length=200), nullable=True))
        batch.create_index("ix_captures_unopenable", ["unopenable"])
    with op.batch_alter_table("capture_reviews") as batch:
        for column in _REVIEW_COLUMNS:
            batch.add_column(column.copy())
        for name, columns in _REVIEW_INDEXES.items():
            batch.create_index(name, columns)
    # Plain indexes (no batch: the audit log's triggers must stay as they are).
    for column in _AUDIT_INDEXES:
        op.create_index(f"ix_audit_log_{column}", "audit_log", [column])
    op.create_index("ix_roster_rows_student_ref", "roster_rows", ["student_ref"])


def downgrade() -> None:
    op.drop_index("ix_roster_rows_student_ref", "roster_rows")
    for column in _AUDIT_INDEXES:
        op.drop_index(f"ix_audit_log_{column}", "audit_log")
    with op.batch_alter_table("capture_reviews") as batch:
        for name in _REVIEW_INDEXES:
            batch.drop_index(name)
        for column in _REVIEW_COLUMNS:
            batch.drop_column(column.name)
    with op.batch_alter_table("captures") as batch:
        batch.drop_index("ix_captures_unopenable")
        batch.drop_column("unopenable")
