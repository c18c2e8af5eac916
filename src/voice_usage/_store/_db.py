"""The two databases behind the store, one behaviour: SQLite (standard library) and PostgreSQL.

`open_database()` connects and brings the schema up to date, or raises `StoreError` naming the
store (a PostgreSQL password is never shown) before anything is written. The schema is
versioned in `vu_meta`; older versions are migrated forward on open, a newer one is refused.
A record's fields are kept as `_rows` says: the few SQL reads by as columns, the rest in one JSON
column, so a field added to the record needs no change to the tables.

SQL is written once, with `?` placeholders, and given to psycopg with `%s`.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from voice_usage._exceptions import ConfigurationError, VoiceUsageError
from voice_usage._schema import UsageRecord
from voice_usage._store._location import StoreLocation
from voice_usage._store._rows import RowCodec, codec

__all__ = ["SCHEMA_VERSION", "Database", "StoreError", "open_database"]

SCHEMA_VERSION = 6
"""The schema this version of voice-usage writes. Raise it with a migration in `_migrate`.

1: a column per record field. 2: and an index by UTC day (SQLite). 3: the fields SQL does not
read by folded into one JSON column, `body`, and billionths for `cost` only (a write's cost was
mostly SQLite's insert of the wide row). 4: the day index holds the account and the series.
5: SQLite keeps `period_start` as whole microseconds, and one index serves both the look-ups by
time and the roll-up by day (each index was about a third of a row's insert); PostgreSQL
compares the key columns byte by byte (`COLLATE "C"`), not by the database's locale.
6: PostgreSQL's primary key leads with `record_key` (see `_primary_key`).
"""

DAY_SQL = "(period_start + 62135596800000000) / 86400000000"
"""SQLite: a record's UTC day, counted from 0001-01-01 (day 0) so that it is never negative and
integer division never rounds towards the wrong day: `date.fromordinal(day + 1)`."""

MIGRATE_BATCH = 5_000
"""Rows read and written at a time when a store is migrated to schema version 3."""

IN_BATCH = 500
"""Values per `IN (?, ...)` condition (SQLite allows 32,766 bound parameters a statement)."""

ROWS_PER_INSERT = 2_000
"""SQLite: rows a statement inserts at most (fewer when their parameters would pass the limit).
Large: Python waits for the GIL after each statement while the next rows are made."""

_VARIABLES = sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER
_Row = TypeVar("_Row")

ANALYZE_STATISTICS_TARGET = 10
"""PostgreSQL: the statistics target of a write's ANALYZE (the server samples 300 rows per
unit): enough for the planner to look records up by key and by time through the indexes."""

BUSY_TIMEOUT_SECONDS = 60.0
"""How long a SQLite writer waits for another one (two syncs at once) before giving up."""


class StoreError(VoiceUsageError):
    """The store cannot be opened, read or written; the message names it (never a password)."""


def _instant(dialect: str) -> str:
    return "TEXT" if dialect == "sqlite" else "TIMESTAMPTZ"


def _key_text(dialect: str) -> str:
    # PostgreSQL compares text by the database's locale unless told otherwise: in the key's
    # index that was a sixth of the server's work for each row written. The keys are compared
    # for equality and ranges of time only, so byte order is all they need.
    return "TEXT" if dialect == "sqlite" else 'TEXT COLLATE "C"'


def _primary_key(dialect: str) -> str:
    """The records' key columns, in their index's order.

    PostgreSQL: `record_key` first. Within a series the other three are the same in every row,
    and a B-tree insert compares them all on each step down, before the column that tells rows
    apart: with the key first, most comparisons end at the first column (whose place in an index
    tuple is known without reading the columns before it). That was a fifth of the server's work
    for a row written. The index still finds a series' keys (`record_key = ANY(...)`, all four
    columns given); a series' rows by time are read from `vu_records_period`.
    """
    if dialect == "sqlite":
        return "provider, account_key, series, record_key"
    return "record_key, provider, account_key, series"


def _records_table(rows: RowCodec) -> list[str]:
    """The records' table of version `SCHEMA_VERSION` and its index, in ``rows``'s dialect."""
    dialect = rows.dialect
    key = _key_text(dialect)
    fields = [
        f"{c.name} {key if c.name == 'provider' else c.sql_type(dialect)}"
        f"{'' if c.nullable else ' NOT NULL'}"
        for c in rows.table_columns
    ]
    e9s = [f"{column} INTEGER" for column in rows.e9_columns]
    columns = ",\n  ".join(
        [
            f"account_key {key} NOT NULL",
            f"series {key} NOT NULL",
            f"record_key {key} NOT NULL",
            *fields,
            "body TEXT NOT NULL",
            *e9s,
            f"synced_at {_instant(dialect)} NOT NULL",
            f"PRIMARY KEY ({_primary_key(dialect)})",
        ]
    )
    return [f"CREATE TABLE vu_records (\n  {columns}\n)", _PERIOD_INDEX[dialect]]


def _tables(rows: RowCodec) -> list[str]:
    """The schema of version `SCHEMA_VERSION`, in ``rows``'s dialect."""
    instant = _instant(rows.dialect)
    return [
        "CREATE TABLE vu_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        *_records_table(rows),
        f"""CREATE TABLE vu_revisions (
  provider TEXT NOT NULL,
  account_key TEXT NOT NULL,
  series TEXT NOT NULL,
  record_key TEXT NOT NULL,
  revised_at {instant} NOT NULL,
  change TEXT NOT NULL,
  fields TEXT NOT NULL
)""",
        "CREATE INDEX vu_revisions_when ON vu_revisions (provider, account_key, revised_at)",
        f"""CREATE TABLE vu_coverage (
  provider TEXT NOT NULL,
  account_key TEXT NOT NULL,
  series TEXT NOT NULL,
  range_start {instant} NOT NULL,
  range_end {instant} NOT NULL,
  synced_at {instant} NOT NULL,
  PRIMARY KEY (provider, account_key, series, range_start)
)""",
    ]


