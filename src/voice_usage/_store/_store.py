"""The history store: records kept per (provider, account, series), with what changed and when.

A *series* is one stream of a provider's records, named by its granularity and query options
(`call`, `day?source=billing`). Within a series a record is identified by its key (see
`_rows.record_key`). `Store.write()` replaces what the store holds for one series over one range
with what the vendor answered for that range, in one transaction: new records are added,
changed ones replaced (the change kept in `vu_revisions`), records the vendor no longer lists
removed (kept there too), and the range is marked covered. Coverage (`vu_coverage`) is what
lets a report say which ranges the store cannot answer.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Self

from pydantic_core import to_jsonable_python

from voice_usage._schema import UsageRecord
from voice_usage._store._db import DAY_SQL, Database, StoreError, open_database
from voice_usage._store._location import StoreLocation, resolve_location
from voice_usage._store._rows import format_stamp, micros, parse_stamp

__all__ = ["Revision", "Store", "WriteCounts", "open_store"]

_ANALYZE_AFTER = 5_000
"""New rows after which PostgreSQL's statistics are refreshed: a table it still believes
small is scanned whole for every look-up by key, which makes a first sync quadratic."""


@dataclass
class WriteCounts:
    """What one write did to the store."""

    new: int = 0
    revised: int = 0
    unchanged: int = 0
    removed: int = 0
    """Records the store held in the range that the vendor no longer lists (kept as revisions)."""

    def add(self, other: WriteCounts) -> None:
        """Add ``other``'s counts to these."""
        self.new += other.new
        self.revised += other.revised
        self.unchanged += other.unchanged
        self.removed += other.removed


@dataclass(frozen=True)
class Revision:
    """One stored record that changed: which, when, and its fields before and after."""

    provider: str
    account: str | None
    series: str
    key: str
    revised_at: datetime
    change: str
    """`revised` (the vendor answered differently) or `removed` (it no longer lists the record)."""
    fields: dict[str, Any]
    """For `revised`: field -> [before, after] (JSON values); for `removed`: the record as it was."""


def _account_key(account: str | None) -> str:
    return account or ""


