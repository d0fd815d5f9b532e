"""The waiting lines' change log: a server keeps its estimate's read of a line between events

``line_version`` (one row: how many changes the waiting lines have had) and
``line_changes`` (per change: its number, the ticket it touched, a random token), written
by triggers on ``tickets``. A server process keeps each group of queues' waiting tickets
in memory (store/lines.py) and, at its next estimate, re-reads only the tickets changed
since: reading 1,200 tickets of a long line was most of a ticket issue's cost.

The counter is one row so that changes are numbered in the order they commit (its row
lock is held to the end of the writing transaction; on PostgreSQL two writers never
hold numbers out of commit order, so a reader that has seen change N has seen every
change before it). The token tells a change apart from a rolled-back one that had the
same number. The log keeps the last ``KEEP`` changes; an older memory is read afresh.

And ``ix_tickets_issued``: the estimate's count of a group's tickets issued in the last
hour read every ticket of the day.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

KEEP = 20_000
"""Changes kept in the log (a busy day has about 3 per ticket: issue, call, end)."""
_COLUMNS = "status, queue, sort_at, priority, appointment_at, target_window, day"
"""What the estimate reads of a waiting ticket (store/lines.py)."""

_SQLITE_BODY = (
    "BEGIN UPDATE line_version SET version = version + 1; "
    "INSERT INTO line_changes (version, ticket_id, token) "
    "SELECT version, {row}.id, random() FROM line_version; "
    f"DELETE FROM line_changes WHERE version <= (SELECT version FROM line_version) - {KEEP}; "
    "END"
)
SQLITE_TRIGGERS = {
    "line_changes_ins": "AFTER INSERT ON tickets " + _SQLITE_BODY.format(row="NEW"),
    "line_changes_upd": f"AFTER UPDATE OF {_COLUMNS} ON tickets " + _SQLITE_BODY.format(row="NEW"),
    "line_changes_del": "AFTER DELETE ON tickets " + _SQLITE_BODY.format(row="OLD"),
}
PG_FUNCTION = f"""
    DECLARE v bigint;
    BEGIN
        UPDATE line_version SET version = version + 1 RETURNING version INTO v;
        INSERT INTO line_changes (version, ticket_id, token) VALUES (
            v,
            CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END,
            floor(random() * 9007199254740991)::bigint
        );
        DELETE FROM line_changes WHERE version <= v - {KEEP};
        RETURN NULL;
    END"""
PG_TRIGGER = f"AFTER INSERT OR UPDATE OF {_COLUMNS} OR DELETE ON tickets"


def upgrade() -> None:
    op.create_table(
        "line_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "line_changes",
        sa.Column("version", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("version"),
    )
    # The last hour's tickets per queue (the estimate's arrival rate, every issue):
    # counted from this index alone instead of every ticket of the day.
    op.create_index("ix_tickets_issued", "tickets", ["day", "queue", "issued_at", "priority"])
    # Change 0 is the base a fresh memory starts from.
    op.execute("INSERT INTO line_version (id, version) VALUES (1, 0)")
    op.execute("INSERT INTO line_changes (version, ticket_id, token) VALUES (0, 0, 0)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION line_changes_log() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ {PG_FUNCTION} $$"
        )
        op.execute(
            f"CREATE TRIGGER line_changes_log {PG_TRIGGER} "
            "FOR EACH ROW EXECUTE FUNCTION line_changes_log()"
        )
    else:
        for name, body in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS line_changes_log ON tickets")
        op.execute("DROP FUNCTION IF EXISTS line_changes_log()")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("line_changes")
    op.drop_table("line_version")
    op.drop_index("ix_tickets_issued", table_name="tickets")