_PERIOD_INDEX: dict[str, str] = {
    # SQLite: one index serves a series' records by time (the day narrows the range, then the
    # start) and the roll-up by UTC day (`Store.daily_totals`), which reads this index alone,
    # in its order, never the table's wide rows: it holds every column the sums need, the
    # account and series included (a provider's calls and its billed totals are two series of
    # the same usage, never to be added up). PostgreSQL has no such roll-up target.
    "sqlite": "CREATE INDEX vu_records_period ON vu_records (provider, account_key, series, "
    f"{DAY_SQL}, currency, period_start, calls, cost_e9, cost)",
    "postgresql": "CREATE INDEX vu_records_period ON vu_records "
    "(provider, account_key, series, period_start)",
}


class Database:
    """One open connection to the store, in one dialect."""

    dialect: str

    def __init__(self, location: StoreLocation, connection: Any) -> None:
        self.location = location
        self.connection = connection
        self.rows = codec(self.dialect)

    @property
    def name(self) -> str:
        """The store as messages name it."""
        return self.location.shown

    def sql(self, statement: str) -> str:
        """``statement`` with this dialect's placeholders."""
        return statement

    def execute(self, statement: str, params: Sequence[Any] = ()) -> Any:
        """Run one statement; its cursor."""
        return self.connection.execute(self.sql(statement), params)

    def executemany(self, statement: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement for each of ``rows``."""
        if rows:
            self.connection.executemany(self.sql(statement), rows)

    def insert_rows(
        self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
    ) -> None:
        """Insert new rows, as fast as the database allows."""
        raise NotImplementedError

    def insert_new(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> bool:
        """Insert ``rows`` when none of their keys is in ``table`` yet; else insert none of them.

        Whether they were inserted. ``rows`` is read to its end either way, as the database
        takes them (rows made as they are inserted keep the database busy meanwhile).
        """
        raise NotImplementedError

    def batches(self, statement: str, size: int) -> Iterator[list[tuple[Any, ...]]]:
        """The rows ``statement`` selects, ``size`` at a time (never all of them in memory)."""
        cursor = self.execute(statement)
        while batch := cursor.fetchmany(size):
            yield batch

    def among(self, column: str, values: Sequence[Any]) -> Iterator[tuple[str, tuple[Any, ...]]]:
        """Conditions "``column`` is one of ``values``" with their parameters, a statement each.

        `IN (?, ...)` in batches of `IN_BATCH`, well under SQLite's limit of bound parameters.
        """
        for start in range(0, len(values), IN_BATCH):
            batch = tuple(values[start : start + IN_BATCH])
            yield f"{column} IN ({', '.join('?' * len(batch))})", batch

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """A write transaction: all of it is stored, or none of it."""
        raise NotImplementedError

    def lock_series(self, provider: str, account_key: str, series: str) -> None:
        """Hold writers of the same series apart until the transaction ends."""

    def analyze(self, table: str, columns: Sequence[str]) -> None:
        """Refresh the planner's statistics of ``columns`` of ``table`` (PostgreSQL only)."""

    def table_columns(self, table: str) -> set[str]:
        """The columns ``table`` has, or an empty set when it does not exist."""
        raise NotImplementedError

    def close(self) -> None:
        """Close the connection."""
        self.connection.close()


_WRITERS: dict[str, threading.Lock] = {}
_WRITERS_LOCK = threading.Lock()


def _writer_lock(path: str) -> threading.Lock:
    """The lock this process's writers to one SQLite file queue on (one per file)."""
    key = os.path.realpath(path)
    with _WRITERS_LOCK:
        return _WRITERS.setdefault(key, threading.Lock())


class SQLiteDatabase(Database):
    """SQLite in WAL mode: readers never block the writer, writers wait for each other."""

    dialect = "sqlite"

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        # Writers of this process queue on a lock of their own first: SQLite's busy handler
        # polls with sleeps of up to 100 ms, so the file's write lock would stand idle between
        # writers (accounts synced side by side). Past the busy timeout, SQLite decides.
        writer = _writer_lock(self.location.target)
        queued = writer.acquire(timeout=BUSY_TIMEOUT_SECONDS)
        try:
            # IMMEDIATE takes the write lock at the start, so two writers queue on the busy
            # timeout instead of one failing when it upgrades a read lock.
            self.connection.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self.connection.execute("ROLLBACK")
                raise
            self.connection.execute("COMMIT")
        finally:
            if queued:
                writer.release()

    def insert_rows(
        self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
    ) -> None:
        self._insert(table, columns, rows, "")

    def insert_new(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> bool:
        self.connection.execute("SAVEPOINT vu_new")
        given, inserted = self._insert(table, columns, rows, " ON CONFLICT DO NOTHING")
        if inserted != given:
            self.connection.execute("ROLLBACK TO vu_new")
        self.connection.execute("RELEASE vu_new")
        return inserted == given

    def _insert(
        self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], conflict: str
    ) -> tuple[int, int]:
        """Rows given and rows inserted, by `INSERT ... VALUES` statements of many rows each.

        A statement of many rows costs SQLite about a fifth less a row than a statement each,
        and runs without Python's GIL: while it runs, the next rows are made (see
        `_inserted_behind`), as PostgreSQL's server inserts rows while the client makes the next.
        """
        width = len(columns)
        per = max(1, min(ROWS_PER_INSERT, self.connection.getlimit(_VARIABLES) // width))
        head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
        one = f"({', '.join('?' * width)})"
        full = head + ", ".join([one] * per) + conflict
        flat, execute = itertools.chain.from_iterable, self.connection.execute

        def insert(batch: Sequence[Sequence[Any]]) -> int:
            if len(batch) == per:
                statement = full
            else:  # the last few rows
                statement = head + ", ".join([one] * len(batch)) + conflict
            return int(execute(statement, list(flat(batch))).rowcount)

        batches = _batches(rows, per)
        first = next(batches, None)
        if first is None:
            return 0, 0
        if len(first) < per or isinstance(rows, Sequence):
            # Made already, or all in one statement: nothing to make meanwhile.
            given, inserted = len(first), insert(first)
            for batch in batches:
                given, inserted = given + len(batch), inserted + insert(batch)
            return given, inserted
        return _inserted_behind(insert, itertools.chain((first,), batches))

    def table_columns(self, table: str) -> set[str]:
        return {row[1] for row in self.connection.execute(f"PRAGMA table_info({table})")}


class PostgreSQLDatabase(Database):
    """PostgreSQL through psycopg 3; new rows go in with COPY."""

    dialect = "postgresql"

    def __init__(self, location: StoreLocation, connection: Any) -> None:
        super().__init__(location, connection)
        _dump_numerics_once(connection)
        self._types: dict[str, dict[str, str]] = {}
        """Each table's column -> type name, for binary COPY (read once per connection)."""

    def sql(self, statement: str) -> str:
        return statement.replace("?", "%s")

    def executemany(self, statement: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            with self.connection.cursor() as cursor:
                cursor.executemany(self.sql(statement), rows)

    def batches(self, statement: str, size: int) -> Iterator[list[tuple[Any, ...]]]:
        # A cursor on the server: a client cursor would hold every row at once.
        with self.connection.cursor(name="vu_batches") as cursor:
            cursor.execute(self.sql(statement))
            while batch := cursor.fetchmany(size):
                yield batch

    def among(self, column: str, values: Sequence[Any]) -> Iterator[tuple[str, tuple[Any, ...]]]:
        # One array parameter: psycopg parses a statement's placeholders on every execution,
        # which for hundreds of them cost more than the look-ups.
        if values:
            yield f"{column} = ANY(?)", (list(values),)

    def insert_rows(
        self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
    ) -> None:
        if isinstance(rows, Sequence) and not rows:
            return
        # Binary COPY with the columns' types given: no text to make and parse for each value,
        # and no type looked up per value (about a third less of the client's time).
        types = self._column_types(table)
        with (
            self.connection.cursor() as cursor,
            cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as copy,
        ):
            copy.set_types([types[column] for column in columns])
            for row in rows:
                copy.write_row(row)

    def insert_new(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> bool:
        import psycopg

        remaining = iter(rows)
        try:
            with self.connection.transaction():  # a savepoint: a failed COPY leaves nothing
                self.insert_rows(table, columns, remaining)
        except psycopg.errors.UniqueViolation:
            for _ in remaining:  # read to the end, as promised: the caller keeps what it made
                pass
            return False
        return True

    def _column_types(self, table: str) -> dict[str, str]:
        found = self._types.get(table)
        if found is None:
            cursor = self.execute(
                "SELECT column_name, udt_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = ?",
                (table,),
            )
            found = self._types[table] = dict(cursor.fetchall())
        return found

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        with self.connection.transaction():
            yield

    def analyze(self, table: str, columns: Sequence[str]) -> None:
        # Only the columns looked up by: the wide ones (extras) cost most of a whole-table
        # ANALYZE, a sixth of a first sync's time before. And from a sample of 3,000 rows,
        # not the server's default 30,000 (for the rest of this transaction only): the look-ups
        # need the table's size, that a key is unique and how a range of time divides the
        # rows, all of which a small sample tells; the default sample cost an eighth of a
        # first write of 200,000 rows.
        self.execute(
            "SELECT set_config('default_statistics_target', ?, true)",
            (str(ANALYZE_STATISTICS_TARGET),),
        )
        self.execute(f"ANALYZE {table} ({', '.join(columns)})")

    def lock_series(self, provider: str, account_key: str, series: str) -> None:
        digest = hashlib.blake2b(
            f"{provider}\0{account_key}\0{series}".encode(), digest_size=8
        ).digest()
        self.execute(
            "SELECT pg_advisory_xact_lock(?)", (int.from_bytes(digest, "big", signed=True),)
        )

    def table_columns(self, table: str) -> set[str]:
        cursor = self.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = ?",
            (table,),
        )
        return {row[0] for row in cursor.fetchall()}


def _batches(rows: Iterable[_Row], size: int) -> Iterator[Sequence[_Row]]:
    """``rows`` ``size`` at a time, the last batch shorter; a sequence is sliced, not copied."""
    if isinstance(rows, Sequence):
        for start in range(0, len(rows), size):
            yield rows[start : start + size]
        return
    remaining = iter(rows)
    while batch := list(itertools.islice(remaining, size)):
        yield batch


def _inserted_behind(
    insert: Callable[[Sequence[_Row]], int], batches: Iterator[Sequence[_Row]]
) -> tuple[int, int]:
    """Rows given and rows inserted: ``insert`` run on each of ``batches`` in a thread of its own.

    This thread makes the batches (``batches`` is lazy) while that one inserts the last; the
    statements run in order, one at a time, and the connection is the inserting thread's
    alone until it has finished. Its failure is raised here; an interruption here stops it
    before its next statement.
    """
    queued: queue.SimpleQueue[Sequence[_Row] | None] = queue.SimpleQueue()
    stop = threading.Event()
    inserted = 0
    failure: list[BaseException] = []

    def run() -> None:
        nonlocal inserted
        try:
            while (batch := queued.get()) is not None and not stop.is_set():
                inserted += insert(batch)
        except BaseException as exc:  # raised again in the thread that waits for this one
            failure.append(exc)

    worker = threading.Thread(target=run, name="voice-usage store insert", daemon=True)
    worker.start()
    given = 0
    try:
        for batch in batches:
            if failure:
                break
            queued.put(batch)
            given += len(batch)
    except BaseException:
        stop.set()
        raise
    finally:
        queued.put(None)
        worker.join()
    if failure:
        raise failure[0]
    return given, inserted


def _dump_numerics_once(connection: Any) -> None:
    """Have ``connection``'s binary COPY dump each distinct decimal once, not once per row.

    psycopg's NUMERIC dumper takes a Decimal apart digit by digit, every time: for a write it
    was a sixth of this process's time, while costs repeat a few prices over and over. Each
    dumped form is kept by the decimal's text, which is exact to the exponent: `0.14` and
    `0.140` are equal but stored with their own scales, as written.
    """
    from psycopg.adapt import Dumper
    from psycopg.pq import Format

    numeric = connection.adapters.types["numeric"].oid
    standard = connection.adapters.get_dumper_by_oid(numeric, Format.BINARY)

    class OnceNumericBinaryDumper(Dumper):
        format = Format.BINARY
        oid = numeric

        def __init__(self, cls: type, context: Any = None) -> None:
            super().__init__(cls, context)
            self._dump = standard(cls, context).dump
            self._dumped: dict[str, bytes] = {}

        def dump(self, obj: Any) -> bytes:
            if type(obj) is not Decimal:
                return bytes(self._dump(obj))
            text = str(obj)
            found = self._dumped.get(text)
            if found is None:
                if len(self._dumped) >= _NUMERICS_KEPT:
                    self._dumped.clear()
                found = self._dumped[text] = bytes(self._dump(obj))
            return found

    # By the type only, for COPY with `set_types`: a decimal in a query is dumped as before.
    connection.adapters.register_dumper(None, OnceNumericBinaryDumper)


_NUMERICS_KEPT = 10_000
"""PostgreSQL: distinct decimals a connection keeps the dumped form of (then starts again)."""


def _connect_sqlite(location: StoreLocation, *, create: bool) -> SQLiteDatabase:
    path = Path(location.target)
    folder = path.parent
    if location.default and create:
        folder.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        if not create:
            raise StoreError(
                f"store {location.shown}: no such file; run 'voice-usage sync' to fill it first"
            )
        if not folder.is_dir():
            raise StoreError(f"store {location.shown}: the folder {folder} does not exist")
        if not os.access(folder, os.W_OK):
            raise StoreError(f"store {location.shown}: the folder {folder} is not writable")
    elif path.is_dir():
        raise StoreError(f"store {location.shown}: is a folder, not a SQLite file")
    try:
        connection = sqlite3.connect(
            path,
            timeout=BUSY_TIMEOUT_SECONDS,
            isolation_level=None,  # transactions are explicit (BEGIN IMMEDIATE)
            check_same_thread=False,
        )
    except sqlite3.Error as exc:
        raise StoreError(f"store {location.shown}: cannot open: {exc}") from None
    try:
        connection.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
        mode = _wal(connection)
        if str(mode).lower() != "wal":
            raise StoreError(f"store {location.shown}: cannot switch to WAL mode (got {mode})")
        connection.execute("PRAGMA synchronous = NORMAL")
    except sqlite3.Error as exc:
        connection.close()
        raise StoreError(f"store {location.shown}: cannot open: {exc}") from None
    return SQLiteDatabase(location, connection)


def _wal(connection: sqlite3.Connection) -> str:
    """Switch to WAL; the journal mode it is in afterwards.

    SQLite answers "database is locked" at once, without its busy handler, while another
    connection creates the same new file in the default mode: asked again until the busy
    timeout, so two syncs starting on one new file both open it.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    while True:
        try:
            return str(connection.execute("PRAGMA journal_mode = WAL").fetchone()[0])
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _connect_postgresql(location: StoreLocation) -> PostgreSQLDatabase:
    try:
        import psycopg
    except ImportError:
        raise ConfigurationError(
            f"store {location.shown}: PostgreSQL needs psycopg; "
            "install voice-usage[postgres] (pip install 'voice-usage[postgres]')"
        ) from None
    try:
        connection = psycopg.connect(location.target, autocommit=True, connect_timeout=10)
        connection.execute("SET TIME ZONE 'UTC'")
    except psycopg.Error as exc:
        raise StoreError(
            f"store {location.shown}: cannot connect: {_one_line(exc, location)}"
        ) from None
    return PostgreSQLDatabase(location, connection)


def _one_line(exc: BaseException, location: StoreLocation) -> str:
    """The first meaningful line of a driver error, with the password (if any) masked."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else type(exc).__name__
    for line in lines[1:]:
        if "failed" in text and ("FATAL" in line or "refused" in line):
            text = line
            break
    from urllib.parse import urlsplit

    password = urlsplit(location.target).password
    if password:
        text = text.replace(password, "***")
    return text.replace(location.target, location.shown)


def open_database(location: StoreLocation, *, create: bool = True) -> Database:
    """Connect to the store at ``location`` and bring its schema up to date.

    With ``create=False`` (reports) a SQLite file that does not exist is an error, not a new store.

    Raises:
        StoreError: naming the store, when it cannot be opened or its schema is newer.
    """
    if location.kind == "sqlite":
        database: Database = _connect_sqlite(location, create=create)
        driver_errors: tuple[type[BaseException], ...] = (sqlite3.Error,)
    else:
        database = _connect_postgresql(location)
        import psycopg

        driver_errors = (psycopg.Error,)
    try:
        _migrate(database)
    except StoreError:
        database.close()
        raise
    except driver_errors as exc:
        database.close()
        raise StoreError(
            f"store {location.shown}: cannot read it as a voice-usage store: "
            f"{_one_line(exc, location)}"
        ) from None
    return database


def _version(database: Database) -> int | None:
    if not database.table_columns("vu_meta"):
        return None
    row = database.execute("SELECT value FROM vu_meta WHERE key = 'schema_version'").fetchone()
    if row is None:
        raise StoreError(
            f"store {database.name}: has a vu_meta table without a schema version; "
            "it was not written by voice-usage"
        )
    try:
        return int(row[0])
    except ValueError:
        raise StoreError(
            f"store {database.name}: schema version {row[0]!r} is not a number"
        ) from None


def _migrate(database: Database) -> None:
    version = _version(database)
    if version is not None and version > SCHEMA_VERSION:
        raise StoreError(
            f"store {database.name}: schema version {version} is newer than this voice-usage "
            f"understands ({SCHEMA_VERSION}); upgrade voice-usage to read it"
        )
    if version == SCHEMA_VERSION:
        return
    with database.transaction():
        # Decided again inside the transaction: another process may have migrated meanwhile.
        version = _version(database)
        if version is None:
            if database.dialect == "sqlite" and database.table_columns("vu_records"):
                raise StoreError(f"store {database.name}: not a voice-usage store")
            for statement in _tables(database.rows):
                database.execute(statement)
            database.execute(
                "INSERT INTO vu_meta (key, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )
            return
        if version < 3:
            _fold_columns(database)  # makes the table and index of the current version
        else:
            if version < 5:
                _to_version_5(database)
            _to_version_6(database)
        database.execute(
            "UPDATE vu_meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),)
        )


_STAMP_TO_MICROS = (
    "CAST(strftime('%s', substr(period_start, 1, 19)) AS INTEGER) * 1000000 "
    "+ CAST(substr(period_start, 21, 6) AS INTEGER)"
)
"""SQLite: the fixed-width UTC text of versions 1 to 4 (`2026-10-01T12:00:00.000000+00:00`) as
microseconds since 1970."""


def _to_version_5(database: Database) -> None:
    """Version 3 or 4 -> 5.

    SQLite: the records' table made again with `period_start` in microseconds, in one
    statement, and its one index; PostgreSQL: the key columns compared byte by byte.
    """
    if database.dialect == "postgresql":
        key = _key_text(database.dialect)
        database.execute(
            "ALTER TABLE vu_records "
            + ", ".join(
                f"ALTER COLUMN {name} TYPE {key}"
                for name in ("provider", *database.rows.KEY_COLUMNS)
            )
        )
        return
    for index in ("vu_records_period", "vu_records_day"):
        database.execute(f"DROP INDEX IF EXISTS {index}")
    database.execute("ALTER TABLE vu_records RENAME TO vu_records_old")
    table, *indexes = _records_table(database.rows)
    database.execute(table)
    columns = (*database.rows.all_columns, "synced_at")
    selected = [_STAMP_TO_MICROS if name == "period_start" else name for name in columns]
    database.execute(
        f"INSERT INTO vu_records ({', '.join(columns)}) "
        f"SELECT {', '.join(selected)} FROM vu_records_old"
    )
    database.execute("DROP TABLE vu_records_old")
    for statement in indexes:
        database.execute(statement)


def _to_version_6(database: Database) -> None:
    """Version 5 -> 6: PostgreSQL's primary key made again in `_primary_key`'s order.

    SQLite's is unchanged.
    """
    if database.dialect == "postgresql":
        database.execute(
            "ALTER TABLE vu_records DROP CONSTRAINT vu_records_pkey, "
            f"ADD CONSTRAINT vu_records_pkey PRIMARY KEY ({_primary_key(database.dialect)})"
        )


def _fold_columns(database: Database) -> None:
    """Version 1 or 2 -> 3: the records' table made again, its rows read and written anew.

    Each row is read as a record by the codec of the older columns and written by the current
    one, so it round-trips exactly as a sync writes it; its key and `synced_at` are kept as
    stored. Revisions and coverage are kept as they are (their tables did not change).
    """
    rows = database.rows
    for index in ("vu_records_period", "vu_records_day"):
        database.execute(f"DROP INDEX IF EXISTS {index}")
    database.execute("ALTER TABLE vu_records RENAME TO vu_records_old")
    if database.dialect == "postgresql":  # the key's constraint keeps its name otherwise
        database.execute(
            "ALTER TABLE vu_records_old RENAME CONSTRAINT vu_records_pkey TO vu_records_old_pkey"
        )
    for statement in _records_table(rows):
        database.execute(statement)
    present = database.table_columns("vu_records_old")
    names = [name for name in present if name not in ("synced_at", *rows.KEY_COLUMNS)]
    names = [name for name in names if not name.endswith("_e9")]
    selected = ", ".join((*rows.KEY_COLUMNS, *names, "synced_at"))
    columns = (*rows.all_columns, "synced_at")
    for batch in database.batches(f"SELECT {selected} FROM vu_records_old", MIGRATE_BATCH):
        database.insert_rows(
            "vu_records",
            columns,
            [
                rows.stamped_row(
                    old[0],
                    old[1],
                    old[2],
                    UsageRecord.trusted(**rows.legacy_values(names, old[3:-1])),
                    old[-1],
                )
                for old in batch
            ],
        )
    database.execute("DROP TABLE vu_records_old")
