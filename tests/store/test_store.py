"""The store on SQLite and PostgreSQL alike: exact round trips, idempotent writes, revisions,
coverage, schema versions, and one clear line for a store that cannot be used."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from voice_usage import CallPart, CostSource, Grain, UsageRecord
from voice_usage._store import SCHEMA_VERSION, Store, StoreError, open_store
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


def test_every_field_has_a_column() -> None:
    for dialect in ("sqlite", "postgresql"):
        assert set(codec(dialect).field_names) == set(UsageRecord.model_fields)


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
        ("flireo", "2026-09-01", 3, Decimal("0.3"), "EUR"),
        ("flireo", "2026-09-02", 2, Decimal("0.0000000014"), "EUR"),
    ]


def test_an_unknown_cost_keeps_the_daily_total_unknown(store_url: str) -> None:
    unknown = event(1, cost=None, currency="EUR", cost_source=None)
    with open_store(store_url) as store:
        write(store, [event(0), unknown])
        assert store.daily_totals(DAY, DAY + timedelta(days=1)) == [
            ("flireo", "2026-09-01", 2, None, "EUR")
        ]


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


def test_a_field_added_to_the_record_gets_its_column_on_open(store_url: str) -> None:
    with open_store(store_url) as store:
        write(store, [event(0)])
        store._db.execute("ALTER TABLE vu_records DROP COLUMN cost_covers")  # an older store
    with open_store(store_url) as store:
        (back,) = store.records("flireo", None, "call", DAY, DAY + timedelta(days=1))
        assert back == event(0)
        write(store, [event(0), event(1, cost_covers=(CallPart.LLM,))])
        (_, covered) = store.records("flireo", None, "call", DAY, DAY + timedelta(days=1))
        assert covered.cost_covers == (CallPart.LLM,)


def test_a_renamed_field_keeps_its_stored_values(store_url: str) -> None:
    with open_store(store_url) as store:
        write(store, [event(0, cost_source=CostSource.RATE_CARD, cost_estimate=True)])
        store._db.execute("ALTER TABLE vu_records RENAME COLUMN cost_estimate TO approximate")
    # A store written before the field was renamed (approximate -> cost_estimate) keeps it.
    with open_store(store_url) as store:
        (back,) = store.records("flireo", None, "call", DAY, DAY + timedelta(days=1))
    assert back.cost_estimate is True


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


def test_an_older_schema_is_migrated_forward_on_open(store_url: str) -> None:
    with open_store(store_url) as store:
        write(store, [event(0), event(25)])
        # A store as version 1 left it: no day index.
        store._db.execute("DROP INDEX IF EXISTS vu_records_day")
        store._db.execute("UPDATE vu_meta SET value = '1' WHERE key = 'schema_version'")
    with open_store(store_url) as store:
        version = store._db.execute("SELECT value FROM vu_meta WHERE key = 'schema_version'")
        assert version.fetchone()[0] == str(SCHEMA_VERSION) == "2"
        if store.dialect == "sqlite":
            indexes = store._db.execute("PRAGMA index_list(vu_records)").fetchall()
            assert "vu_records_day" in {row[1] for row in indexes}
        assert store.daily_totals(DAY, DAY + timedelta(days=2)) == [
            ("flireo", "2026-09-01", 1, Decimal("0.14"), "EUR"),
            ("flireo", "2026-09-02", 1, Decimal("0.14"), "EUR"),
        ]
        assert store.count() == 2


def test_daily_totals_over_part_of_a_day(store_url: str) -> None:
    # Hours 11, 12, 23 of the first day and 0, 1 of the next; asked from 12:00 to 00:30.
    with open_store(store_url) as store:
        write(store, [event(n, cost=Decimal(n)) for n in (11, 12, 23, 24, 25)])
        totals = store.daily_totals(DAY + timedelta(hours=12), DAY + timedelta(hours=24.5))
    assert totals == [
        ("flireo", "2026-09-01", 2, Decimal("35"), "EUR"),  # 12 + 23
        ("flireo", "2026-09-02", 1, Decimal("24"), "EUR"),
    ]


def test_the_daily_roll_up_reads_its_index_alone(tmp_path: Path) -> None:
    # The roll-up over a large store reads the narrow day index in its order: never the
    # table's rows, and no sort of the rows into groups.
    statements: list[str] = []
    with open_store(str(tmp_path / "usage.sqlite3")) as store:
        write(store, [event(0)])
        store._db.connection.set_trace_callback(statements.append)
        store.daily_totals(DAY, DAY + timedelta(days=1))
        store._db.connection.set_trace_callback(None)
        (rollup,) = [s for s in statements if "GROUP BY" in s]
        plan = [row[3] for row in store._db.execute(f"EXPLAIN QUERY PLAN {rollup}").fetchall()]
    assert plan[0].startswith("SEARCH vu_records USING COVERING INDEX vu_records_day ")
    assert not any("GROUP BY" in step for step in plan), plan
