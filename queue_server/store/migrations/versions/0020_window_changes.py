"""Window changes in the waiting lines' change log: a server keeps the window states too

Every estimate (each issue, call and finish) read the state of the windows serving the
queue's group, their current ticket joined: one statement that only a window operation,
a call or the end of a case changes. Triggers on ``windows`` now write those changes to
the log of migration 0019 (``line_changes``), under the window's number negated
(``ticket_id = -number``: ticket ids are positive, 0 is the log's base), so the memory
of store/lines.py keeps the window states with the waiting tickets and catches them up
from the same log, on SQLite and with several server processes on one PostgreSQL.

A window's state is its own columns (``status``, ``since``, ``ticket_id``) and its
current ticket's (``queue``, ``called_at``, ``status``); the ticket's side is already in
the log (status and queue are among its trigger's columns, and ``called_at`` only
changes with ``status``).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

KEEP = 20_000
"""Changes kept in the log: the same bound as the tickets' triggers (migration 0019)."""
_COLUMNS = "status, since, ticket_id"
"""What the estimate reads of a window (store/lines.py)."""

_SQLITE_BODY = (
    "BEGIN UPDATE line_version SET version = version + 1; "
    "INSERT INTO line_changes (version, ticket_id, token) "
    "SELECT version, -{row}.number, random() FROM line_version; "
    f"DELETE FROM line_changes WHERE version <= (SELECT version FROM line_version) - {KEEP}; "
    "END"
)
SQLITE_TRIGGERS = {
    "window_changes_ins": "AFTER INSERT ON windows " + _SQLITE_BODY.format(row="NEW"),
    "window_changes_upd": f"AFTER UPDATE OF {_COLUMNS} ON windows "
    + _SQLITE_BODY.format(row="NEW"),
    "window_changes_del": "AFTER DELETE ON windows " + _SQLITE_BODY.format(row="OLD"),
}
PG_FUNCTION = f"""
    DECLARE v bigint;
    BEGIN
        UPDATE line_version SET version = version + 1 RETURNING version INTO v;
        INSERT INTO line_changes (version, ticket_id, token) VALUES (
            v,
            -(CASE WHEN TG_OP = 'DELETE' THEN OLD.number ELSE NEW.number END),
            floor(random() * 9007199254740991)::bigint
        );
        DELETE FROM line_changes WHERE version <= v - {KEEP};
        RETURN NULL;
    END"""
PG_TRIGGER = f"AFTER INSERT OR UPDATE OF {_COLUMNS} OR DELETE ON windows"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION window_changes_log() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ {PG_FUNCTION} $$"
        )
        op.execute(
            f"CREATE TRIGGER window_changes_log {PG_TRIGGER} "
            "FOR EACH ROW EXECUTE FUNCTION window_changes_log()"
        )
    else:
        for name, body in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS window_changes_log ON windows")
        op.execute("DROP FUNCTION IF EXISTS window_changes_log()")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
