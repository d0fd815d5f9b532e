"""Ratings as the national scheme records them, and the rectification ledger

Reserved for issue 11: its schema goes here (this revision changes nothing until then).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from __future__ import annotations

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
