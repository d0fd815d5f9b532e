"""Case files at the kiosk and at pick-up: the pick-up ticket of a ready case

A citizen takes a pick-up ticket (出件) at the kiosk with the case's number and check code
(or the earlier ticket's QR); the clerk who calls it sees the cases linked here.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "casefile_pickups",
        sa.Column("casefile_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["casefile_id"], ["casefiles.id"]),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"]),
        sa.PrimaryKeyConstraint("casefile_id"),
    )
    op.create_index("ix_casefile_pickups_ticket", "casefile_pickups", ["ticket_id"])


def downgrade() -> None:
    op.drop_index("ix_casefile_pickups_ticket", table_name="casefile_pickups")
    op.drop_table("casefile_pickups")
