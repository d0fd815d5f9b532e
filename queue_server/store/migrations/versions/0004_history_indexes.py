"""Indexes that keep the sweeps, the snapshot and the prune flat as history grows

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30

A year of a 40-window hall is about 500,000 cases. Without these, the overdue sweep
(every second), the snapshot's recent calls and today's ratings, one clerk's day and
the hourly prune each read every row ever written.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_tickets_called", "tickets", ["day", "called_at"])
    op.create_index(
        "ix_cases_open",
        "cases",
        ["called_at"],
        sqlite_where=sa.text("outcome IS NULL"),
        postgresql_where=sa.text("outcome IS NULL"),
    )
    op.create_index("ix_cases_rated", "cases", ["rating_state", "rated_at"])
    op.create_index("ix_cases_clerk", "cases", ["clerk", "called_at"])
    op.create_index("ix_events_at", "events", ["at"])
    op.create_index("ix_idempotency_at", "idempotency", ["at"])


def downgrade() -> None:
    op.drop_index("ix_idempotency_at", table_name="idempotency")
    op.drop_index("ix_events_at", table_name="events")
    op.drop_index("ix_cases_clerk", table_name="cases")
    op.drop_index("ix_cases_rated", table_name="cases")
    op.drop_index("ix_cases_open", table_name="cases")
    op.drop_index("ix_tickets_called", table_name="tickets")
