"""Opening the database, migrating it, and committing operations in groups.

SQLite (the default, one file per hall) runs in WAL mode with ``synchronous=FULL`` so a
commit survives a power cut, not only a crashed process. A durable commit costs an
fsync; to still take thousands of tickets a second, :class:`Committer` runs operations
on one database thread and commits whatever arrived while the previous commit was
flushing in one transaction (group commit). Each operation runs inside its own
SAVEPOINT, so one refused operation never undoes its neighbours; every caller is answered
only after the commit that holds its change. PostgreSQL groups the same way, behind the
hall's writer lock taken first (see :class:`Committer`); an operation that arrives alone
has no SAVEPOINT there: its transaction is its savepoint (two round trips fewer).

Reads that change nothing (snapshots, waiting lists, a phone page's status, event
replays, the sweeper's "anything due?") run on :class:`Reader` instead: their own
connections, each read one consistent snapshot (a WAL read transaction on SQLite,
REPEATABLE READ on PostgreSQL), so they never queue behind writes nor hold them up.

Halls: SQLite holds one hall per file. On PostgreSQL each hall lives in its own schema,
``hall_<id>``, of one database; every connection of a hall's engine has ``search_path``
set to that schema only (a libpq start-up option: no statement at all), so every table,
sequence, index, the Alembic version table and every raw statement is the hall's own by
construction. What is database-wide (advisory locks, LISTEN/NOTIFY channels) is keyed by
the hall id here (:func:`hall_key`, :func:`notify_channel`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import queue
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, NestedTransaction
from sqlalchemy.exc import DBAPIError

from .. import jsonenc
from ..core.errors import HallError
from ..core.hall import DEFAULT_HALL_ID, HallConfig
from . import schema as s
from .statements import EVENT_INSERT

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_GROUP = 256
MIGRATIONS = Path(__file__).parent / "migrations"
READERS = 2
"""Read threads (and connections): reads are short; two keep one slow one from
holding up the next while leaving the interpreter to the event loop."""
DEFAULT_HALL = DEFAULT_HALL_ID
"""The hall id of a hall file without ``[hall] id``: a database with one hall needs no
id; halls sharing a PostgreSQL database each name their own (config.py, county files)."""
HALL_OPTION = "hallq_hall"
"""The engine execution option that carries the hall id to every connection."""


class HallDatabaseError(RuntimeError):
    """The database cannot be served or migrated as it is; the message says why and what
    to do (the server and ``hallq db`` print it and stop)."""


def schema_name(hall: str) -> str:
    """The PostgreSQL schema of a hall (the id is validated: lowercase letters, digits,
    ``_``; so the name needs no quoting and cannot inject)."""
    return f"hall_{hall}"


def notify_channel(hall: str) -> str:
    """The LISTEN/NOTIFY channel of one hall: another hall's commits wake nobody here."""
    return f"{NOTIFY_CHANNEL}_{hall}"


