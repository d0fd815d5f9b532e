"""Today's waiting tickets by an index that starts with the day

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30

Every issue and call reads the waiting tickets of one day (the queue's figures, the
estimate, the call order, people ahead). The index they had, (status, queue, sort_at),
lacks the day: tickets left waiting on earlier days (the hall closed with people still
in line) stay "waiting" for ever, and each of those reads walked all of them. This one
starts with the day, so what they read is today's line only, however long the history.
(The name of this file is the one reserved for issue 14; maintained per-queue counters
were not needed: the queue's figures are counted from the estimate's own read.)
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_tickets_day_waiting", "tickets", ["day", "status", "queue", "sort_at"])
    op.drop_index("ix_tickets_waiting", table_name="tickets")


def downgrade() -> None:
    op.create_index("ix_tickets_waiting", "tickets", ["status", "queue", "sort_at"])
    op.drop_index("ix_tickets_day_waiting", table_name="tickets")
