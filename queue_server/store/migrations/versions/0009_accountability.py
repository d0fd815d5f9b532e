"""Talk reminders and accountability records

Assessment runs (one per period), talk reminders (谈话提醒) and accountability records
(问责) of issue 11 (core/accountability.py, store/accountability.py).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assessments",
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=False),
        sa.Column("run_at", sa.DateTime(), nullable=False),
        sa.Column("by", sa.String(length=64), nullable=False),
        sa.Column("reminders", sa.Integer(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("kind", "start"),
    )
    op.create_table(
        "talk_reminders",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subject_kind", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=True),
        sa.Column("period_kind", sa.String(length=8), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("rated", sa.Integer(), nullable=False),
        sa.Column("satisfied", sa.Integer(), nullable=False),
        sa.Column("not_rated", sa.Integer(), nullable=False),
        sa.Column("threshold", sa.String(length=8), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("done_at", sa.DateTime(), nullable=True),
        sa.Column("done_by", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "subject_kind", "subject", "period_kind", "period_start", name="uq_talk_reminder"
        ),
    )
    op.create_index("ix_talk_reminders_department", "talk_reminders", ["department", "state"])
    op.create_index(
        "ix_talk_reminders_subject",
        "talk_reminders",
        ["subject_kind", "subject", "period_end"],
    )
    op.create_table(
        "accountability_records",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("reminder_id", sa.Integer(), nullable=False),
        sa.Column("subject_kind", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=True),
        sa.Column("reminders", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.Date(), nullable=False),
        sa.Column("window_end", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["reminder_id"], ["talk_reminders.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("reminder_id"),
    )
    op.create_index("ix_accountability_department", "accountability_records", ["department"])
    # The period reports read finished cases by their end time (store/kpis.py).
    op.create_index("ix_cases_ended", "cases", ["ended_at"])
    # ... and the window sessions (idle, paused time) and the audit view by time.
    op.create_index("ix_audit_at", "audit", ["at"])


def downgrade() -> None:
    op.drop_index("ix_audit_at", table_name="audit")
    op.drop_index("ix_cases_ended", table_name="cases")
    op.drop_index("ix_accountability_department", table_name="accountability_records")
    op.drop_table("accountability_records")
    op.drop_index("ix_talk_reminders_subject", table_name="talk_reminders")
    op.drop_index("ix_talk_reminders_department", table_name="talk_reminders")
    op.drop_table("talk_reminders")
    op.drop_table("assessments")
