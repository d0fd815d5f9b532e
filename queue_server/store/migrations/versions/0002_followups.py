"""Follow-up list for dissatisfied ratings

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("followup_state", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("followup_note", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("followup_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("followup_at", sa.DateTime(), nullable=True))
        batch_op.create_index("ix_cases_followup", ["followup_state", "rated_at"], unique=False)
    # Dissatisfied ratings given before this version wait for their call-back too.
    op.execute(
        "UPDATE cases SET followup_state = 'open' WHERE rating_state = 'rated' AND rating <= 2"
    )


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_followup")
        batch_op.drop_column("followup_at")
        batch_op.drop_column("followup_by")
        batch_op.drop_column("followup_note")
        batch_op.drop_column("followup_state")
