"""The call class filed with each ticket, and an index call.next seeks by

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30

``call.next`` sorted every eligible waiting ticket by a CASE (priority, appointment due,
the rest; then the window's queue preference) to take the first: at 20,000 waiting that
was a 20,000-row sort on every call (issue 14). The class a ticket is filed under is now
a column the database computes from ``priority`` (a generated column: no insert can get
it wrong), and ``(day, status, target_window, queue, call_class, sort_at, id)`` gives the
first ticket of each queue and class in one index seek. Only an appointment's class moves
with the clock; appointments are few and read whole.

The expression is ``rules.filed_class`` in SQL, written out here as it was at this
revision (a migration must not change when the code does).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

FILED_CLASS_SQL = (
    "CASE WHEN priority IS NULL THEN 2 WHEN priority = 'appointment' THEN 1 ELSE 0 END"
)


def upgrade() -> None:
    # SQLite adds a VIRTUAL generated column (ALTER TABLE cannot add a STORED one) and
    # indexes it like any other; PostgreSQL stores it (a virtual one, PostgreSQL 18's
    # default, could not be indexed).
    stored = True if op.get_bind().dialect.name == "postgresql" else None
    op.add_column(
        "tickets",
        sa.Column("call_class", sa.SmallInteger, sa.Computed(FILED_CLASS_SQL, persisted=stored)),
    )
    op.create_index(
        "ix_tickets_call",
        "tickets",
        ["day", "status", "target_window", "queue", "call_class", "sort_at", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_tickets_call", table_name="tickets")
    op.drop_column("tickets", "call_class")
