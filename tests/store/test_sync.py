"""Sync on the emulators, into SQLite and PostgreSQL: incremental, idempotent, corrected late,
killed half-way, and two at once."""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from voice_usage import ServerError, UsageRecord
from voice_usage._engine._accounts import Account, AccountsConfig
from voice_usage._store import open_store, sync, sync_series
from voice_usage.emulator import EmulatorServer, Fault
from voice_usage_agentphone import AgentPhoneProvider
from voice_usage_agentphone.emulator import AgentPhoneEmulator
from voice_usage_flireo import FlireoProvider
from voice_usage_flireo.emulator import FlireoEmulator
from voice_usage_ultravox import UltravoxProvider
from voice_usage_ultravox.emulator import UltravoxEmulator

pytestmark = pytest.mark.emulator

NOW = datetime(2026, 10, 1, 6, 30, tzinfo=UTC)
TODAY = datetime(2026, 10, 1, tzinfo=UTC)
LOGS_PER_DAY = 80
PAGE = 1000


@pytest.fixture
def flireo(fake_key: str) -> Iterator[EmulatorServer]:
    with EmulatorServer(FlireoEmulator(fake_key, rate_limit=None)) as server:
        yield server


def flireo_sync(server: EmulatorServer, store: str, key: str, **kw: Any) -> Any:
    return sync(
        FlireoProvider(),
        store=store,
        now=kw.pop("now", NOW),
        api_key=key,
        base_url=server.base_url,
        **kw,
    )


def pages(days: int) -> int:
    """Requests to read ``days`` days of Flireo logs at 80 a day, 1,000 a page."""
    return math.ceil(days * LOGS_PER_DAY / PAGE)


def everything(store_url: str, provider: str = "flireo", series: str = "call") -> list[UsageRecord]:
    with open_store(store_url) as store:
        return list(
            store.records(
                provider,
                None,
                series,
                datetime(2000, 1, 1, tzinfo=UTC),
                datetime(2100, 1, 1, tzinfo=UTC),
            )
        )


def test_a_first_sync_reads_90_days_and_the_next_only_the_lookback(
    flireo: EmulatorServer, store_url: str, fake_key: str
) -> None:
    first = flireo_sync(flireo, store_url, fake_key)
    assert first.since == TODAY - timedelta(days=90)
    assert first.until == TODAY
    assert (first.new, first.revised, first.unchanged) == (90 * LOGS_PER_DAY, 0, 0)
    # Three chunks of 31, 31 and 28 days, each walked to its last page.
    assert first.requests == pages(31) + pages(31) + pages(28) == 9

    second = flireo_sync(flireo, store_url, fake_key)
    assert second.since == TODAY - timedelta(days=2)  # Flireo's documented lookback
    assert (second.new, second.revised, second.unchanged) == (0, 0, 2 * LOGS_PER_DAY)
    assert second.requests == pages(2) == 1

    next_day = flireo_sync(flireo, store_url, fake_key, now=NOW + timedelta(days=1))
    assert (next_day.new, next_day.unchanged) == (LOGS_PER_DAY, 2 * LOGS_PER_DAY)
    assert next_day.requests == 1
    assert len(everything(store_url)) == 91 * LOGS_PER_DAY


def test_a_given_lookback_and_since(flireo: EmulatorServer, store_url: str, fake_key: str) -> None:
    flireo_sync(flireo, store_url, fake_key, since="2026-09-20")
    again = flireo_sync(flireo, store_url, fake_key, lookback=5)
    assert again.since == TODAY - timedelta(days=5)
    assert again.unchanged == 5 * LOGS_PER_DAY
    backfill = flireo_sync(flireo, store_url, fake_key, since="2026-09-10", until="2026-09-20")
    assert (backfill.new, backfill.unchanged) == (10 * LOGS_PER_DAY, 0)
    with open_store(store_url) as store:
        assert store.coverage("flireo", None, "call") == [
            (datetime(2026, 9, 10, tzinfo=UTC), TODAY)
        ]


