"""Halls: each hall in its own PostgreSQL schema (issue 14)

No table changes here, on purpose. On PostgreSQL a hall's tables live in the schema
``hall_<id>`` and every connection's ``search_path`` is that schema only
(``store/db.py``), so no table needs a hall column. A database made before halls keeps
its tables, and its ``alembic_version``, in ``public``: Alembic, looking in the hall's
schema, would find no version there and try to create every table again. So the move
out of ``public`` cannot be a revision: ``db.upgrade`` makes it (``_move_public``, in
the same transaction, before Alembic reads the version), and this revision marks the
schema that follows it. SQLite (one hall per file) is unchanged.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30
"""

from __future__ import annotations

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
