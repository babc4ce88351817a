"""The student's status link (issue 22 item 2): each capture may carry the
sha256 of its status link token (the booth sends it; the token itself is
never stored), unique, so GET /status/<token> finds its capture by index.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07

Captures stored before this (and from older booths) have none: they have
no status page, and the office answers those students as before.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: Union[str, Sequence[str], None] = "0008"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("captures") as batch:
        batch.add_column(sa.Column("status_hash", sa.String(length=64), nullable=True))
        batch.create_index("ix_captures_status_hash", ["status_hash"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("captures") as batch:
        batch.drop_index("ix_captures_status_hash")
        batch.drop_column("status_hash")
