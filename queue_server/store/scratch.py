"""A throwaway PostgreSQL database, made and dropped around a block.

The test suite and the benchmarks each need a database of their own on a shared server,
one that is gone afterwards even when the run fails or another connection is still open
(``WITH (FORCE)``). One implementation, so that the URL rewriting between SQLAlchemy's
``postgresql+psycopg://`` and libpq's ``postgresql://`` happens in one place.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager


def libpq_url(url: str) -> str:
    """The same server as libpq and psycopg spell it (no SQLAlchemy driver suffix)."""
    return url.replace("postgresql+psycopg://", "postgresql://")


@contextmanager
def throwaway_database(server_url: str, prefix: str = "hallq_tmp") -> Iterator[str]:
    """Create a fresh database on ``server_url``'s server; yield its libpq URL; drop it.

    ``server_url`` names any existing database the caller may connect to (it is used for
    the CREATE and DROP only). The yielded URL is in libpq form; callers that hand it to
    SQLAlchemy may keep it as is (the store adds the psycopg driver itself).
    """
    import psycopg

    admin = libpq_url(server_url)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
