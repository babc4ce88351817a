"""Office logins counted in the database; session generations and disabled
accounts; the audit log hash-chained and closed to INSERT OR REPLACE.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05

login_counters replaces staff_users.failed_logins/locked_until (and the
per-address count kept in memory), so every attempt is reserved before its
password hash, across workers and restarts. Existing audit rows get their
chain here (audit.chain_hash), in id order; audit_head holds the last one.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from school_server.audit import GENESIS, chain_hash
from school_server.models import AuditEntry

revision: str = "0005"
down_revision: Union[str, Sequence[str], None] = "0004"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_REFUSE = "SELECT RAISE(ABORT, 'audit_log is append-only')"


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _set_triggers(on: bool) -> None:
    """The append-only triggers of 0002, and (SQLite) one refusing an INSERT
    over an existing id: INSERT OR REPLACE deletes without firing DELETE's."""
    if _postgres():
        op.execute("CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
                   "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()" if on else
                   "DROP TRIGGER audit_log_append_only ON audit_log")
        return
    for verb in ("UPDATE", "DELETE"):
        op.execute(f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                   f"BEGIN {_REFUSE}; END" if on else
                   f"DROP TRIGGER IF EXISTS audit_log_no_{verb.lower()}")


def _set_replace_trigger(on: bool) -> None:
    if _postgres():
        return  # no REPLACE; ON CONFLICT DO UPDATE fires the UPDATE trigger
    op.execute("CREATE TRIGGER audit_log_no_replace BEFORE INSERT ON audit_log WHEN EXISTS "
               f"(SELECT 1 FROM audit_log WHERE id = NEW.id) BEGIN {_REFUSE}; END" if on else
               "DROP TRIGGER IF EXISTS audit_log_no_replace")


def upgrade() -> None:
    op.create_table(
        "login_counters",
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_ends", sa.DateTime(), nullable=False),
        sa.Column("refusals", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_counters")),
    )
    op.create_index(op.f("ix_login_counters_window_ends"), "login_counters", ["window_ends"])
    op.add_column("staff_users", sa.Column("generation", sa.Integer(), server_default="0",
                                           nullable=False))
    op.add_column("staff_users", sa.Column("disabled_at", sa.DateTime(), nullable=True))
    # Plain ALTER TABLE DROP COLUMN (SQLite >= 3.35): a batch rebuild of
    # staff_users would trip the sessions' foreign key.
    op.drop_column("staff_users", "failed_logins")
    op.drop_column("staff_users", "locked_until")
    op.add_column("staff_sessions", sa.Column("generation", sa.Integer(), server_default="0",
                                              nullable=False))
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_id", sa.Integer(), nullable=False),
        sa.Column("chain", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    _set_triggers(False)
    op.add_column("audit_log", sa.Column("chain", sa.String(length=64), nullable=True))
    bind, table = op.get_bind(), AuditEntry.__table__
    last_id, chain = 0, GENESIS
    for row in bind.execute(sa.select(table).order_by(table.c.id)).all():
        last_id, chain = row.id, chain_hash(chain, row)
        bind.execute(table.update().where(table.c.id == row.id).values(chain=chain))
    with op.batch_alter_table("audit_log") as batch:
        batch.alter_column("chain", existing_type=sa.String(length=64), nullable=False)
    _set_triggers(True)
    _set_replace_trigger(True)
    op.execute(sa.text("INSERT INTO audit_head (id, last_id, chain) VALUES (1, :last, :chain)")
               .bindparams(last=last_id, chain=chain))


def downgrade() -> None:
    _set_replace_trigger(False)
    _set_triggers(False)
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("chain")
    _set_triggers(True)
    op.drop_table("audit_head")
    op.drop_column("staff_sessions", "generation")
    op.add_column("staff_users", sa.Column("locked_until", sa.DateTime(), nullable=True))
    op.add_column("staff_users", sa.Column("failed_logins", sa.Integer(), server_default="0",
                                           nullable=False))
    op.drop_column("staff_users", "disabled_at")
    op.drop_column("staff_users", "generation")
    op.drop_index(op.f("ix_login_counters_window_ends"), table_name="login_counters")
    op.drop_table("login_counters")
