"""The tables the code writes (``store/schema.py``) are the tables the migrations make.

Several branches add schema in parallel, each in its own reserved revision; a column added
to ``schema.py`` without its migration (or the other way round) would only show on a hall
upgraded in the field. Alembic's own comparison finds both."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from queue_server.store import db
from queue_server.store import schema as s


def _differences(url: str) -> list:
    engine = db.open_engine(url)
    try:
        db.upgrade(engine)
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": False})
            return [
                d
                for d in compare_metadata(ctx, s.metadata)
                if not (
                    isinstance(d, tuple)
                    and d[0] == "remove_table"
                    and d[1].name == "alembic_version"
                )
            ]
    finally:
        engine.dispose()


def test_the_migrated_schema_is_the_schema_the_code_uses(db_url):
    assert _differences(db_url) == []
