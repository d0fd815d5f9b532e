"""The daily report summary: a year's report from some 300 rows a day

``report_days`` (the days whose summary is true), ``report_summaries`` (per day and
window, clerk or service: the counts) and ``report_durations`` (per day and kind: every
case's durations as sorted tenths of a second, key after key), with
triggers that drop a day's summary whenever its raw rows change (store/summaries.py);
and an index of the open case files by light, for today's red count.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# What makes a day's summary untrue, and so drops it (the day is then read raw):
#   a case inserted, changed or deleted (the day of its end, before and after);
#   a ticket inserted, deleted, or its issue time, day, service, recalls or transfers
#     changed (its day and every later day: its cases ended that day or, past midnight,
#     the next);
#   a window operation written or deleted in the audit log (the day it happened).
_WINDOW_OPS = "('window.open', 'window.pause', 'window.resume', 'window.close')"
_DROP_AT = "DELETE FROM report_days WHERE start_at <= {ts} AND end_at > {ts}"
_DROP_FROM = "DELETE FROM report_days WHERE day >= {day}"
_TICKET_COLUMNS = "issued_at, recalls, transfers, day, service_id"

SQLITE_TRIGGERS = {
    "report_days_case_ins": "AFTER INSERT ON cases WHEN NEW.ended_at IS NOT NULL BEGIN "
    + _DROP_AT.format(ts="NEW.ended_at")
    + "; END",
    "report_days_case_upd": "AFTER UPDATE ON cases BEGIN "
    + _DROP_AT.format(ts="OLD.ended_at")
    + "; "
    + _DROP_AT.format(ts="NEW.ended_at")
    + "; END",
    "report_days_case_del": "AFTER DELETE ON cases BEGIN "
    + _DROP_AT.format(ts="OLD.ended_at")
    + "; END",
    "report_days_ticket_ins": "AFTER INSERT ON tickets BEGIN "
    + _DROP_FROM.format(day="NEW.day")
    + "; END",
    "report_days_ticket_upd": f"AFTER UPDATE OF {_TICKET_COLUMNS} ON tickets BEGIN "
    + _DROP_FROM.format(day="min(OLD.day, NEW.day)")
    + "; END",
    "report_days_ticket_del": "AFTER DELETE ON tickets BEGIN "
    + _DROP_FROM.format(day="OLD.day")
    + "; END",
    "report_days_audit_ins": f"AFTER INSERT ON audit WHEN NEW.op IN {_WINDOW_OPS} BEGIN "
    + _DROP_AT.format(ts="NEW.at")
    + "; END",
    "report_days_audit_del": f"AFTER DELETE ON audit WHEN OLD.op IN {_WINDOW_OPS} BEGIN "
    + _DROP_AT.format(ts="OLD.at")
    + "; END",
}

PG_FUNCTIONS = {
    "report_days_case": f"""
        IF TG_OP <> 'INSERT' THEN {_DROP_AT.format(ts="OLD.ended_at")}; END IF;
        IF TG_OP <> 'DELETE' THEN {_DROP_AT.format(ts="NEW.ended_at")}; END IF;""",
    "report_days_ticket": f"""
        IF TG_OP = 'INSERT' THEN {_DROP_FROM.format(day="NEW.day")};
        ELSIF TG_OP = 'DELETE' THEN {_DROP_FROM.format(day="OLD.day")};
        ELSE {_DROP_FROM.format(day="LEAST(OLD.day, NEW.day)")}; END IF;""",
    "report_days_audit": f"""
        IF TG_OP = 'DELETE' THEN
            IF OLD.op IN {_WINDOW_OPS} THEN {_DROP_AT.format(ts="OLD.at")}; END IF;
        ELSIF NEW.op IN {_WINDOW_OPS} THEN {_DROP_AT.format(ts="NEW.at")}; END IF;""",
}
PG_TRIGGERS = {
    "report_days_case": "AFTER INSERT OR UPDATE OR DELETE ON cases",
    "report_days_ticket": f"AFTER INSERT OR UPDATE OF {_TICKET_COLUMNS} OR DELETE ON tickets",
    "report_days_audit": "AFTER INSERT OR DELETE ON audit",
}


def upgrade() -> None:
    op.create_table(
        "report_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("start_at", sa.DateTime(), nullable=False),
        sa.Column("end_at", sa.DateTime(), nullable=False),
        sa.Column("made_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("day"),
    )
    op.create_index("ix_report_days_start", "report_days", ["start_at"])
    op.create_table(
        "report_summaries",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("dim", sa.String(length=8), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        *(
            sa.Column(name, sa.Integer(), nullable=False)
            for name in (
                "cases",
                "served",
                "no_shows",
                "transfers",
                "recalls",
                "rated",
                "satisfied",
                "not_rated",
                "busy_ds",
            )
        ),
        sa.Column("open_ds", sa.Integer(), nullable=True),
        sa.Column("paused_ds", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("day", "dim", "key"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "report_durations",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("dim", sa.String(length=8), nullable=False),
        sa.Column("keys", sa.Text(), nullable=False),
        sa.Column("lengths", sa.LargeBinary(), nullable=False),
        sa.Column("waits", sa.LargeBinary(), nullable=False),
        sa.Column("walks", sa.LargeBinary(), nullable=False),
        sa.Column("services", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("day", "dim"),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "ix_casefiles_open_light",
        "casefiles",
        ["light"],
        sqlite_where=sa.text("finished_on IS NULL"),
        postgresql_where=sa.text("finished_on IS NULL"),
    )
    if op.get_bind().dialect.name == "postgresql":
        for name, body in PG_FUNCTIONS.items():
            op.execute(
                f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                f"BEGIN {body} RETURN NULL; END $$"
            )
            op.execute(
                f"CREATE TRIGGER {name} {PG_TRIGGERS[name]} FOR EACH ROW EXECUTE FUNCTION {name}()"
            )
    else:
        for name, body in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, on in PG_TRIGGERS.items():
            table = on.rsplit(" ", 1)[1]
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_index("ix_casefiles_open_light", table_name="casefiles")
    op.drop_table("report_durations")
    op.drop_table("report_summaries")
    op.drop_index("ix_report_days_start", table_name="report_days")
    op.drop_table("report_days")
