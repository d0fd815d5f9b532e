"""Shared fixtures: the test hall, real databases, a real server on loopback.

``db_url`` runs a test once on a fresh SQLite file and once on a fresh database in the
PostgreSQL server named by ``HALLQ_TEST_PG_URL`` (``.ci/run`` sets it and makes sure the
server runs). Without that variable the PostgreSQL runs are skipped with a reason; with
it, an unreachable server fails the run rather than passing quietly.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from queue_server.config import HallConfig, load_config
from queue_server.store.scratch import throwaway_database

# Property tests draw the same examples on every run (derived from each test), whatever
# order pytest-randomly picks: a CI run is repeatable, and a failure found by a local
# exploration (HYPOTHESIS_PROFILE=explore) is kept as an @example when it is fixed.
settings.register_profile("repeatable", derandomize=True)
settings.register_profile("explore", derandomize=False, max_examples=500)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

TEST_HALL = Path(__file__).parent / "hall_test.toml"
PG_URL = os.environ.get("HALLQ_TEST_PG_URL")


@pytest.fixture(scope="session")
def config() -> HallConfig:
    return load_config(TEST_HALL)


def _pg_database() -> Iterator[str]:
    assert PG_URL is not None
    with throwaway_database(PG_URL, "hallq_t") as url:
        yield url.replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hall.db'}"
        return
    if PG_URL is None:
        pytest.skip("HALLQ_TEST_PG_URL is not set (see .ci/run)")
    yield from _pg_database()


@pytest.fixture
def pg_url() -> Iterator[str]:
    if PG_URL is None:
        pytest.skip("HALLQ_TEST_PG_URL is not set (see .ci/run)")
    yield from _pg_database()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'hall.db'}"
