"""Enrolment codes made for one kiosk id: the only codes that may re-enrol a
kiosk that is enrolled and not revoked.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: Union[str, Sequence[str], None] = "0002"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("enrolment_codes") as batch:
        batch.add_column(sa.Column("for_kiosk", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("enrolment_codes") as batch:
        batch.drop_column("for_kiosk")
