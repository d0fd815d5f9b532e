"""Ratings as the national scheme records them, and the rectification ledger

The follow-up list (0002) becomes the ledger: every follow-up is moved into
``rectifications`` (open ones open, done ones closed with their call-back as a step),
and the follow-up columns go, so there is one list of bad ratings, not two.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Read the follow-ups first: SQLite rebuilds ``cases`` to drop their columns, which it
    # cannot do once another table refers to it.
    followups = _read_followups()
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rating_text", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("rating_reasons", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("rating_department", sa.String(length=64), nullable=True))
        batch_op.drop_index("ix_cases_followup")
        batch_op.drop_column("followup_at")
        batch_op.drop_column("followup_by")
        batch_op.drop_column("followup_note")
        batch_op.drop_column("followup_state")
    op.create_table(
        "rectifications",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=True),
        sa.Column("service_id", sa.String(length=64), nullable=False),
        sa.Column("window", sa.Integer(), nullable=True),
        sa.Column("clerk", sa.String(length=64), nullable=True),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("light", sa.String(length=8), nullable=True),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("contact_due", sa.Date(), nullable=True),
        sa.Column("rectify_due", sa.Date(), nullable=True),
        sa.Column("callback_due", sa.Date(), nullable=True),
        sa.Column("finding", sa.String(length=16), nullable=True),
        sa.Column("appeal", sa.String(length=16), nullable=True),
        sa.Column("contact", sa.String(length=16), nullable=True),
        sa.Column("contacted_at", sa.DateTime(), nullable=True),
        sa.Column("rectified_at", sa.DateTime(), nullable=True),
        sa.Column("callback", sa.String(length=16), nullable=True),
        sa.Column("callback_at", sa.DateTime(), nullable=True),
        sa.Column("fix_level", sa.Integer(), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("phone_until", sa.DateTime(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id"),
    )
    op.create_index("ix_rectifications_state", "rectifications", ["state", "department"])
    op.create_index("ix_rectifications_opened", "rectifications", ["opened_on"])
    op.create_index(
        "ix_rectifications_phone",
        "rectifications",
        ["phone_until"],
        sqlite_where=sa.text("phone IS NOT NULL"),
        postgresql_where=sa.text("phone IS NOT NULL"),
    )
    op.create_table(
        "rectification_steps",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("rectification_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("op", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["rectification_id"], ["rectifications.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_rectification_steps_record", "rectification_steps", ["rectification_id", "id"]
    )
    _move_followups(followups)


def _read_followups() -> list[Any]:
    cases = sa.table(
        "cases",
        sa.column("id", sa.Integer),
        sa.column("ticket_id", sa.Integer),
        sa.column("window", sa.Integer),
        sa.column("clerk", sa.String),
        sa.column("service_id", sa.String),
        sa.column("rating", sa.Integer),
        sa.column("rated_at", sa.DateTime),
        sa.column("followup_state", sa.String),
        sa.column("followup_note", sa.Text),
        sa.column("followup_by", sa.String),
        sa.column("followup_at", sa.DateTime),
    )
    return list(
        op.get_bind()
        .execute(sa.select(cases).where(cases.c.followup_state.is_not(None)).order_by(cases.c.id))
        .all()
    )


def _move_followups(rows: list[Any]) -> None:
    """Each follow-up becomes a ledger record. Its department is set by the server's
    sweep from the hall file (not known here); deadlines likewise, from the calendar."""
    bind = op.get_bind()
    rect = sa.table(
        "rectifications",
        *(
            sa.column(n)
            for n in (
                "id",
                "case_id",
                "ticket_id",
                "service_id",
                "window",
                "clerk",
                "level",
                "state",
                "opened_at",
                "opened_on",
                "callback",
                "callback_at",
                "closed_at",
                "updated_at",
            )
        ),
    )
    steps = sa.table(
        "rectification_steps",
        *(
            sa.column(n)
            for n in ("rectification_id", "at", "op", "outcome", "actor", "role")
            + ("from_state", "to_state", "detail")
        ),
    )
    for r in rows:
        done = r.followup_state == "done"
        opened = r.rated_at or r.followup_at or dt.datetime(1970, 1, 1)
        rid = bind.execute(
            sa.insert(rect)
            .values(
                case_id=r.id,
                ticket_id=r.ticket_id,
                service_id=r.service_id,
                window=r.window,
                clerk=r.clerk,
                level=r.rating or 1,
                state="closed" if done else "open",
                opened_at=opened,
                opened_on=opened.date(),
                callback="reached" if done else None,
                callback_at=r.followup_at if done else None,
                closed_at=r.followup_at if done else None,
                updated_at=r.followup_at or opened,
            )
            .returning(rect.c.id)
        ).scalar_one()
        if done:
            bind.execute(
                sa.insert(steps).values(
                    rectification_id=rid,
                    at=r.followup_at or opened,
                    op="callback",
                    outcome="migrated",
                    actor=r.followup_by or "?",
                    role="supervisor",
                    from_state="open",
                    to_state="closed",
                    detail=json.dumps({"note": r.followup_note or ""}, ensure_ascii=False),
                )
            )


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("followup_state", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("followup_note", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("followup_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("followup_at", sa.DateTime(), nullable=True))
        batch_op.create_index("ix_cases_followup", ["followup_state", "rated_at"], unique=False)
    op.execute(
        "UPDATE cases SET followup_state = 'open' WHERE id IN "
        "(SELECT case_id FROM rectifications WHERE state NOT IN ('closed', 'dismissed'))"
    )
    op.execute(
        "UPDATE cases SET followup_state = 'done' WHERE id IN "
        "(SELECT case_id FROM rectifications WHERE state IN ('closed', 'dismissed'))"
    )
    op.drop_index("ix_rectification_steps_record", table_name="rectification_steps")
    op.drop_table("rectification_steps")
    op.drop_index("ix_rectifications_phone", table_name="rectifications")
    op.drop_index("ix_rectifications_opened", table_name="rectifications")
    op.drop_index("ix_rectifications_state", table_name="rectifications")
    op.drop_table("rectifications")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("rating_department")
        batch_op.drop_column("rating_reasons")
        batch_op.drop_column("rating_text")
