"""A ticket's person: the salted hash of an ID card read at the kiosk, for the daily cap

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("person", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_tickets_person", ["day", "service_id", "person"])


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_person")
        batch_op.drop_column("person")
