"""The estimate each called ticket was given, beside the wait it had

Issue 15: the wait promised at issue (central figure and 80 % range) and the wait until
the ticket's first call, per ticket, so /supervisor can show today's estimate error per
queue and export it.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "estimate_records",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("queue", sa.String(length=4), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("told_minutes", sa.Integer(), nullable=False),
        sa.Column("told_low", sa.Integer(), nullable=False),
        sa.Column("told_high", sa.Integer(), nullable=False),
        sa.Column("called_at", sa.DateTime(), nullable=True),
        sa.Column("waited_s", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"]),
        sa.PrimaryKeyConstraint("ticket_id"),
    )
    op.create_index("ix_estimate_records_day", "estimate_records", ["day", "queue"])


def downgrade() -> None:
    op.drop_index("ix_estimate_records_day", table_name="estimate_records")
    op.drop_table("estimate_records")
