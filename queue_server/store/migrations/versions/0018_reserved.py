"""Empty for good: it was reserved for issue 14 (county, speed), which needed no schema change

Never put schema here: a database already upgraded past this revision would not run it.
A change of schema takes a new revision at the head.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01
"""

from __future__ import annotations

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
