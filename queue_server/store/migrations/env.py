"""Alembic environment: runs on the connection HallQ hands over (``hallq db upgrade``)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from queue_server.store.schema import metadata

config = context.config
connection = config.attributes.get("connection")


def _run(conn: object) -> None:
    context.configure(
        connection=conn, target_metadata=metadata, render_as_batch=True, compare_type=True
    )
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    _run(connection)
else:  # plain `alembic` command line, for writing new migrations
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite:///hallq.db")
    with engine.begin() as conn:
        _run(conn)