def test_a_vendor_correction_inside_the_lookback_is_revised_and_reported(
    flireo: EmulatorServer, store_url: str, fake_key: str
) -> None:
    flireo_sync(flireo, store_url, fake_key)
    corrected: dict[str, Any] = {}

    def correct(body: Any, request: Any) -> Any:
        log = body["logs"][5]
        corrected.update(call_id=log["call_id"], before=log["cost"])
        log["cost"] = round(log["cost"] + 0.07, 2)  # the vendor bills one more minute
        return body

    flireo.faults.add(Fault(action="rewrite", rewrite=correct, path="/usage"))
    second = flireo_sync(flireo, store_url, fake_key)
    assert (second.new, second.revised, second.unchanged) == (0, 1, 2 * LOGS_PER_DAY - 1)
    with open_store(store_url) as store:
        (revision,) = store.revisions("flireo")
        stored = [r for r in everything(store_url) if r.call_id == corrected["call_id"]]
    before = Decimal(str(corrected["before"]))
    assert revision.key == f"call:{corrected['call_id']}"
    assert revision.fields == {"cost": [str(before), str(before + Decimal("0.07"))]}
    assert [r.cost for r in stored] == [before + Decimal("0.07")]


def test_a_sync_that_dies_half_way_and_is_run_again_ends_as_one_clean_sync(
    fake_key: str, store_url: str, tmp_path: Path, sleeps: Any
) -> None:
    with EmulatorServer(FlireoEmulator(fake_key, rate_limit=None)) as server:
        clean = str(tmp_path / "clean.sqlite3")
        flireo_sync(server, clean, fake_key)

        # The vendor fails for good on page 2 of the second chunk: the first chunk is stored.
        second_chunk = (TODAY - timedelta(days=59)).isoformat().replace("+00:00", "Z")
        server.faults.add(
            Fault(status=503, path="/usage", query={"start_date": second_chunk}, after=1),
            times=None,
        )
        with pytest.raises(ServerError):
            flireo_sync(server, store_url, fake_key, sleep=sleeps, async_sleep=sleeps.asleep)
        with open_store(store_url) as store:
            assert store.coverage("flireo", None, "call") == [
                (TODAY - timedelta(days=90), TODAY - timedelta(days=59))
            ]
        assert len(everything(store_url)) == 31 * LOGS_PER_DAY

        server.faults.clear()
        rerun = flireo_sync(server, store_url, fake_key)
    # It starts again at the watermark minus the lookback, not from scratch.
    assert rerun.since == TODAY - timedelta(days=59 + 2)
    assert (rerun.new, rerun.unchanged) == (59 * LOGS_PER_DAY, 2 * LOGS_PER_DAY)
    assert everything(store_url) == everything(clean)
    with open_store(store_url) as store:
        assert store.coverage("flireo", None, "call") == [(TODAY - timedelta(days=90), TODAY)]


