"""Reserved for issue (ratings and accountability: a daily summary the year report reads)

Its schema goes here; this revision changes nothing until then.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30
"""

from __future__ import annotations

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
