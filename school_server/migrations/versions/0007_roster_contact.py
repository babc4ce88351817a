"""Roster rows keep what a makeup shoot needs: the masked ID number (first 6
and last 4 characters, never the whole), the student number and a phone.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: Union[str, Sequence[str], None] = "0006"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

COLUMNS = (("id_masked", 18), ("student_no", 64), ("phone", 32))


def upgrade() -> None:
    with op.batch_alter_table("roster_rows") as batch:
        for name, size in COLUMNS:
            batch.add_column(sa.Column(name, sa.String(size), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("roster_rows") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
