"""The working-day calendar and promised case files (their clock, steps and numbers)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendar_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("day"),
    )
    op.create_index("ix_calendar_days_year", "calendar_days", ["year"])
    op.create_table(
        "calendar_years",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("source", sa.String(length=256), nullable=False),
        sa.Column("loaded_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("year"),
    )
    op.create_table(
        "casefiles",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("number", sa.String(length=50), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("service_id", sa.String(length=64), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("window", sa.Integer(), nullable=True),
        sa.Column("clerk", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("suspended_from", sa.String(length=16), nullable=True),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("promised_days", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("early_before", sa.Date(), nullable=True),
        sa.Column("suspended_on", sa.Date(), nullable=True),
        sa.Column("suspended_days", sa.Integer(), nullable=False),
        sa.Column("suspensions", sa.Integer(), nullable=False),
        sa.Column("extended_days", sa.Integer(), nullable=False),
        sa.Column("light", sa.String(length=8), nullable=True),
        sa.Column("light_at", sa.DateTime(), nullable=True),
        sa.Column("ready_at", sa.DateTime(), nullable=True),
        sa.Column("finished_on", sa.Date(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
        sa.UniqueConstraint("ticket_id"),
    )
    op.create_index("ix_casefiles_state", "casefiles", ["state", "due_on"])
    op.create_index("ix_casefiles_department", "casefiles", ["department", "state"])
    op.create_index("ix_casefiles_opened", "casefiles", ["opened_on"])
    op.create_table(
        "casefile_steps",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("casefile_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("op", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["casefile_id"], ["casefiles.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_casefile_steps_file", "casefile_steps", ["casefile_id", "id"])
    op.create_table(
        "casefile_counters",
        sa.Column("key", sa.String(length=16), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("casefile_counters")
    op.drop_index("ix_casefile_steps_file", table_name="casefile_steps")
    op.drop_table("casefile_steps")
    op.drop_index("ix_casefiles_opened", table_name="casefiles")
    op.drop_index("ix_casefiles_department", table_name="casefiles")
    op.drop_index("ix_casefiles_state", table_name="casefiles")
    op.drop_table("casefiles")
    op.drop_table("calendar_years")
    op.drop_index("ix_calendar_days_year", table_name="calendar_days")
    op.drop_table("calendar_days")
