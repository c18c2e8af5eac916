"""The store on SQLite and PostgreSQL alike: exact round trips, idempotent writes, revisions,
coverage, schema versions, and one clear line for a store that cannot be used."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
from pydantic_core import to_jsonable_python

from voice_usage import CallPart, CostSource, Grain, UsageRecord
from voice_usage._store import SCHEMA_VERSION, Store, StoreError, open_store
from voice_usage._store._db import ROWS_PER_INSERT, _inserted_behind
from voice_usage._store._rows import codec, record_key

DAY = datetime(2026, 9, 1, tzinfo=UTC)


def event(n: int, **changes: Any) -> UsageRecord:
    start = DAY + timedelta(hours=n)
    values: dict[str, Any] = {
        "provider": "flireo",
        "grain": Grain.EVENT,
        "period_start": start,
        "period_end": start + timedelta(seconds=84),
        "calls": 1,
        "failed_calls": 0,
        "duration_seconds": Decimal("84.25"),
        "billed_minutes": Decimal("2"),
        "cost": Decimal("0.14"),
        "currency": "EUR",
        "cost_source": CostSource.REPORTED,
        "call_id": f"call-{n}",
        "extras": {"log_id": f"log-{n}", "nested": {"a": [1, 2.5, None, "x"]}, "ünï": True},
    }
    values.update(changes)
    return UsageRecord(**values)


def rich_records() -> list[UsageRecord]:
    """Every field set at least once, and every optional one left unset at least once."""
    return [
        event(0),
        event(
            1,
            account="acme",
            cost=Decimal("0.123456789012"),  # more than nine places: no exact billionths
            cost_components={"transport": Decimal("0.1"), "model": Decimal("0.023456789012")},
            cost_covers=(CallPart.TTS, CallPart.PLATFORM),
            cost_source=CostSource.RATE_CARD,
            rate_card="flireo/call@2026-01-01",
            cost_note="rate card: EUR 0.07/min",
            cost_estimate=True,
            agent_id="agent-1",
            number_id="+31 20 000",
            item="sip",
        ),
        UsageRecord(
            provider="flireo",
            grain=Grain.WINDOW,
            period_start=DAY,
            period_end=DAY + timedelta(days=1),
            calls=None,
            cost=None,
            cost_note="no price known",
        ),
        UsageRecord(
            provider="flireo",
            grain=Grain.WINDOW,
            period_start=DAY,
            period_end=DAY + timedelta(days=1),
            duration_seconds=Decimal("1E+3"),
            billed_minutes=Decimal("123456789012345.678901234"),  # 24 digits, under 1E+15
            cost=Decimal("0"),
            currency="USD",
            cost_source=CostSource.REPORTED,
            item="sip",
            agent_id="",
        ),
    ]


def write(store: Store, records: list[UsageRecord], series: str = "call", **kw: Any) -> Any:
    return store.write(
        "flireo",
        kw.pop("account", None),
        series,
        records,
        since=kw.pop("since", DAY),
        until=kw.pop("until", DAY + timedelta(days=2)),
        **kw,
    )


def test_every_field_is_stored_once() -> None:
    for dialect in ("sqlite", "postgresql"):
        rows = codec(dialect)
        columns = [c.name for c in rows.table_columns]
        body = [c.name for c in rows.body_columns]
        assert sorted(columns + body) == sorted(UsageRecord.model_fields)
        assert set(columns) == {"provider", "period_start", "calls", "cost", "currency"}


def test_records_read_back_identically(store_url: str) -> None:
    records = rich_records()
    with open_store(store_url) as store:
        counts = write(store, records)
        assert (counts.new, counts.revised, counts.unchanged) == (4, 0, 0)
        back = list(store.records("flireo", None, "call", DAY, DAY + timedelta(days=2)))
    by_key = {record_key(r): r for r in back}
    assert len(by_key) == 4
    for record in records:
        stored = by_key[record_key(record)]
        assert stored == record
        for name in UsageRecord.model_fields:
            assert type(getattr(stored, name)) is type(getattr(record, name)), name
            written = getattr(record, name)
            if isinstance(written, Decimal) and written.as_tuple().exponent <= 0:  # type: ignore[operator]
                # Trailing zeros are kept too ("0.10" stays "0.10"). NUMERIC writes a positive
                # exponent out in digits (1E+3 reads back as 1000, the same number), which no
                # provider produces.
                assert str(getattr(stored, name)) == str(written), name
    assert by_key[record_key(records[1])].extras == records[1].extras


def test_key_columns_are_not_null(store_url: str) -> None:
    with open_store(store_url) as store:
        db = store._db
        if store.dialect == "sqlite":
            info = db.execute("PRAGMA table_info(vu_records)").fetchall()
            not_null = {row[1] for row in info if row[3]}
        else:
            rows = db.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = "
                "'vu_records' AND is_nullable = 'NO'"
            ).fetchall()
            not_null = {row[0] for row in rows}
    assert {"provider", "account_key", "series", "record_key"} <= not_null


def test_writing_twice_changes_nothing(store_url: str) -> None:
    with open_store(store_url) as store:
        write(store, rich_records())
        again = write(store, rich_records())
        assert (again.new, again.revised, again.unchanged, again.removed) == (0, 0, 4, 0)
        assert store.count() == 4
        assert store.revisions() == []


def test_a_changed_record_is_revised_and_the_change_kept(store_url: str) -> None:
    when = datetime(2026, 9, 5, 6, tzinfo=UTC)
    with open_store(store_url) as store:
        write(store, [event(0), event(1), event(2)])
        counts = write(store, [event(0), event(1, cost=Decimal("0.21")), event(2)], now=when)
        assert (counts.new, counts.revised, counts.unchanged) == (0, 1, 2)
        (revision,) = store.revisions("flireo")
        assert revision.key == "call:call-1"
        assert revision.change == "revised"
        assert revision.fields == {"cost": ["0.14", "0.21"]}
        assert revision.revised_at == when
        (stored,) = [
            r
            for r in store.records("flireo", None, "call", DAY, DAY + timedelta(days=1))
            if r.call_id == "call-1"
        ]
        assert stored.cost == Decimal("0.21")
        assert store.revisions("flireo", since=when + timedelta(seconds=1)) == []


def test_a_record_the_vendor_drops_is_removed_and_kept_as_a_revision(store_url: str) -> None:
    with open_store(store_url) as store:
        write(store, [event(0), event(1)])
        counts = write(store, [event(0)])
        assert (counts.unchanged, counts.removed) == (1, 1)
        (revision,) = store.revisions()
        assert revision.change == "removed"
        assert revision.fields["call_id"] == "call-1"
        assert revision.fields["cost"] == "0.14"
        assert store.count() == 1


def test_an_event_whose_time_moved_out_of_the_range_is_revised_not_doubled(
    store_url: str,
) -> None:
    # call-30 was stored at hour 30 (the next day); the vendor now gives it at hour 5, in a
    # write of the first day only: found by its call id, revised, not added a second time.
    with open_store(store_url) as store:
        write(store, [event(30)])
        moved = event(5, call_id="call-30", extras=event(30).extras)
        counts = write(store, [event(0), moved, event(1)], until=DAY + timedelta(days=1))
        assert (counts.new, counts.revised, counts.unchanged, counts.removed) == (2, 1, 0, 0)
        assert store.count() == 3
        (revision,) = store.revisions()
        assert (revision.key, revision.change) == ("call:call-30", "revised")
        assert set(revision.fields) == {"period_start", "period_end"}
        back = list(store.records("flireo", None, "call", DAY, DAY + timedelta(days=2)))
    assert back == [event(0), event(1), moved]


def test_a_moved_event_ahead_of_many_new_ones_leaves_none_out(store_url: str) -> None:
    # The rows of a first write go to the database as they are made: a held key met first
    # (PostgreSQL's COPY stops at it, long before the last row is sent) still ends with every
    # record stored once: the moved one revised, the 3,000 after it new.
    starts = [DAY + timedelta(seconds=n) for n in range(3000)]
    many = [
        event(0, call_id=f"more-{n}", period_start=start, period_end=start + HOUR)
        for n, start in enumerate(starts)
    ]
    with open_store(store_url) as store:
        write(store, [event(30)])
        moved = event(5, call_id="call-30", extras=event(30).extras)
        counts = write(store, [moved, *many], until=DAY + timedelta(days=1))
        assert (counts.new, counts.revised, counts.unchanged, counts.removed) == (3000, 1, 0, 0)
        assert store.count() == 3001
        back = list(store.records("flireo", None, "call", DAY, DAY + timedelta(days=1)))
    assert back == [*many, moved]


def _seconds_apart(count: int, **changes: Any) -> list[UsageRecord]:
    """``count`` calls a second apart on `DAY`, each its own id (``changes`` to all of them)."""
    starts = [DAY + timedelta(seconds=n) for n in range(count)]
    return [
        event(0, call_id=f"second-{n}", period_start=start, period_end=start + HOUR, **changes)
        for n, start in enumerate(starts)
    ]


@pytest.mark.parametrize("count", [ROWS_PER_INSERT, 2 * ROWS_PER_INSERT + 3])
def test_a_write_of_many_statements_stores_each_record_once(store_url: str, count: int) -> None:
    # SQLite inserts a write's rows many to a statement: a write of exactly one statement's
    # rows, and one of two full statements and three rows left over.
    records = _seconds_apart(count)
    with open_store(store_url) as store:
        counts = write(store, records, until=DAY + timedelta(days=1))
        assert (counts.new, counts.revised, counts.unchanged) == (count, 0, 0)
        assert store.count() == count
        back = list(store.records("flireo", None, "call", DAY, DAY + timedelta(days=1)))
        again = write(store, records, until=DAY + timedelta(days=1))
    assert back == records
    assert (again.new, again.revised, again.unchanged) == (0, 0, count)


def test_a_moved_event_in_a_later_statement_leaves_none_out(store_url: str) -> None:
    # The held key is met in the second statement, after a whole statement's rows went in:
    # those are taken back with the rest, and every record is stored once.
    many = _seconds_apart(ROWS_PER_INSERT + 10)
    moved = event(5, call_id="call-30", extras=event(30).extras)
    with open_store(store_url) as store:
        write(store, [event(30)])
        given = [*many[: ROWS_PER_INSERT + 5], moved, *many[ROWS_PER_INSERT + 5 :]]
        counts = write(store, given, until=DAY + timedelta(days=1))
        assert (counts.new, counts.revised, counts.removed) == (ROWS_PER_INSERT + 10, 1, 0)
        assert store.count() == ROWS_PER_INSERT + 11
        back = list(store.records("flireo", None, "call", DAY, DAY + timedelta(days=1)))
    assert sorted(back, key=record_key) == sorted([*many, moved], key=record_key)


def test_sqlite_statements_keep_within_the_parameter_limit(tmp_path: Path) -> None:
    # A SQLite built with a low limit of bound parameters: 40 allow three rows of 12 columns
    # a statement, so ten records take four statements, the last of one row.
    records = _seconds_apart(10)
    with open_store(tmp_path / "low.sqlite3") as store:
        store._db.connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 40)
        statements: list[str] = []
        store._db.connection.set_trace_callback(statements.append)
        write(store, records, until=DAY + timedelta(days=1))
        store._db.connection.set_trace_callback(None)
        back = list(store.records("flireo", None, "call", DAY, DAY + timedelta(days=1)))
    inserts = [s for s in statements if s.startswith("INSERT INTO vu_records")]
    assert [s.count("), (") + 1 for s in inserts] == [3, 3, 3, 1]
    assert back == records


def test_sqlite_inserts_a_first_write_in_a_thread_of_its_own(tmp_path: Path) -> None:
    # The statements of a write of more than one statement's rows run in another thread while
    # this one makes the rows; a write of fewer runs here.
    threads: list[tuple[int, str]] = []

    def traced(statement: str) -> None:
        if statement.startswith("INSERT INTO vu_records"):
            threads.append((threading.get_ident(), statement))

    with open_store(tmp_path / "threads.sqlite3") as store:
        store._db.connection.set_trace_callback(traced)
        write(store, _seconds_apart(ROWS_PER_INSERT + 1), until=DAY + timedelta(days=1))
        inserting = {ident for ident, _ in threads}
        threads.clear()
        write(store, [event(30)])
        store._db.connection.set_trace_callback(None)
    assert len(inserting) == 1 and threading.get_ident() not in inserting
    assert [ident for ident, _ in threads] == [threading.get_ident()]


def _inserting_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "voice-usage store insert"]


def test_a_failed_insert_in_its_thread_is_raised_and_stops_it() -> None:
    done: list[int] = []

    def insert(batch: Sequence[int]) -> int:
        if batch[0] == 4:
            raise sqlite3.OperationalError("disk I/O error")
        done.append(batch[0])
        return len(batch)

    batches = ([n, n + 1] for n in range(0, 20, 2))
    with pytest.raises(sqlite3.OperationalError, match="disk I/O error"):
        _inserted_behind(insert, batches)
    assert done == [0, 2]
    assert not _inserting_threads()


def test_an_interruption_while_rows_are_made_stops_the_inserting_thread() -> None:
    inserted: list[int] = []

    def batches() -> Iterator[list[int]]:
        yield [1, 2]
        yield [3]
        raise KeyboardInterrupt

    def insert(batch: Sequence[int]) -> int:
        inserted.extend(batch)
        return len(batch)

    with pytest.raises(KeyboardInterrupt):
        _inserted_behind(insert, batches())
    assert not _inserting_threads()
    assert inserted in ([], [1, 2], [1, 2, 3])  # those queued before it may have gone in


def test_rows_given_and_inserted_are_counted_apart() -> None:
    given, inserted = _inserted_behind(lambda batch: len(batch) - 1, iter([[1, 2], [3, 4, 5]]))
    assert (given, inserted) == (5, 3)


def test_records_outside_the_range_written_are_left_alone(store_url: str) -> None:
    with open_store(store_url) as store:
        write(store, [event(0), event(30)])  # hour 30: the next day
        counts = write(store, [event(0)], until=DAY + timedelta(days=1))
        assert (counts.unchanged, counts.removed) == (1, 0)
        assert store.count() == 2


def test_accounts_and_series_are_kept_apart(store_url: str) -> None:
    with open_store(store_url) as store:
        write(store, [event(0)])
        write(store, [event(0, account="acme")], account="acme")
        write(store, [event(0)], series="day")
        assert store.count() == 3
        (acme,) = store.records("flireo", "acme", "call", DAY, DAY + timedelta(days=1))
        assert acme.account == "acme"


def test_two_records_with_one_identity_are_refused(store_url: str) -> None:
    with open_store(store_url) as store:
        with pytest.raises(StoreError, match=r"two records with the same identity \(call:call-0\)"):
            write(store, [event(0), event(0, cost=Decimal("1"))])
        assert store.count() == 0
        assert store.coverage("flireo", None, "call") == []


@pytest.mark.parametrize("held", [False, True])
@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (event(5, provider="ultravox"), "a ultravox record given to write as flireo"),
        (event(5, cost=Decimal("1")), r"two records with the same identity \(call:call-5\)"),
    ],
)
def test_a_refused_record_after_many_leaves_the_store_as_it_was(
    store_url: str, held: bool, bad: UsageRecord, message: str
) -> None:
    # The rows are made, checked and given to the database one by one (PostgreSQL takes
    # them as they are made): a record refused after a few thousand rows (well past a
    # buffer sent to the server) ends the write with none of them kept, in a range that was
    # empty or already held records, and the store takes the next write as before.
    since, until = DAY, DAY + timedelta(days=2)
    good = [event(n, period_start=DAY + timedelta(seconds=n)) for n in range(3000)]
    with open_store(store_url) as store:
        if held:
            write(store, good[:10])
        before = (store.count(), store.coverage("flireo", None, "call"), store.revisions())
        with pytest.raises(StoreError, match=message):
            write(store, [*good, bad, event(9000)])
        assert (store.count(), store.coverage("flireo", None, "call"), store.revisions()) == (
            before
        )
        counts = write(store, iter(good))  # any iterable, read once
        assert (counts.new, counts.unchanged) == ((2990, 10) if held else (3000, 0))
        assert store.coverage("flireo", None, "call") == [(since, until)]
        assert store.count() == 3000


def test_coverage_merges_and_gaps_name_what_is_missing(store_url: str) -> None:
    d = [DAY + timedelta(days=n) for n in range(10)]
    with open_store(store_url) as store:
        write(store, [], since=d[0], until=d[2])
        write(store, [], since=d[2], until=d[3])
        write(store, [], since=d[5], until=d[6])
        assert store.coverage("flireo", None, "call") == [(d[0], d[3]), (d[5], d[6])]
        assert store.watermark("flireo", None, "call") == d[6]
        assert store.gaps("flireo", None, "call", d[1], d[8]) == [(d[3], d[5]), (d[6], d[8])]
        assert store.gaps("flireo", None, "call", d[0], d[3]) == []
        assert store.gaps("flireo", "other", "call", d[0], d[1]) == [(d[0], d[1])]
        assert store.watermark("flireo", None, "day") is None


def test_daily_totals_are_exact_sums(store_url: str) -> None:
    tenth = [event(n, cost=Decimal("0.1"), extras={}) for n in range(3)]  # 0.1 * 3, no float
    fine = [
        event(25, cost=Decimal("0.000000001")),
        event(26, cost=Decimal("0.0000000004")),  # ten places: summed from the text
    ]
    with open_store(store_url) as store:
        write(store, [*tenth, *fine])
        totals = store.daily_totals(DAY, DAY + timedelta(days=2))
    assert totals == [
        ("flireo", None, "call", "2026-09-01", 3, Decimal("0.3"), "EUR"),
        ("flireo", None, "call", "2026-09-02", 2, Decimal("0.0000000014"), "EUR"),
    ]


def test_an_unknown_cost_keeps_the_daily_total_unknown(store_url: str) -> None:
    unknown = event(1, cost=None, currency="EUR", cost_source=None)
    with open_store(store_url) as store:
        write(store, [event(0), unknown])
        assert store.daily_totals(DAY, DAY + timedelta(days=1)) == [
            ("flireo", None, "call", "2026-09-01", 2, None, "EUR")
        ]


def test_daily_totals_keep_accounts_and_series_apart(store_url: str) -> None:
    # One day of the default account told twice (its calls, and its billed total as a second
    # series), and one call of another account: 0.14 + 0.14 for the calls, 0.30 billed.
    billed = UsageRecord(
        provider="flireo",
        grain=Grain.WINDOW,
        period_start=DAY,
        period_end=DAY + timedelta(days=1),
        calls=2,
        cost=Decimal("0.30"),
        currency="EUR",
        cost_source=CostSource.REPORTED,
    )
    with open_store(store_url) as store:
        write(store, [event(0), event(1)])
        write(store, [billed], series="day?source=billing")
        write(store, [event(2, account="acme")], account="acme")
        totals = store.daily_totals(DAY, DAY + timedelta(days=1))
    assert sorted(totals, key=lambda row: (row[1] or "", row[2])) == [
        ("flireo", None, "call", "2026-09-01", 2, Decimal("0.28"), "EUR"),
        ("flireo", None, "day?source=billing", "2026-09-01", 2, Decimal("0.30"), "EUR"),
        ("flireo", "acme", "call", "2026-09-01", 1, Decimal("0.14"), "EUR"),
    ]


def _write_store(
    url: str,
    statements: Sequence[str],
    insert: str,
    rows: Sequence[Sequence[Any]],
    revision: Sequence[Any],
    covered: Sequence[Any],
) -> None:
    """Make a hand-built store: its ``statements``, its records, one revision and one range."""
    if not url.startswith("postgresql"):
        connection = sqlite3.connect(url.removeprefix("sqlite:///"))
        with connection:
            for statement in statements:
                connection.execute(statement)
            connection.executemany(insert, rows)
            connection.execute("INSERT INTO vu_revisions VALUES (?, ?, ?, ?, ?, ?, ?)", revision)
            connection.execute("INSERT INTO vu_coverage VALUES (?, ?, ?, ?, ?, ?)", covered)
        connection.close()
        return
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        for statement in statements:
            connection.execute(statement)
        with connection.cursor() as cursor:
            cursor.executemany(insert.replace("?", "%s"), rows)
        connection.execute("INSERT INTO vu_revisions VALUES (%s, %s, %s, %s, %s, %s, %s)", revision)
        connection.execute("INSERT INTO vu_coverage VALUES (%s, %s, %s, %s, %s, %s)", covered)


def _folded_store(url: str, version: int, records: list[UsageRecord]) -> None:
    """A store as versions 3 and 4 wrote it, made by hand: the key, the columns SQL reads, the
    other fields in `body` (whose form has not changed since), `period_start` as fixed-width
    UTC text on SQLite, key columns in the database's own collation on PostgreSQL, the day index
    of either version, a revision and a covered range."""
    sqlite = not url.startswith("postgresql")
    rows = codec("sqlite" if sqlite else "postgresql")
    synced = DAY + timedelta(days=3)

    def instant(value: datetime) -> Any:
        return value.astimezone(UTC).isoformat(timespec="microseconds") if sqlite else value

    e9 = ["cost_e9 INTEGER"] if sqlite else []
    kind = "TEXT" if sqlite else "TIMESTAMPTZ"
    money = "TEXT" if sqlite else "NUMERIC"
    whole = "INTEGER" if sqlite else "BIGINT"
    statements = [
        "CREATE TABLE vu_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        f"INSERT INTO vu_meta VALUES ('schema_version', '{version}')",
        "CREATE TABLE vu_records (account_key TEXT NOT NULL, series TEXT NOT NULL, "
        f"record_key TEXT NOT NULL, provider TEXT NOT NULL, period_start {kind} NOT NULL, "
        f"calls {whole}, cost {money}, currency TEXT, body TEXT NOT NULL, "
        + "".join(f"{column}, " for column in e9)
        + f"synced_at {kind} NOT NULL, PRIMARY KEY (provider, account_key, series, record_key))",
        "CREATE INDEX vu_records_period ON vu_records (provider, account_key, series, "
        "period_start)",
        f"CREATE TABLE vu_revisions (provider TEXT NOT NULL, account_key TEXT NOT NULL, "
        f"series TEXT NOT NULL, record_key TEXT NOT NULL, revised_at {kind} NOT NULL, "
        "change TEXT NOT NULL, fields TEXT NOT NULL)",
        f"CREATE TABLE vu_coverage (provider TEXT NOT NULL, account_key TEXT NOT NULL, "
        f"series TEXT NOT NULL, range_start {kind} NOT NULL, range_end {kind} NOT NULL, "
        f"synced_at {kind} NOT NULL, PRIMARY KEY (provider, account_key, series, range_start))",
    ]
    if sqlite:
        by_series = "account_key, series, " if version == 4 else ""
        statements.append(
            "CREATE INDEX vu_records_day ON vu_records (substr(period_start, 1, 10), provider, "
            f"{by_series}currency, period_start, calls, cost_e9, cost)"
        )
    values = []
    for record in records:
        row = list(rows.stamped_row("", "call", record_key(record), record, instant(synced)))
        row[4] = instant(record.period_start)
        values.append(tuple(row))
    names = (*rows.all_columns, "synced_at")
    insert = f"INSERT INTO vu_records ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
    revision = (
        "flireo", "", "call", record_key(records[0]), instant(synced), "revised",
        '{"cost":["0.12","0.14"]}',
    )  # fmt: skip
    covered = ("flireo", "", "call", *map(instant, (DAY, DAY + timedelta(days=2), synced)))
    _write_store(url, statements, insert, values, revision, covered)


def _read_back_migrated(store: Store, records: list[UsageRecord]) -> list[UsageRecord]:
    """What every hand-built old store, once migrated, must answer; its records read back.

    The store holds ``records`` (`rich_records()`), one revision of the first one's cost and
    one covered range, as `_write_store` makes them.
    """
    found = store._db.execute("SELECT value FROM vu_meta WHERE key = 'schema_version'")
    assert found.fetchone()[0] == str(SCHEMA_VERSION) == "6"
    assert _primary_key(store) == (
        ["provider", "account_key", "series", "record_key"]
        if store.dialect == "sqlite"
        else ["record_key", "provider", "account_key", "series"]
    )
    assert store._db.table_columns("vu_records_old") == set()
    back = list(store.records("flireo", None, "call", DAY, DAY + timedelta(days=2)))
    (revision,) = store.revisions()
    assert revision.key == record_key(records[0])
    assert revision.fields == {"cost": ["0.12", "0.14"]}
    assert revision.revised_at == DAY + timedelta(days=3)
    assert store.coverage("flireo", None, "call") == [(DAY, DAY + timedelta(days=2))]
    totals = store.daily_totals(DAY, DAY + timedelta(days=2))
    # (No currency sorts first in SQLite, last in PostgreSQL.)
    assert sorted(totals, key=lambda row: row[6] or "") == [
        ("flireo", None, "call", "2026-09-01", 0, None, None),
        ("flireo", None, "call", "2026-09-01", 2, Decimal("0.263456789012"), "EUR"),
        ("flireo", None, "call", "2026-09-01", 0, Decimal("0"), "USD"),
    ]
    again = write(store, records)
    assert (again.new, again.revised, again.unchanged, again.removed) == (0, 0, 4, 0)
    assert store.count() == 4
    return back


def _primary_key(store: Store) -> list[str]:
    """The records' primary key columns, in its index's order."""
    if store.dialect == "sqlite":
        columns = store._db.execute("PRAGMA table_info(vu_records)").fetchall()
        return [row[1] for row in sorted(columns, key=lambda row: row[5]) if row[5]]
    found = store._db.execute(
        "SELECT column_name FROM information_schema.key_column_usage "
        "WHERE table_name = 'vu_records' AND constraint_name = 'vu_records_pkey' "
        "ORDER BY ordinal_position"
    )
    return [row[0] for row in found.fetchall()]


def test_a_version_5_store_is_migrated_forward_on_open(store_url: str) -> None:
    # Version 5 is version 6 with PostgreSQL's primary key in the order of SQLite's (the key of
    # the record last): made so by hand from a new store, then opened again.
    records = rich_records()
    with open_store(store_url) as store:
        write(store, records)
        if store.dialect == "postgresql":
            store._db.execute(
                "ALTER TABLE vu_records DROP CONSTRAINT vu_records_pkey, ADD CONSTRAINT "
                "vu_records_pkey PRIMARY KEY (provider, account_key, series, record_key)"
            )
        store._db.execute("UPDATE vu_meta SET value = '5' WHERE key = 'schema_version'")
        assert _primary_key(store) == ["provider", "account_key", "series", "record_key"]
    with open_store(store_url) as store:
        found = store._db.execute("SELECT value FROM vu_meta WHERE key = 'schema_version'")
        assert found.fetchone()[0] == "6"
        assert _primary_key(store) == (
            ["provider", "account_key", "series", "record_key"]
            if store.dialect == "sqlite"
            else ["record_key", "provider", "account_key", "series"]
        )
        back = list(store.records("flireo", None, "call", DAY, DAY + timedelta(days=2)))
        again = write(store, records)
        # The key still holds: a row of a stored key is refused by the database itself.
        rows = store._db.rows
        row = rows.stamped_row("", "call", record_key(records[0]), records[0], store._instant(DAY))
        assert not store._db.insert_new("vu_records", (*rows.all_columns, "synced_at"), [row])
        assert store.count() == 4
    assert (again.new, again.revised, again.unchanged, again.removed) == (0, 0, 4, 0)
    assert sorted(back, key=record_key) == sorted(records, key=record_key)


@pytest.mark.parametrize("version", [3, 4])
def test_a_folded_store_is_migrated_forward_on_open(
    store_url: str, tmp_path: Path, version: int
) -> None:
    url = store_url if store_url.startswith("postgresql") else f"sqlite:///{tmp_path}/v.sqlite3"
    records = rich_records()
    _folded_store(url, version, records)
    with open_store(url) as store:
        if store.dialect == "sqlite":
            stamps = store._db.execute("SELECT period_start FROM vu_records").fetchall()
            # 2026-09-01 is 1,788,220,800 s after 1970; the records start at it and an hour on.
            assert sorted(stamps) == [(1_788_220_800_000_000,)] * 3 + [(1_788_224_400_000_000,)]
            indexes = store._db.execute(
                "SELECT name FROM sqlite_master WHERE tbl_name = 'vu_records' AND type = 'index' "
                "AND sql IS NOT NULL"
            ).fetchall()
            assert indexes == [("vu_records_period",)]
        else:
            collations = store._db.execute(
                "SELECT column_name, collation_name FROM information_schema.columns "
                "WHERE table_name = 'vu_records' AND collation_name IS NOT NULL"
            ).fetchall()
            assert sorted(collations) == [
                ("account_key", "C"),
                ("provider", "C"),
                ("record_key", "C"),
                ("series", "C"),
            ]
        back = _read_back_migrated(store, records)
    records.sort(key=record_key)
    back.sort(key=record_key)
    assert back == records
    for before, after in zip(records, back, strict=True):
        for name in ("duration_seconds", "billed_minutes", "cost"):
            assert str(getattr(after, name)) == str(getattr(before, name))


def test_a_newer_schema_is_refused_untouched(store_url: str) -> None:
    with open_store(store_url) as store:
        write(store, [event(0)])
        store._db.execute("UPDATE vu_meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StoreError) as raised:
        open_store(store_url)
    message = str(raised.value)
    assert f"schema version 99 is newer than this voice-usage understands ({SCHEMA_VERSION})" in (
        message
    )
    assert "\n" not in message


def _edit_bodies(store: Store, edit: Any) -> None:
    """Rewrite every stored body with ``edit`` (a dict -> None), as an older version left it."""
    db = store._db
    for key, body in db.execute("SELECT record_key, body FROM vu_records").fetchall():
        fields = json.loads(body)
        edit(fields)
        db.execute(
            "UPDATE vu_records SET body = ? WHERE record_key = ?",
            (json.dumps(fields, separators=(",", ":"), ensure_ascii=False), key),
        )


def test_a_field_added_to_the_record_reads_back_as_its_default(store_url: str) -> None:
    with open_store(store_url) as store:
        write(store, [event(0, cost_covers=(CallPart.LLM,), failed_calls=1)])
        # A store written before the fields existed: its bodies lack them.
        _edit_bodies(store, lambda fields: [fields.pop("cost_covers"), fields.pop("extras")])
    with open_store(store_url) as store:
        (back,) = store.records("flireo", None, "call", DAY, DAY + timedelta(days=1))
        assert back == event(0, failed_calls=1, extras={})
        assert back.cost_covers is None
        write(store, [event(0), event(1, cost_covers=(CallPart.LLM,))])
        (_, covered) = store.records("flireo", None, "call", DAY, DAY + timedelta(days=1))
        assert covered.cost_covers == (CallPart.LLM,)


def test_a_renamed_field_keeps_its_stored_values(store_url: str) -> None:
    with open_store(store_url) as store:
        write(store, [event(0, cost_source=CostSource.RATE_CARD, cost_estimate=True)])
        _edit_bodies(store, lambda fields: fields.update(approximate=fields.pop("cost_estimate")))
    # A store written before the field was renamed (approximate -> cost_estimate) keeps it.
    with open_store(store_url) as store:
        (back,) = store.records("flireo", None, "call", DAY, DAY + timedelta(days=1))
    assert back.cost_estimate is True


def test_a_field_the_record_no_longer_has_is_left_aside(store_url: str) -> None:
    with open_store(store_url) as store:
        write(store, [event(0)])
        _edit_bodies(store, lambda fields: fields.update(retired_field="x"))
        (back,) = store.records("flireo", None, "call", DAY, DAY + timedelta(days=1))
    assert back == event(0)


# -- a store that cannot be used: one line naming it, nothing written ------------------------


def test_a_store_in_a_missing_folder(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "usage.sqlite3"
    with pytest.raises(
        StoreError, match=rf"^store {path}: the folder {path.parent} does not exist$"
    ):
        open_store(str(path))
    assert not path.parent.exists()


def test_a_store_in_a_read_only_folder() -> None:
    # /proc refuses new files even to root, which a chmod-ed temporary folder would not.
    with pytest.raises(StoreError, match=r"^store /proc/usage.sqlite3: "):
        open_store("/proc/usage.sqlite3")


def test_a_corrupt_store(tmp_path: Path) -> None:
    path = tmp_path / "usage.sqlite3"
    garbage = b"this is not a database, it is a shopping list\n" * 100
    path.write_bytes(garbage)
    with pytest.raises(StoreError) as raised:
        open_store(str(path))
    assert str(raised.value).startswith(f"store {path}: ")
    assert "not a database" in str(raised.value)
    assert path.read_bytes() == garbage


def test_a_sqlite_url_names_a_file(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path}/u.sqlite3") as store:
        assert store.dialect == "sqlite"
    assert (tmp_path / "u.sqlite3").exists()
    with pytest.raises(StoreError, match="not a mysql:// URL"):
        open_store("mysql://x@y/z")


def test_a_report_does_not_create_a_store(tmp_path: Path) -> None:
    path = tmp_path / "usage.sqlite3"
    with pytest.raises(StoreError, match="no such file; run 'voice-usage sync'"):
        open_store(str(path), create=False)
    assert not path.exists()


def test_a_refused_postgresql_connection(postgres_cluster: Any) -> None:
    closed = socket_port()
    url = f"postgresql://postgres:hunter2secret@127.0.0.1:{closed}/usage"
    with pytest.raises(StoreError) as raised:
        open_store(url)
    message = str(raised.value)
    assert message.startswith(f"store postgresql://postgres:***@127.0.0.1:{closed}/usage: ")
    assert "hunter2secret" not in message
    assert "\n" not in message


def test_a_wrong_postgresql_password(postgres_cluster: Any) -> None:
    url = postgres_cluster.url(password="wrong-password-123")
    with pytest.raises(StoreError) as raised:
        open_store(url)
    message = str(raised.value)
    assert "password authentication failed" in message
    assert "wrong-password-123" not in message
    assert postgres_cluster.password not in message
    assert "\n" not in message


def socket_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_sqlite_is_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "usage.sqlite3"
    open_store(str(path)).close()
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_record_of_another_provider_is_refused(store_url: str) -> None:
    with open_store(store_url) as store:
        with pytest.raises(StoreError, match="a flireo record given to write as ultravox"):
            store.write(
                "ultravox", None, "call", [event(0)], since=DAY, until=DAY + timedelta(days=1)
            )
        assert store.count() == 0


def test_a_record_read_again_in_another_written_form_is_unchanged(store_url: str) -> None:
    # The same values written differently (a trailing zero, extras in another key order) are
    # the same record: unchanged, no revision, the stored form kept.
    first = event(0, extras={"log_id": "log-0", "leg": "a"})
    again = event(0, cost=Decimal("0.140"), extras={"leg": "a", "log_id": "log-0"})
    with open_store(store_url) as store:
        write(store, [first])
        counts = write(store, [again])
        assert (counts.new, counts.revised, counts.unchanged) == (0, 0, 1)
        assert store.revisions() == []
        (stored,) = store.records("flireo", None, "call", DAY, DAY + timedelta(days=1))
    assert str(stored.cost) == "0.14"


_INSTANTS = {"period_start", "period_end"}
_DECIMALS = {"duration_seconds", "billed_minutes", "cost"}
_WHOLE = {"calls", "failed_calls", "connected_calls"}
_JSON = {"cost_components", "cost_covers", "extras"}


def _old_store(url: str, version: int, records: list[UsageRecord]) -> None:
    """A store as versions 1 and 2 wrote it, made by hand: a column per field (version 1 still
    named `cost_estimate` `approximate` and had no `cost_covers`), billionths of every decimal
    on SQLite, a revision and a covered range."""
    sqlite = not url.startswith("postgresql")
    fields = [name for name in UsageRecord.model_fields if version > 1 or name != "cost_covers"]

    def sql_type(name: str) -> str:
        if name in _INSTANTS:
            return "TEXT" if sqlite else "TIMESTAMPTZ"
        if name in _WHOLE or name == "cost_estimate":
            return "INTEGER" if sqlite else ("BIGINT" if name in _WHOLE else "BOOLEAN")
        if name in _DECIMALS and not sqlite:
            return "NUMERIC"
        return "TEXT"

    def stored(name: str, value: Any) -> Any:
        if value is None:
            return None
        if name in _JSON:
            return json.dumps(to_jsonable_python(value), separators=(",", ":"), ensure_ascii=False)
        if not sqlite:
            return value
        if name in _INSTANTS:
            return value.isoformat(timespec="microseconds")
        if name in _DECIMALS:
            return str(value)
        if name == "cost_estimate":
            return int(value)
        return value.value if isinstance(value, Enum) else value

    def column(name: str) -> str:
        return "approximate" if version == 1 and name == "cost_estimate" else name

    e9s = [f"{name}_e9" for name in _DECIMALS] if sqlite else []
    instant = "TEXT" if sqlite else "TIMESTAMPTZ"
    definitions = ", ".join(
        [
            "account_key TEXT NOT NULL, series TEXT NOT NULL, record_key TEXT NOT NULL",
            *(f"{column(n)} {sql_type(n)}" for n in fields),
            *(f"{n} INTEGER" for n in e9s),
            f"synced_at {instant} NOT NULL",
            "PRIMARY KEY (provider, account_key, series, record_key)",
        ]
    )
    synced = DAY + timedelta(days=3)
    rows = [
        (
            "",  # as `write` below: all under no account
            "call",
            record_key(r),
            *(stored(n, getattr(r, n)) for n in fields),
            *(_billionths(getattr(r, n[:-3])) for n in e9s),
            stored("period_start", synced),
        )
        for r in records
    ]
    names = ["account_key", "series", "record_key", *map(column, fields), *e9s, "synced_at"]
    statements = [
        "CREATE TABLE vu_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        f"INSERT INTO vu_meta VALUES ('schema_version', '{version}')",
        f"CREATE TABLE vu_records ({definitions})",
        "CREATE INDEX vu_records_period ON vu_records (provider, account_key, series, "
        "period_start)",
        f"CREATE TABLE vu_revisions (provider TEXT NOT NULL, account_key TEXT NOT NULL, "
        f"series TEXT NOT NULL, record_key TEXT NOT NULL, revised_at {instant} NOT NULL, "
        "change TEXT NOT NULL, fields TEXT NOT NULL)",
        f"CREATE TABLE vu_coverage (provider TEXT NOT NULL, account_key TEXT NOT NULL, "
        f"series TEXT NOT NULL, range_start {instant} NOT NULL, range_end {instant} NOT NULL, "
        f"synced_at {instant} NOT NULL, PRIMARY KEY (provider, account_key, series, range_start))",
    ]
    if version == 2 and sqlite:
        statements.append(
            "CREATE INDEX vu_records_day ON vu_records (substr(period_start, 1, 10), provider, "
            "currency, period_start, calls, cost_e9, cost)"
        )
    insert = f"INSERT INTO vu_records ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
    revision = (
        "flireo", "", "call", record_key(records[0]), stored("period_start", synced), "revised",
        '{"cost":["0.12","0.14"]}',
    )  # fmt: skip
    covered = (
        "flireo",
        "",
        "call",
        *(stored("period_start", t) for t in (DAY, DAY + 2 * HOUR * 24, synced)),
    )
    _write_store(url, statements, insert, rows, revision, covered)


HOUR = timedelta(hours=1)


def _billionths(value: Decimal | None) -> int | None:
    """As versions 1 and 2 stored them: none for more than nine places or 62 bits."""
    if value is None or value != value.quantize(Decimal("1E-9")) or abs(value) >= 2**62 / 10**9:
        return None
    return int(value * 10**9)


@pytest.mark.parametrize("version", [1, 2])
def test_an_older_schema_is_migrated_forward_on_open(
    store_url: str, tmp_path: Path, version: int
) -> None:
    if store_url.startswith("postgresql"):
        url = store_url
    else:
        url = f"sqlite:///{tmp_path}/old-{version}.sqlite3"
    records = rich_records()
    if version == 1:  # version 1 had no cost_covers
        records = [r.model_copy(update={"cost_covers": None}) for r in records]
    _old_store(url, version, records)
    with open_store(url) as store:
        back = _read_back_migrated(store, records)
    by_key = {record_key(r): r for r in back}
    assert len(by_key) == len(records)
    for record in records:
        assert by_key[record_key(record)] == record
        for name in ("duration_seconds", "billed_minutes", "cost"):
            if getattr(record, name) is not None and getattr(record, name).as_tuple().exponent <= 0:
                assert str(getattr(by_key[record_key(record)], name)) == str(getattr(record, name))


def test_daily_totals_over_part_of_a_day(store_url: str) -> None:
    # Hours 11, 12, 23 of the first day and 0, 1 of the next; asked from 12:00 to 00:30.
    with open_store(store_url) as store:
        write(store, [event(n, cost=Decimal(n)) for n in (11, 12, 23, 24, 25)])
        totals = store.daily_totals(DAY + timedelta(hours=12), DAY + timedelta(hours=24.5))
    assert totals == [
        ("flireo", None, "call", "2026-09-01", 2, Decimal("35"), "EUR"),  # 12 + 23
        ("flireo", None, "call", "2026-09-02", 1, Decimal("24"), "EUR"),
    ]


def test_the_daily_roll_up_reads_its_index_alone(tmp_path: Path) -> None:
    # The roll-up over a large store reads the narrow records' index in its order: never the
    # table's rows, and no sort of the rows into groups.
    statements: list[str] = []
    with open_store(str(tmp_path / "usage.sqlite3")) as store:
        write(store, [event(0)])
        store._db.connection.set_trace_callback(statements.append)
        store.daily_totals(DAY, DAY + timedelta(days=1))
        store._db.connection.set_trace_callback(None)
        (rollup,) = [s for s in statements if "GROUP BY" in s]
        plan = [row[3] for row in store._db.execute(f"EXPLAIN QUERY PLAN {rollup}").fetchall()]
    assert plan[0].startswith("SCAN vu_records USING COVERING INDEX vu_records_period"), plan
    assert not any("GROUP BY" in step for step in plan), plan


def test_a_large_write_leaves_postgresql_statistics_from_a_small_sample(postgres_url: str) -> None:
    # A write of many new rows refreshes the planner's statistics of the looked-up columns, from
    # a sample of 300 rows per unit of ANALYZE_STATISTICS_TARGET, for that transaction only.
    from voice_usage._store._db import ANALYZE_STATISTICS_TARGET
    from voice_usage._store._store import _ANALYZE_AFTER

    count = _ANALYZE_AFTER + 10
    records = [event(n, period_start=DAY + timedelta(seconds=n)) for n in range(count)]
    with open_store(postgres_url) as store:
        default = store._db.execute("SHOW default_statistics_target").fetchone()[0]
        write(store, records)
        stats = dict(
            store._db.execute(
                "SELECT attname, n_distinct FROM pg_stats WHERE tablename = 'vu_records'"
            ).fetchall()
        )
        histogram = store._db.execute(
            "SELECT array_length(histogram_bounds::text::text[], 1) FROM pg_stats "
            "WHERE tablename = 'vu_records' AND attname = 'record_key'"
        ).fetchone()[0]
        after = store._db.execute("SHOW default_statistics_target").fetchone()[0]
        plan = store._db.execute(
            "EXPLAIN SELECT record_key FROM vu_records WHERE provider = 'flireo' "
            "AND account_key = '' AND series = 'call' AND record_key = ANY(%s)",
            (["call:call-1", "call:call-2"],),
        ).fetchall()
    assert set(stats) == {"provider", "account_key", "series", "record_key", "period_start"}
    assert stats["record_key"] == -1  # every key distinct: the planner knows it is unique
    assert histogram == ANALYZE_STATISTICS_TARGET + 1  # a bucket per unit of the target
    assert after == default == "100"  # the session's setting is left as it was
    steps = [row[0] for row in plan]  # by the key's index (an index or a bitmap scan of it)
    assert any("vu_records_pkey" in step for step in steps), steps
    assert not any("Seq Scan" in step for step in steps), steps


def test_decimals_equal_in_value_keep_their_own_scales(store_url: str) -> None:
    # Costs are dumped once per distinct decimal (PostgreSQL's COPY): equal values written
    # with other exponents must each come back as written, repeated or not.
    costs = ["0.14", "0.140", "0.1400", "0.14", "0.00", "0", "5", "0.140", "1234567890.123456789"]
    records = [
        event(n, period_start=DAY + timedelta(minutes=n), cost=Decimal(cost))
        for n, cost in enumerate(costs)
    ]
    with open_store(store_url) as store:
        write(store, records)
        back = list(store.records("flireo", None, "call", DAY, DAY + timedelta(days=2)))
    assert [str(record.cost) for record in back] == costs
    assert back == records
