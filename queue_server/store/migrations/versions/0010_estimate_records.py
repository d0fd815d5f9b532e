"""The estimate each called ticket was given, beside the wait it had

Reserved for issue 15: its schema goes here (this revision changes nothing until then).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from __future__ import annotations

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