@pytest.mark.real_time(
    "two syncs opening one new SQLite file at once may wait on its lock for real"
)
def test_two_syncs_at_once_into_one_sqlite_file_both_finish(fake_key: str, tmp_path: Path) -> None:
    path = str(tmp_path / "usage.sqlite3")
    results: dict[str, Any] = {}
    errors: list[BaseException] = []
    emulators = {
        "acme": FlireoEmulator(fake_key, rate_limit=None, seed=1),
        "globex": FlireoEmulator(fake_key, rate_limit=None, seed=2),
    }

    def run(name: str, server: EmulatorServer) -> None:
        accounts = AccountsConfig(
            None, (Account("flireo", name, "FLIREO_TEST_KEY", server.base_url),)
        )
        try:
            results[name] = sync(
                FlireoProvider(page_size=100),  # many small requests, interleaved
                account=name,
                accounts=accounts,
                store=path,
                now=NOW,
                api_key=fake_key,
            )
        except BaseException as exc:
            errors.append(exc)

    with EmulatorServer(emulators["acme"]) as a, EmulatorServer(emulators["globex"]) as b:
        threads = [
            threading.Thread(target=run, args=("acme", a)),
            threading.Thread(target=run, args=("globex", b)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert results["acme"].new == results["globex"].new == 90 * LOGS_PER_DAY
    with open_store(path) as store:
        assert store.count() == 2 * 90 * LOGS_PER_DAY
        for name in emulators:
            records = store.records("flireo", name, "call", TODAY - timedelta(days=90), TODAY)
            assert sum(1 for _ in records) == 90 * LOGS_PER_DAY


def test_ultravox_keeps_its_calls_and_its_billed_days(fake_key: str, store_url: str) -> None:
    provider = UltravoxProvider()
    assert [s.name for s in sync_series(provider)] == ["call", "day?source=billing"]
    emulator = UltravoxEmulator(fake_key, today=TODAY.date())
    with EmulatorServer(emulator) as server:
        first = sync(provider, store=store_url, now=NOW, api_key=fake_key, base_url=server.base_url)
        second = sync(
            provider, store=store_url, now=NOW, api_key=fake_key, base_url=server.base_url
        )
    calls, billing = first.series
    assert (calls.since, billing.since) == (TODAY - timedelta(days=90),) * 2
    billed_days = everything(store_url, "ultravox", "day?source=billing")
    assert {r.period_start for r in billed_days} <= {
        TODAY - timedelta(days=n) for n in range(1, 91)
    }
    assert billing.counts.new == len(billed_days) > 0
    assert calls.counts.new == len(everything(store_url, "ultravox", "call")) > 90 * 3 - 1
    assert (second.new, second.revised, second.removed) == (0, 0, 0)
    assert second.since == TODAY - timedelta(days=3)


def test_agentphone_keeps_its_days_within_its_retention(fake_key: str, store_url: str) -> None:
    today = TODAY.date()
    provider = AgentPhoneProvider(today=today)
    with EmulatorServer(AgentPhoneEmulator(fake_key, today=today)) as server:
        first = sync(provider, store=store_url, now=NOW, api_key=fake_key, base_url=server.base_url)
        far = sync(
            provider,
            store=store_url,
            now=NOW,
            since="2020-01-01",
            api_key=fake_key,
            base_url=server.base_url,
        )
    assert first.new == 90
    assert first.requests == 3  # three chunks, one /v1/usage/daily request each
    # A backfill beyond the 365 days AgentPhone keeps starts where its history does.
    assert far.since == TODAY - timedelta(days=364)
    assert (far.new, far.unchanged) == (364 - 90, 90)


def test_a_named_account_is_stamped_on_its_records(
    flireo: EmulatorServer,
    store_url: str,
    fake_key: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = tmp_path / "voice-usage.toml"
    config.write_text(
        '[[accounts.flireo]]\nname = "acme"\napi_key_env = "FLIREO_ACME_KEY"\n'
        f'base_url = "{flireo.base_url}"\n'
    )
    monkeypatch.setenv("VOICE_USAGE_CONFIG", str(config))
    monkeypatch.setenv("FLIREO_ACME_KEY", fake_key)
    result = sync(FlireoProvider(), account="acme", store=store_url, now=NOW, since="2026-09-30")
    assert (result.account, result.new) == ("acme", LOGS_PER_DAY)
    with open_store(store_url) as store:
        records = list(store.records("flireo", "acme", "call", TODAY - timedelta(days=1), TODAY))
    assert {r.account for r in records} == {"acme"}
    assert len(records) == LOGS_PER_DAY


class HoldingFlireo(FlireoEmulator):
    """Holds the first request for ``start_date`` until released, and says when it arrived."""

    def __init__(self, key: str, start_date: str) -> None:
        super().__init__(key, rate_limit=None)
        self.start_date = start_date
        self.arrived = threading.Event()
        self.release = threading.Event()

    def handle(self, request: Any) -> Any:
        if request.param("start_date") == self.start_date and not self.arrived.is_set():
            self.arrived.set()
            self.release.wait(timeout=60)
        return super().handle(request)


def test_a_sync_killed_with_sigkill_and_run_again_ends_as_one_clean_sync(
    fake_key: str, tmp_path: Path
) -> None:
    import subprocess
    import sys

    path = str(tmp_path / "usage.sqlite3")
    second_chunk = (TODAY - timedelta(days=59)).isoformat().replace("+00:00", "Z")
    emulator = HoldingFlireo(fake_key, second_chunk)
    with EmulatorServer(emulator) as server:
        code = (
            "from datetime import datetime, UTC\n"
            "import voice_usage\n"
            f"voice_usage.sync('flireo', store={path!r}, now=datetime(2026, 10, 1, 6, 30, tzinfo=UTC),"
            f" api_key={fake_key!r}, base_url={server.base_url!r})\n"
        )
        child = subprocess.Popen([sys.executable, "-c", code])
        try:
            # The first chunk is written; the process is inside the second when it is killed.
            assert emulator.arrived.wait(timeout=120)
        finally:
            child.kill()
            child.wait()
            emulator.release.set()
        assert child.returncode == -9
        with open_store(path) as store:
            assert store.coverage("flireo", None, "call") == [
                (TODAY - timedelta(days=90), TODAY - timedelta(days=59))
            ]
            assert store.count() == 31 * LOGS_PER_DAY
        rerun = flireo_sync(server, path, fake_key)
        clean = str(tmp_path / "clean.sqlite3")
        flireo_sync(server, clean, fake_key)
    assert rerun.new == 59 * LOGS_PER_DAY
    assert everything(path) == everything(clean)
