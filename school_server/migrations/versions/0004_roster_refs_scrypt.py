"""Roster refs move from HMAC (roster.key) to photo_wire's keyless scrypt.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04

The old refs cannot be converted (the server never kept the ID numbers), and
booths no longer match them: the rows are dropped, so the booths keep their
own roster file until staff import the roster CSV again
(`photo-server import-roster`). An empty roster is never pushed to a booth.
"""
from typing import Sequence, Union

from alembic import op

revision: str = "0004"
down_revision: Union[str, Sequence[str], None] = "0003"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.execute("DELETE FROM roster_rows")


def downgrade() -> None:
    op.execute("DELETE FROM roster_rows")
