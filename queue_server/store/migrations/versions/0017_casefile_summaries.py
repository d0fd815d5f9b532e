"""The case-file figures of closed months: summarized once, dropped when they change

``casefile_months`` (the months of acceptance whose summary is true) and
``casefile_summaries`` (per month and department, window, clerk or service: the counts
of the month's finished case files), with triggers that drop a month's summary whenever
one of its finished files is written, changed or deleted (store/casefile_summaries.py);
and an index of the open case files by day of acceptance, which are always read raw.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

COUNTS = (
    "accepted",
    "finished",
    "on_time",
    "early",
    "late",
    "suspended",
    "extended",
    "refused",
    "unknown",
)

# What makes a month's summary untrue, and so drops it (the month is then read raw): a
# finished case file inserted or deleted, or one finished before or after an update of
# anything its figures or groupings are made of (the month of its acceptance, before
# and after). An open file's changes (its light, day after day) touch no summary.
_COLUMNS = (
    "opened_on, finished_on, due_on, early_before, suspensions, extended_days, state, "
    'department, "window", clerk, service_id'
)
_SQLITE_MONTH = "date({row}.opened_on, 'start of month')"
_PG_MONTH = "date_trunc('month', {row}.opened_on)::date"
_DROP = "DELETE FROM casefile_months WHERE month = {month}"


def _sqlite_drop(row: str) -> str:
    return _DROP.format(month=_SQLITE_MONTH.format(row=row))


def _pg_drop(row: str) -> str:
    return _DROP.format(month=_PG_MONTH.format(row=row))


SQLITE_TRIGGERS = {
    "casefile_months_ins": "AFTER INSERT ON casefiles WHEN NEW.finished_on IS NOT NULL "
    f"BEGIN {_sqlite_drop('NEW')}; END",
    "casefile_months_upd": f"AFTER UPDATE OF {_COLUMNS} ON casefiles BEGIN "
    f"{_sqlite_drop('OLD')} AND OLD.finished_on IS NOT NULL; "
    f"{_sqlite_drop('NEW')} AND NEW.finished_on IS NOT NULL; END",
    "casefile_months_del": "AFTER DELETE ON casefiles WHEN OLD.finished_on IS NOT NULL "
    f"BEGIN {_sqlite_drop('OLD')}; END",
}

PG_FUNCTION = (
    "casefile_months_drop",
    f"""
        IF TG_OP <> 'INSERT' AND OLD.finished_on IS NOT NULL THEN {_pg_drop("OLD")}; END IF;
        IF TG_OP <> 'DELETE' AND NEW.finished_on IS NOT NULL THEN {_pg_drop("NEW")}; END IF;""",
)
PG_TRIGGER = f"AFTER INSERT OR UPDATE OF {_COLUMNS} OR DELETE ON casefiles"


def upgrade() -> None:
    op.create_table(
        "casefile_months",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("made_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("month"),
    )
    op.create_table(
        "casefile_summaries",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("dim", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=True),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS),
    )
    op.create_index("ix_casefile_summaries_month", "casefile_summaries", ["month"])
    op.create_index(
        "ix_casefiles_open_opened",
        "casefiles",
        ["opened_on"],
        sqlite_where=sa.text("finished_on IS NULL"),
        postgresql_where=sa.text("finished_on IS NULL"),
    )
    if op.get_bind().dialect.name == "postgresql":
        name, body = PG_FUNCTION
        op.execute(
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN {body} RETURN NULL; END $$"
        )
        op.execute(f"CREATE TRIGGER {name} {PG_TRIGGER} FOR EACH ROW EXECUTE FUNCTION {name}()")
    else:
        for name, body in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        name = PG_FUNCTION[0]
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON casefiles")
        op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_index("ix_casefiles_open_opened", table_name="casefiles")
    op.drop_index("ix_casefile_summaries_month", table_name="casefile_summaries")
    op.drop_table("casefile_summaries")
    op.drop_table("casefile_months")
