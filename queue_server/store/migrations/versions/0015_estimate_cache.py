"""Empty for good: it was reserved for issue 15 (wait estimates), whose schema went into 0019

Never put schema here: a database already upgraded past this revision would not run it.
A change of schema takes a new revision at the head.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30
"""

from __future__ import annotations

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
