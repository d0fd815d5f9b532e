"""Empty for good: reserved for a session-6 helper that needed no schema change

It stays empty: a database already upgraded past it would never run schema put here
later, so new schema goes in a new revision after it.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-01
"""

from __future__ import annotations

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