def hall_key(purpose: str, hall: str) -> int:
    """A 64-bit advisory lock key for one purpose in one hall (stable across processes
    and versions: it is how processes of one hall find each other's locks)."""
    digest = hashlib.blake2b(f"hallq:{purpose}:{hall}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def hall_of(bind: Engine | Connection) -> str:
    """The hall an engine (or one of its connections) serves."""
    return str(bind.get_execution_options().get(HALL_OPTION, DEFAULT_HALL))


def open_engine(url: str, *, hall: str = DEFAULT_HALL, read_only: bool = False) -> Engine:
    """An engine with the settings HallQ relies on for this backend.

    ``read_only`` gives the readers' engine: on SQLite a deferred BEGIN (a WAL reader
    that never takes the write lock) and ``query_only``; on PostgreSQL REPEATABLE READ
    read-only transactions, so every statement of one read sees the same commits.

    ``hall``: on PostgreSQL every connection's ``search_path`` is that hall's schema
    only, set as a start-up option of the connection (once per connection, no round
    trip, and no ``RESET`` or rollback can undo it). On SQLite the file is the hall.
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy, not the driver, begin transactions, so SAVEPOINT works
            # and BEGIN IMMEDIATE takes the write lock up front (no upgrade deadlocks).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            if read_only:
                cur.execute("PRAGMA query_only=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

        return engine.execution_options(**{HALL_OPTION: hall})
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    # Only the hall's schema: an unqualified name can never reach another hall's table,
    # nor a table left in ``public`` (which upgrade() moves across, see _move_public).
    connect_args = {"options": f"-c search_path={schema_name(hall)}"}
    if read_only:
        return create_engine(
            url,
            pool_size=READERS,
            max_overflow=0,
            pool_pre_ping=False,  # Reader reads again on a dead connection
            isolation_level="REPEATABLE READ",
            connect_args=connect_args,
            execution_options={"postgresql_readonly": True, HALL_OPTION: hall},
        )
    # No ping before each use (a round trip per operation): the Committer runs a
    # transaction again when its connection turns out dead before COMMIT was sent, and
    # the first dead one invalidates the whole pool (a restarted database).
    return create_engine(
        url,
        pool_size=5,
        max_overflow=5,
        pool_pre_ping=False,
        connect_args=connect_args,
        execution_options={HALL_OPTION: hall},
    )


def upgrade(engine: Engine, *, move_public: bool = False) -> None:
    """Bring the schema to the newest migration (what ``hallq db upgrade`` does).

    On PostgreSQL, in one transaction: refuse if a server of this hall is running (it
    holds the hall's serving lock, see :func:`hold_serving_lock`), create the hall's
    schema, move a single-hall database made before halls out of ``public`` into it
    (see :func:`_move_public` for when), then migrate. Any failure leaves the database
    as it was.
    """
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            hall = hall_of(conn)
            if _revision_in(conn, schema_name(hall)) == head_revision():
                return  # nothing to do: harmless beside running servers (of this version)
            _refuse_if_served(conn, hall)
            conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {schema_name(hall)}")
            _move_public(conn, hall, move_public)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def _revision_in(conn: Connection, schema: str) -> str | None:
    """The Alembic revision recorded in one schema (None: none there)."""
    if not conn.execute(
        text("SELECT to_regclass(:t)"), {"t": f"{schema}.alembic_version"}
    ).scalar():
        return None
    return conn.execute(text(f"SELECT version_num FROM {schema}.alembic_version")).scalar()


SERVING = "serving"
"""The advisory lock every server process of a hall holds shared for its whole life."""


def _refuse_if_served(conn: Connection, hall: str) -> None:
    """Take the hall's serving lock exclusively, at once or not at all (NOWAIT): a
    migration never runs under a server of another version that is serving the hall."""
    key = hall_key(SERVING, hall)
    if conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": key}).scalar():
        return
    pids = conn.execute(
        text(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND classid = :hi AND objid = :lo AND objsubid = 1 ORDER BY pid"
        ),
        {"hi": (key >> 32) & 0xFFFFFFFF, "lo": key & 0xFFFFFFFF},
    ).scalars()
    raise HallDatabaseError(
        f"hall {hall!r} is being served (server process backend pid(s) "
        f"{', '.join(map(str, pids)) or '?'} hold its serving lock): stop every "
        "`hallq server` of this hall, then run `hallq db upgrade` again"
    )


def hold_serving_lock(engine: Engine) -> Connection | None:
    """A connection holding the hall's serving lock (shared: any number of server
    processes of the hall may hold it at once) until it is closed or the process dies.

    ``hallq db upgrade`` needs it exclusively, so it refuses to migrate under a running
    server; a server started while a migration runs refuses to start. SQLite: None.
    """
    if engine.dialect.name != "postgresql":
        return None
    conn = engine.connect()
    try:
        key = hall_key(SERVING, hall_of(engine))
        ok = conn.execute(text("SELECT pg_try_advisory_lock_shared(:k)"), {"k": key}).scalar()
        conn.commit()  # a session lock outlives the transaction that took it
    except Exception:
        conn.close()
        raise
    if not ok:
        conn.close()
        raise HallDatabaseError(
            f"hall {hall_of(engine)!r} is being migrated (`hallq db upgrade` holds it): "
            "start the server when the migration is done"
        )
    return conn


def _public_tables(conn: Connection) -> list[str]:
    """HallQ's tables left in ``public`` by a database made before halls."""
    names = [*s.metadata.tables, "alembic_version"]
    return list(
        conn.execute(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                " AND tablename = ANY(:names) ORDER BY tablename"
            ),
            {"names": names},
        ).scalars()
    )