class Store:
    """An open history store. Open one with `open_store()`; close it (or use `with`) when done."""

    def __init__(self, database: Database) -> None:
        self._db = database
        self._rows = database.rows
        # A held row as stored: every column a write sets, the key columns aside.
        self._stored = ", ".join(self._rows.stored_columns)

    @property
    def name(self) -> str:
        """The store as messages name it (a path, or a URL without its password)."""
        return self._db.name

    @property
    def dialect(self) -> str:
        """`sqlite` or `postgresql`."""
        return self._db.dialect

    @property
    def location(self) -> StoreLocation:
        """Where the store is."""
        return self._db.location

    def __repr__(self) -> str:
        return f"<Store {self.name}>"

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _instant(self, value: datetime) -> Any:
        return format_stamp(value) if self.dialect == "sqlite" else value

    def _range(self, since: datetime, until: datetime) -> tuple[str, tuple[Any, ...]]:
        """The condition "`period_start` in `[since, until)`" and its parameters.

        SQLite: the days first, which narrows the range in the records' index (a day, then
        the start, follow the series there), then the microseconds.
        """
        if self.dialect != "sqlite":
            return "period_start >= ? AND period_start < ?", (since, until)
        start, end = micros(since), micros(until)
        return (
            f"{DAY_SQL} BETWEEN ? AND ? AND period_start >= ? AND period_start < ?",
            (_day_number(since), _day_number(until), start, end),
        )

    def _read_instant(self, value: Any) -> datetime:
        return parse_stamp(value) if isinstance(value, str) else value.astimezone(UTC)

    # -- writing ---------------------------------------------------------------------------------

    def write(
        self,
        provider: str,
        account: str | None,
        series: str,
        records: Iterable[UsageRecord],
        *,
        since: datetime,
        until: datetime,
        now: datetime | None = None,
    ) -> WriteCounts:
        """Make the store hold exactly ``records`` for ``series`` in `[since, until)`.

        ``records`` must be everything the vendor answered for that range: the range is marked
        covered, and records held in it that are not among ``records`` are removed. All of it
        happens in one transaction, or none of it.

        Raises:
            StoreError: when two records share a key, or the database fails.
        """
        now = now or datetime.now(UTC)
        if not isinstance(records, Sequence):  # read first: a lazy source holds no lock open
            records = list(records)
        try:
            with self._db.transaction():
                account_key = _account_key(account)
                self._db.lock_series(provider, account_key, series)
                return self._write(provider, account_key, series, records, since, until, now)
        except StoreError:
            raise
        except Exception as exc:
            if _is_driver_error(exc):
                raise StoreError(f"store {self.name}: cannot write: {_first_line(exc)}") from None
            raise

    def _write(
        self,
        provider: str,
        account_key: str,
        series: str,
        records: Sequence[UsageRecord],
        since: datetime,
        until: datetime,
        now: datetime,
    ) -> WriteCounts:
        db, rows = self._db, self._rows
        held = self._held(provider, account_key, series, since, until)
        counts = WriteCounts()
        inserts: list[tuple[Any, ...]] = []
        updates: list[tuple[Any, ...]] = []
        revisions: list[tuple[Any, ...]] = []
        stamp = self._instant(now)
        values = rows.values
        incoming: dict[str, UsageRecord] = {}
        written: list[tuple[Any, ...]] = []

        def made() -> Iterator[tuple[Any, ...]]:
            # Each record's row (kept in `written`), its key made with it. A record of another
            # provider, or a second one with a key already made, ends the write and its
            # transaction: nothing of it is kept, rows already given to the database included.
            to_row, keep = rows.written_row, written.append
            for record in records:
                row = to_row(account_key, series, record, stamp)
                key = row[2]
                if row[3] != provider:
                    raise StoreError(
                        f"store {self.name}: a {row[3]} record given to write as {provider}"
                    )
                if key in incoming:
                    raise StoreError(
                        f"store {self.name}: {provider} gave two records with the same identity "
                        f"({key}) in series {series}; the store cannot keep both apart"
                    )
                incoming[key] = record
                keep(row)
                yield row

        def compare(key: str, record: UsageRecord, row: tuple[Any, ...], stored: Any) -> None:
            # The same stored form is the same record: a re-sync compares rows, and decodes
            # only those that differ (a decimal written with another exponent, say, differs
            # as text but not in value, and is unchanged). ``row`` ends with `synced_at`.
            if stored == row[3:-1]:
                counts.unchanged += 1
                return
            before, after = values(stored), record.__dict__
            changed = {
                name: [_json(before[name]), _json(after[name])]
                for name in rows.field_names
                if before[name] != after[name]
            }
            if not changed:
                counts.unchanged += 1
                return
            counts.revised += 1
            updates.append((*row[3:], provider, account_key, series, key))
            revisions.append(
                (provider, account_key, series, key, stamp, "revised", _dumps(changed))
            )

        columns = (*rows.all_columns, "synced_at")
        new: Iterable[tuple[Any, ...]] = inserts
        first = not held
        if first:
            # Nothing held in the range (its first write): every record is new but for an
            # event whose time moved here. The database takes the rows as they are made, and
            # inserts some while this process makes the next (and their keys).
            inserts = written
            new = made()
        else:
            for row in made():
                key = row[2]
                stored = held.pop(key, None)
                if stored is None:
                    inserts.append(row)
                else:
                    compare(key, incoming[key], row, stored)
        # What is left was held in the range but not answered again: the vendor dropped it.
        removed = [(provider, account_key, series, key) for key in held]
        counts.removed = len(removed)
        for key, stored in held.items():
            revisions.append(
                (
                    provider,
                    account_key,
                    series,
                    key,
                    stamp,
                    "removed",
                    _dumps(_json(values(stored))),
                )
            )
        db.executemany(
            "DELETE FROM vu_records WHERE provider = ? AND account_key = ? AND series = ? "
            "AND record_key = ?",
            removed,
        )
        # Records not held in the range are new, but for an event whose time moved out of it
        # (held under its call id with another start). Inserted as new at once, without a
        # look-up by key, unless one of them was held: then all of them are looked up.
        if (records if first else inserts) and not db.insert_new("vu_records", columns, new):
            moved = [row[2] for row in inserts if row[2].startswith("call:")]
            found = self._held_by_key(provider, account_key, series, moved)
            fresh = []
            for row in inserts:
                key = row[2]
                stored = found.get(key)
                if stored is None:
                    fresh.append(row)
                else:
                    compare(key, incoming[key], row, stored)
            db.insert_rows("vu_records", columns, fresh)
            inserts = fresh
        counts.new = len(inserts)
        if len(inserts) >= _ANALYZE_AFTER:
            db.analyze(
                "vu_records", ("provider", "account_key", "series", "record_key", "period_start")
            )
        if updates:
            assignments = ", ".join(f"{name} = ?" for name in (*columns[3:],))
            db.executemany(
                f"UPDATE vu_records SET {assignments} WHERE provider = ? AND account_key = ? "
                "AND series = ? AND record_key = ?",
                updates,
            )
        db.executemany(
            "INSERT INTO vu_revisions (provider, account_key, series, record_key, revised_at, "
            "change, fields) VALUES (?, ?, ?, ?, ?, ?, ?)",
            revisions,
        )
        self._cover(provider, account_key, series, since, until, stamp)
        return counts

    def _held(
        self, provider: str, account_key: str, series: str, since: datetime, until: datetime
    ) -> dict[str, tuple[Any, ...]]:
        """The rows of ``series`` starting in `[since, until)`, by key, as stored."""
        within, bounds = self._range(since, until)
        cursor = self._db.execute(
            f"SELECT record_key, {self._stored} FROM vu_records WHERE provider = ? "
            f"AND account_key = ? AND series = ? AND {within}",
            (provider, account_key, series, *bounds),
        )
        return {row[0]: row[1:] for row in cursor.fetchall()}

    def _held_by_key(
        self, provider: str, account_key: str, series: str, keys: Sequence[str]
    ) -> dict[str, tuple[Any, ...]]:
        found: dict[str, tuple[Any, ...]] = {}
        for condition, params in self._db.among("record_key", keys):
            cursor = self._db.execute(
                f"SELECT record_key, {self._stored} FROM vu_records WHERE provider = ? "
                f"AND account_key = ? AND series = ? AND {condition}",
                (provider, account_key, series, *params),
            )
            found.update({row[0]: row[1:] for row in cursor.fetchall()})
        return found

    def _cover(
        self,
        provider: str,
        account_key: str,
        series: str,
        since: datetime,
        until: datetime,
        stamp: Any,
    ) -> None:
        """Mark `[since, until)` covered, merged with the ranges it touches."""
        db = self._db
        key = (provider, account_key, series)
        touching = db.execute(
            "SELECT range_start, range_end FROM vu_coverage WHERE provider = ? AND account_key = ? "
            "AND series = ? AND range_start <= ? AND range_end >= ?",
            (*key, self._instant(until), self._instant(since)),
        ).fetchall()
        start, end = since, until
        for range_start, range_end in touching:
            start = min(start, self._read_instant(range_start))
            end = max(end, self._read_instant(range_end))
        db.executemany(
            "DELETE FROM vu_coverage WHERE provider = ? AND account_key = ? AND series = ? "
            "AND range_start = ?",
            [(*key, range_start) for range_start, _ in touching],
        )
        db.execute(
            "INSERT INTO vu_coverage (provider, account_key, series, range_start, range_end, "
            "synced_at) VALUES (?, ?, ?, ?, ?, ?)",
            (*key, self._instant(start), self._instant(end), stamp),
        )

    # -- reading ---------------------------------------------------------------------------------

    def records(
        self,
        provider: str,
        account: str | None,
        series: str,
        since: datetime,
        until: datetime,
    ) -> Iterator[UsageRecord]:
        """The stored records of ``series`` that start in `[since, until)`, in time order."""
        within, bounds = self._range(since, until)
        cursor = self._db.execute(
            f"SELECT {self._stored} FROM vu_records WHERE provider = ? AND account_key = ? "
            f"AND series = ? AND {within} ORDER BY period_start, record_key",
            (provider, _account_key(account), series, *bounds),
        )
        to_record = self._rows.record
        while batch := cursor.fetchmany(1000):
            for row in batch:
                yield to_record(row)

    def coverage(
        self, provider: str, account: str | None, series: str
    ) -> list[tuple[datetime, datetime]]:
        """The ranges of ``series`` the store holds, in order, each `[start, end)`."""
        rows = self._db.execute(
            "SELECT range_start, range_end FROM vu_coverage WHERE provider = ? AND account_key = ? "
            "AND series = ? ORDER BY range_start",
            (provider, _account_key(account), series),
        ).fetchall()
        return [(self._read_instant(a), self._read_instant(b)) for a, b in rows]

    def gaps(
        self, provider: str, account: str | None, series: str, since: datetime, until: datetime
    ) -> list[tuple[datetime, datetime]]:
        """The parts of `[since, until)` the store does not cover for ``series``."""
        missing: list[tuple[datetime, datetime]] = []
        cursor = since
        for start, end in self.coverage(provider, account, series):
            if end <= cursor:
                continue
            if start >= until:
                break
            if start > cursor:
                missing.append((cursor, start))
            cursor = max(cursor, end)
            if cursor >= until:
                break
        if cursor < until:
            missing.append((cursor, until))
        return missing

    def providers(self, account: str | None = None) -> list[str]:
        """The providers the store holds a synced range of, for ``account``."""
        rows = self._db.execute(
            "SELECT DISTINCT provider FROM vu_coverage WHERE account_key = ? ORDER BY provider",
            (_account_key(account),),
        ).fetchall()
        return [row[0] for row in rows]

    def watermark(self, provider: str, account: str | None, series: str) -> datetime | None:
        """The end of the latest range synced for ``series``, or `None` before its first sync."""
        covered = self.coverage(provider, account, series)
        return max(end for _, end in covered) if covered else None

    def revisions(
        self,
        provider: str | None = None,
        account: str | None = None,
        *,
        since: datetime | None = None,
    ) -> list[Revision]:
        """Changes made to stored records (by provider, account, and after ``since``), oldest first."""
        where, params = [], []
        if provider is not None:
            where.append("provider = ?")
            params.append(provider)
        if account is not None:
            where.append("account_key = ?")
            params.append(account)
        if since is not None:
            where.append("revised_at >= ?")
            params.append(self._instant(since))
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        rows = self._db.execute(
            "SELECT provider, account_key, series, record_key, revised_at, change, fields "
            f"FROM vu_revisions{clause} ORDER BY revised_at, provider, record_key",
            params,
        ).fetchall()
        return [
            Revision(p, a or None, s, k, self._read_instant(t), c, json.loads(f))
            for p, a, s, k, t, c, f in rows
        ]

    def count(self, provider: str | None = None) -> int:
        """How many records the store holds (for one provider, or all)."""
        if provider is None:
            row = self._db.execute("SELECT COUNT(*) FROM vu_records").fetchone()
        else:
            row = self._db.execute(
                "SELECT COUNT(*) FROM vu_records WHERE provider = ?", (provider,)
            ).fetchone()
        return int(row[0])

    def daily_totals(
        self, since: datetime, until: datetime
    ) -> list[tuple[str, str | None, str, str, int, Decimal | None, str | None]]:
        """Calls and cost per provider, account, series, UTC day and currency, summed in SQL.

        Rows: (provider, account, series, day `YYYY-MM-DD`, calls, cost, currency), the account
        None for the default one. Series are kept apart because two series of one provider
        and account (its calls, and its billed totals where the vendor keeps them apart) are
        the same usage told twice: adding them would count it twice. A cost is `None` when a
        record of the group has no cost (unknown stays unknown).
        """
        if self.dialect == "sqlite":
            # Read from the index `vu_records_period` alone, in its order (provider, account,
            # series, day, currency): no sort of the rows into groups.
            within, bounds = self._range(since, until)
            cursor = self._db.execute(
                f"SELECT provider, account_key, series, {DAY_SQL} AS day, SUM(calls), "
                "SUM(cost_e9), COUNT(*) - COUNT(cost), COUNT(cost) - COUNT(cost_e9), currency "
                f"FROM vu_records WHERE {within} "
                "GROUP BY provider, account_key, series, day, currency "
                "ORDER BY provider, account_key, series, day, currency",
                bounds,
            )
            out = []
            for group in cursor:
                provider, account, series, day, calls, cost_e9, unknown, inexact, currency = group
                if inexact:  # a cost with more than nine places: sum its text exactly instead
                    cost = self._exact_sum(provider, account, series, day, currency)
                else:
                    cost = None if unknown else Decimal(cost_e9 or 0).scaleb(-9)
                out.append(
                    (
                        provider,
                        account or None,
                        series,
                        date.fromordinal(day + 1).isoformat(),
                        int(calls or 0),
                        cost,
                        currency,
                    )
                )
            return out
        cursor = self._db.execute(
            "SELECT provider, account_key, series, "
            "to_char(period_start AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, "
            "SUM(calls), SUM(cost), COUNT(*) - COUNT(cost), currency FROM vu_records "
            "WHERE period_start >= ? AND period_start < ? "
            "GROUP BY provider, account_key, series, day, currency "
            "ORDER BY provider, account_key, series, day, currency",
            (since, until),
        )
        return [
            (
                provider,
                account or None,
                series,
                day,
                int(calls or 0),
                None if unknown else Decimal(cost or 0),
                currency,
            )
            for provider, account, series, day, calls, cost, unknown, currency in cursor
        ]

    def _exact_sum(
        self, provider: str, account: str, series: str, day: int, currency: str | None
    ) -> Decimal | None:
        values = self._db.execute(
            "SELECT cost FROM vu_records WHERE provider = ? AND account_key = ? AND series = ? "
            f"AND {DAY_SQL} = ? AND currency IS ?",
            (provider, account, series, day, currency),
        ).fetchall()
        if any(value is None for (value,) in values):
            return None
        return sum((Decimal(value) for (value,) in values), Decimal(0))


def _day_number(instant: datetime) -> int:
    """The UTC day of ``instant`` as `DAY_SQL` counts it (0 for 0001-01-01)."""
    return micros(instant) // 86_400_000_000 + 719_162


def _json(value: Any) -> Any:
    return to_jsonable_python(value)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _is_driver_error(exc: BaseException) -> bool:
    import sqlite3

    if isinstance(exc, sqlite3.Error):
        return True
    module = type(exc).__module__
    return module.startswith("psycopg")


def open_store(store: str | Store | None = None, *, create: bool = True) -> Store:
    """Open the store named by ``store`` (a path, `sqlite:///path` or `postgresql://...`).

    Without ``store``, `VOICE_USAGE_STORE`, else `usage.sqlite3` in the user data folder. With
    ``create=False`` (reading reports) a missing SQLite file is an error, not a new store.

    Raises:
        StoreError: naming the store, when it cannot be opened (its schema is newer, the file
            is not a database, the server refuses the connection...).
        ConfigurationError: for a PostgreSQL URL without the `postgres` extra installed.
    """
    if isinstance(store, Store):
        return store
    try:
        location = resolve_location(store)
    except ValueError as exc:
        raise StoreError(str(exc)) from None
    return Store(open_database(location, create=create))