def _move_public(conn: Connection, hall: str, confirmed: bool) -> None:
    """Move a single-hall database's tables from ``public`` into the hall's schema.

    Every database made before halls keeps its tables in ``public``. ``ALTER TABLE ...
    SET SCHEMA`` takes each table's indexes, constraints and owned sequences (the ids'
    counters) along, and keeps every row and every sequence's position, so numbering
    continues where it was. Only when the hall's schema is still empty: a database
    already moved, or a second hall's, is left alone.

    Those tables belong to whichever hall file made the database, and the database does
    not say which. A hall file without an id (``main``) is that file unchanged, so its
    upgrade moves them; a hall with an id moves them only when told they are its own
    (``confirmed``: ``hallq db upgrade --move-public``), so a second hall upgraded first
    never takes the first hall's tickets.
    """
    schema = schema_name(hall)
    if conn.execute(text("SELECT to_regclass(:t)"), {"t": f"{schema}.alembic_version"}).scalar():
        return
    tables = _public_tables(conn)
    if "alembic_version" not in tables:
        return
    if hall != DEFAULT_HALL and not confirmed:
        raise HallDatabaseError(_UNMOVED.format(schema=schema) + _NAMED.format(hall=hall))
    # The functions their triggers call (the report summaries' staleness marks) move
    # with them: a schema holding a hall's tables holds everything those tables use.
    functions = (
        conn.execute(
            text(
                "SELECT DISTINCT p.oid::regprocedure::text FROM pg_trigger tg "
                "JOIN pg_proc p ON p.oid = tg.tgfoid "
                "JOIN pg_namespace n ON n.oid = p.pronamespace "
                "JOIN pg_class c ON c.oid = tg.tgrelid "
                "JOIN pg_namespace cn ON cn.oid = c.relnamespace "
                "WHERE NOT tg.tgisinternal AND n.nspname = 'public' AND cn.nspname = 'public'"
            )
        )
        .scalars()
        .all()
    )
    for table in tables:
        conn.exec_driver_sql(f'ALTER TABLE public."{table}" SET SCHEMA {schema}')
    for function in functions:
        conn.exec_driver_sql(f"ALTER FUNCTION {function} SET SCHEMA {schema}")
    log.info("moved %d tables from public into %s", len(tables), schema)


_UNMOVED = (
    "this database keeps a hall's tables in schema public (made before halls): "
    "run `hallq db upgrade` to move them into {schema}"
)
_NAMED = (
    "; they belong to the hall file that made the database: if that is hall {hall!r}, "
    "run `hallq db upgrade --move-public` with its file; if another, upgrade that hall first"
)


def check_schema(engine: Engine) -> None:
    """Refuse to serve a database this code cannot serve, saying why and what to do:
    not migrated, migrated by a newer HallQ, or a single-hall database not yet moved
    into its hall's schema."""
    head, current = head_revision(), current_revision(engine)
    if current == head:
        return
    if current is None and engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            if "alembic_version" in _public_tables(conn):
                hall = hall_of(conn)
                named = _NAMED.format(hall=hall) if hall != DEFAULT_HALL else ""
                raise HallDatabaseError(_UNMOVED.format(schema=schema_name(hall)) + named)
    if current is not None and not _known_revision(current):
        raise HallDatabaseError(
            f"database schema is at revision {current}, newer than this HallQ "
            f"(which knows up to {head}): run the newer HallQ, or migrate back with it"
        )
    raise HallDatabaseError(
        f"database schema is at {current or 'nothing'}, code needs {head}: run `hallq db upgrade`"
    )


def _known_revision(rev: str) -> bool:
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    try:
        return ScriptDirectory.from_config(cfg).get_revision(rev) is not None
    except CommandError:
        return False


def current_revision(engine: Engine) -> str | None:
    from alembic.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


def ensure_windows(engine: Engine, config: HallConfig) -> None:
    """Every configured window has a row (closed until a clerk signs in).

    Several server processes may start at once on one PostgreSQL: a row another one
    inserts meanwhile is left alone (ON CONFLICT DO NOTHING), never an error.
    """
    with engine.begin() as conn:
        have = {n for (n,) in conn.execute(select(s.windows.c.number))}
        missing = [w.number for w in config.windows if w.number not in have]
        if missing:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            conn.execute(
                dialect.insert(s.windows).on_conflict_do_nothing(index_elements=["number"]),
                [{"number": n, "status": "closed"} for n in missing],
            )


_thread = threading.local()


def on_reader() -> bool:
    """Whether this thread is one of :class:`Reader`'s (whose snapshot may be older than
    a write the database thread is about to commit)."""
    return getattr(_thread, "reader", False)


def _mark_reader() -> None:
    _thread.reader = True


class Reader:
    """Read-only work on its own threads and connections, beside the :class:`Committer`.

    A read never waits for a group commit's fsync nor for the writer's lock, and a long
    read (a snapshot of a busy hall) never delays a clerk's call. Each read is one
    transaction: what it returns is one consistent moment of the hall, and it sees every
    commit acknowledged before it started.
    """

    def __init__(
        self,
        url: str,
        clock: Callable[[], dt.datetime],
        workers: int = READERS,
        *,
        hall: str = DEFAULT_HALL,
    ) -> None:
        self.engine = open_engine(url, hall=hall, read_only=True)
        self.clock = clock
        self._pool = ThreadPoolExecutor(
            workers, thread_name_prefix="hallq-read", initializer=_mark_reader
        )

    async def read(self, fn: Callable[[Connection, dt.datetime], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._read, fn)

    def _read(self, fn: Callable[[Connection, dt.datetime], T]) -> T:
        # A read changes nothing, so one whose connection turns out dead (the pool does
        # not ping before use: a round trip on every read) is simply read again.
        for attempt in range(RERUNS + 1):
            try:
                with self.engine.connect() as conn, conn.begin():
                    return fn(conn, self.clock())
            except DBAPIError as exc:
                if not exc.connection_invalidated or attempt == RERUNS:
                    raise
                log.info("reading again: its connection was found dead")
        raise AssertionError("unreachable")

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self.engine.dispose()


Published = list[tuple[int, dt.datetime, str, dict[str, Any]]]
"""Events as committed: (seq, at, type, data)."""

Work = Callable[[Connection, dt.datetime], tuple[Any, list[tuple[str, dict[str, Any]]]]]


class Committer:
    """The single database thread: runs operations, commits them in groups.

    ``submit`` hands over a function of (connection, now) that returns a reply and the
    events it caused. The events are written to the ``events`` table in the same
    transaction (their ``seq`` is the hall-wide sequence number) and handed back only
    after the commit, so nothing is ever published that a crash could take back.

    PostgreSQL, where several server processes may write one hall: every write
    transaction first takes the hall's writer lock (:func:`_lock_hall`), so one group
    at a time commits per hall and no two groups can hold rows the other waits for
    (groups of two processes taking counter rows in different orders would deadlock,
    found only after ``deadlock_timeout``). A deadlock or serialization failure with
    anything else (a report's row locks) reruns the whole group in a fresh
    transaction, as does a connection found dead before its COMMIT was sent (the pool
    does not ping each connection before use: that was a round trip per operation).
    """

    def __init__(self, engine: Engine, clock: Callable[[], dt.datetime] | None = None) -> None:
        self.engine = engine
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.postgres = engine.dialect.name == "postgresql"
        self.max_group = MAX_GROUP_PG if self.postgres else MAX_GROUP
        hall = hall_of(engine)
        self.events_lock = hall_key(EVENTS, hall)
        self.channel = notify_channel(hall)
        self.token = secrets.token_hex(8)
        """This writer's name in its notifications: its own server skips reading back
        what it has published already (server.py, ``_listen``)."""
        self.committed_seq = 0
        """The last event sequence number this writer committed, set before its COMMIT
        is sent: its notification may reach the listener before this thread runs again."""
        self._q: queue.Queue[tuple[Work, Future[Any]] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="hallq-db", daemon=True)
        self._thread.start()
        self.groups = 0
        self.ops = 0
        self.reruns = 0
        """Transactions rerun after a lock conflict or a connection found dead."""
        self.on_events: Callable[[Connection, dt.datetime, Published], None] | None = None
        """Called with each operation's committed events, inside their transaction."""

    async def submit(self, work: Work) -> tuple[Any, Published]:
        return await asyncio.wrap_future(self.enqueue(work))

    def call(self, work: Work) -> tuple[Any, Published]:
        """The same as :meth:`submit`, for threads that are not an event loop."""
        return self.enqueue(work).result()

    def enqueue(self, work: Work) -> Future[tuple[Any, Published]]:
        """Queue an operation and return at once; the future is answered after the
        commit. Operations queued while the database thread is busy form its next
        group, in the order they were queued."""
        fut: Future[tuple[Any, Published]] = Future()
        self._q.put((work, fut))
        return fut

    def close(self) -> None:
        self._q.put(None)
        self._thread.join(timeout=10)

    def summary(self) -> str:
        """How well operations grouped. A server logs it when it stops
        (benchmarks/halls_bench.py reads that line); one-off commands (the demo's
        simulated yesterday, ``hallq assess``) do not, so their output stays theirs."""
        return (
            f"committed {self.ops} operations in {self.groups} transactions ({self.reruns} reruns)"
        )

    def _run(self) -> None:
        while True:
            first = self._q.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < self.max_group:
                try:
                    item = self._q.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            self._commit(batch)
            if stop:
                return

    def _commit(self, batch: list[tuple[Work, Future[Any]]]) -> None:
        """Run a group in one transaction and answer each operation after its commit.

        If the transaction fails as a whole (the commit itself, or a conflict that
        reruns it too often) nobody is acknowledged: every operation gets the error.
        """
        # Its asker may have given up before it ran: nothing to acknowledge then.
        live = [(w, f, self.clock()) for w, f in batch if f.set_running_or_notify_cancel()]
        if not live:
            return
        for attempt in range(RERUNS + 1):
            try:
                results = self._transaction(live)
            except _Rerun as rerun:
                if attempt < RERUNS:
                    self.reruns += 1
                    log.info("rerunning %d operation(s): %s", len(live), rerun.why)
                    continue
                failure: Exception = rerun.error
            except Exception as exc:
                failure = exc
            else:
                break
            log.error("commit of %d operation(s) failed", len(live), exc_info=failure)
            results = [(fut, failure, None) for _w, fut, _now in live]
            break
        # counted as before: refused and failed operations too
        self.groups += 1
        self.ops += len(live)
        for fut, value, published in results:
            if published is None:
                fut.set_exception(value)
            else:
                fut.set_result((value, published))

    def _transaction(
        self, live: list[tuple[Work, Future[Any], dt.datetime]]
    ) -> list[tuple[Future[Any], Any, Published | None]]:
        """One transaction for the group: (future, reply or error, events or None).

        An operation alone on PostgreSQL runs without a SAVEPOINT (two round trips
        fewer): its transaction is what a refusal rolls back, and what the refusal keeps
        (``HallError.kept``) gets a transaction of its own. In a group each operation
        has its savepoint, so a refusal never undoes its neighbours.

        Raises :class:`_Rerun` when the whole transaction may be run again: nothing of
        it can have committed (the error came before COMMIT was sent).
        """
        alone = self.postgres and len(live) == 1
        committing = False
        try:
            with self.engine.connect() as conn:
                trans = conn.begin()
                if self.postgres:
                    _lock_hall(conn, self.events_lock, self.channel, self.token)
                done: list[tuple[Future[Any], Any, list[tuple[str, dict[str, Any]]] | None]] = []
                for work, fut, now in live:
                    if alone:
                        try:
                            done.append((fut, *work(conn, now)))
                        except HallError as exc:
                            trans.rollback()
                            self._keep(conn, exc)
                            return [(fut, exc, None)]
                    else:
                        done.append((fut, *_run_one(conn, work, now, shared=self.postgres)))
                # Events last, the whole group's in one go, each operation's in the
                # group's order (under the hall's writer lock on PostgreSQL: sequence
                # order is commit order).
                ran = [(*d, now) for d, (_w, _f, now) in zip(done, live, strict=True)]
                written = iter(
                    _write_events(conn, [(n, *e) for *_, evs, n in ran for e in evs or ()])
                )
                results: list[tuple[Future[Any], Any, Published | None]] = []
                for fut, value, evs, now in ran:
                    published = None if evs is None else [next(written) for _ev in evs]
                    if published and self.on_events is not None:
                        # e.g. the alert outbox: written in the events' own transaction
                        self.on_events(conn, now, published)
                    results.append((fut, value, published))
                seqs = [ev[0] for *_, published in results for ev in published or ()]
                if seqs:  # too high if the COMMIT fails: a read for nothing, not a miss
                    self.committed_seq = max(self.committed_seq, *seqs)
                committing = True
                trans.commit()
                return results
        except DBAPIError as exc:
            if committing:
                raise  # COMMIT was sent: it may have committed, so never run it again
            if getattr(exc.orig, "sqlstate", None) in RETRY_SQLSTATES:
                raise _Rerun("a lock conflict with another connection", exc) from exc
            if exc.connection_invalidated:
                raise _Rerun("its connection was found dead", exc) from exc
            if alone:  # one operation's own failure (e.g. a constraint): only it fails
                log.exception("operation failed")
                return [(live[0][1], exc, None)]
            raise

    def _keep(self, conn: Connection, exc: HallError) -> None:
        """A refusal's records, in a transaction of their own after the refused one's
        rollback (under the hall's writer lock too, as every write of the Committer);
        the refusal stands even if they cannot be written."""
        if not exc.kept:
            return
        try:
            with conn.begin():
                conn.execute(LOCK_HALL, {"k": self.events_lock})
                for write in exc.kept:
                    write(conn)
        except Exception:
            log.exception("recording a refusal failed")


class _Mark:
    """An operation's savepoint in a PostgreSQL group, left in place when it succeeds.

    Releasing it would be a round trip per operation for nothing: the group's COMMIT
    ends them all. ``ROLLBACK TO`` the most recent savepoint of the name undoes only
    this operation and keeps the savepoint, so one name serves every operation of the
    group, each nested in the one before (at most :data:`MAX_GROUP_PG` deep). No
    operation opens savepoints of its own, which a ``ROLLBACK TO`` here would end.
    """

    SAVEPOINT = "SAVEPOINT hallq_op"
    ROLLBACK = "ROLLBACK TO SAVEPOINT hallq_op"

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        conn.exec_driver_sql(self.SAVEPOINT)

    def commit(self) -> None:
        """Nothing to send: see the class."""

    def rollback(self) -> None:
        self.conn.exec_driver_sql(self.ROLLBACK)


class _Rerun(Exception):
    """The group's transaction failed before its COMMIT was sent: run it again."""

    def __init__(self, why: str, error: Exception) -> None:
        super().__init__(why)
        self.why = why
        self.error = error


RERUNS = 3
"""How often a group is run again after a conflict or a dead connection: a pool of dead
connections (the database restarted) is invalidated as a whole at the first, so one is
enough for that; deadlocks with a report may take a couple."""
MAX_GROUP_PG = 32
"""Operations per transaction on PostgreSQL: each is a subtransaction (its savepoint),
and a transaction with more than 64 of them spills their ids to disk for everyone's
snapshots (PGPROC_MAX_CACHED_SUBXIDS); a refusal that keeps a record takes a second."""
RETRY_SQLSTATES = {"40P01", "40001"}
"""Deadlock and serialization failure: the database picked this transaction to fail
(against a report holding rows, or, rarely, a migration's locks); nothing of it
committed, so running it again is safe."""


def _run_one(
    conn: Connection, work: Work, now: dt.datetime, *, shared: bool = False
) -> tuple[Any, list[tuple[str, dict[str, Any]]] | None]:
    """One operation in its own savepoint: (reply, events), or (error, None).

    ``shared`` (PostgreSQL, whose hall other processes write too): a lock conflict or a
    dead connection fails the whole group, to be run again (see
    :meth:`Committer._transaction`); rerunning the one operation inside the group could
    meet the same cycle, since the group's earlier operations still hold their rows. Its
    savepoints are :class:`_Mark`s, never released.
    """
    for attempt in range(3):
        sp: _Mark | NestedTransaction = _Mark(conn) if shared else conn.begin_nested()
        try:
            reply, evs = work(conn, now)
            sp.commit()
            return reply, evs
        except HallError as exc:
            sp.rollback()
            if exc.kept:
                keep = conn.begin_nested()
                try:
                    for write in exc.kept:
                        write(conn)
                    keep.commit()
                except Exception:  # the refusal stands even if its record cannot be kept
                    log.exception("recording a refusal failed")
                    keep.rollback()
            return exc, None
        except DBAPIError as exc:
            retry = getattr(exc.orig, "sqlstate", None) in RETRY_SQLSTATES
            if shared and (retry or exc.connection_invalidated):
                raise
            sp.rollback()
            if retry and attempt < 2:
                log.info("operation met a lock conflict with another server; retrying")
                continue
            log.exception("operation failed")
            return exc, None
        except Exception as exc:  # a bug in one operation must not sink the rest
            log.exception("operation failed")
            sp.rollback()
            return exc, None
    raise AssertionError("unreachable")


EVENTS = "events"
"""The hall's writer lock (:func:`hall_key`, :func:`_lock_hall`), named for what it first
ordered, the event commits (a rename would let an old and a new server of one hall
commit events out of order during an upgrade). Halls on one database never wait for
each other's."""
NOTIFY_CHANNEL = "hallq_events"
"""The prefix of each hall's channel (:func:`notify_channel`)."""


LOCK_HALL = text("SELECT pg_advisory_xact_lock(:k)")
LOCK_AND_NOTIFY = text("SELECT pg_advisory_xact_lock(:k), pg_notify(:c, :t)")
"""One round trip for both: a NOTIFY is only delivered at commit (and never if the
transaction rolls back), so it may be queued in the statement that takes the lock. Its
payload is the writer's token (:attr:`Committer.token`); servers of before it sent ''."""
EVENT_INSERT_MANY = insert(s.events).returning(s.events.c.seq, sort_by_parameter_order=True)
"""Several events in one INSERT (PostgreSQL), their ``seq`` handed back in row order: a
group's events are one round trip, whatever the number of operations."""


def _lock_hall(conn: Connection, key: int, channel: str, token: str = "") -> None:
    """PostgreSQL: the hall's writer lock, first in every write transaction of the
    :class:`Committer`, held to its commit; and the wake-up of the hall's other
    processes when it commits.

    Taken first, before any row lock, it makes a hall's write transactions from all its
    server processes run one after another: two groups can never each hold a row the
    other waits for (no deadlock, whatever order their operations lock rows in), and the
    events' sequence order is their commit order, so a process reading "events after N"
    never misses one that commits later with a smaller number. Nothing that holds a row
    lock ever waits for it (only the Committer takes it), so it cannot join a cycle.

    The NOTIFY is sent at every commit, also of a transaction that wrote no event (most
    write some): the other processes then read nothing new, which is cheaper than a
    second round trip on every operation to notify only after events. The payload says
    which writer committed, so its own server need not read back what it published.
    """
    conn.execute(LOCK_AND_NOTIFY, {"k": key, "c": channel, "t": token})


def _write_events(
    conn: Connection, evs: list[tuple[dt.datetime, str, dict[str, Any]]]
) -> Published:
    """Write events (at, type, data) in this order; their sequence numbers follow it."""
    if conn.dialect.name == "postgresql" and len(evs) > 1:
        # One round trip for a group's events (a call alone writes three).
        rows = [{"at": at, "type": k, "payload": jsonenc.dumps(d)} for at, k, d in evs]
        seqs = conn.execute(EVENT_INSERT_MANY, rows).scalars().all()
        return [(seq, *ev) for seq, ev in zip(seqs, evs, strict=True)]
    out: Published = []
    for at, kind, data in evs:
        seq = conn.execute(
            EVENT_INSERT, {"at": at, "type": kind, "payload": jsonenc.dumps(data)}
        ).scalar_one()
        out.append((seq, at, kind, data))
    return out
