"""Many accounts of one vendor, synced at once into one store (SQLite and PostgreSQL).

Each account is its own emulator. Their first answers meet at a barrier: it opens only once
every account has a request in flight, so the syncs must be running side by side (were they
one after another, the first would wait for the others, time out, and answer 400, which is not retried). The records
must be those of syncing each account on its own.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from voice_usage._engine._accounts import Account, AccountsConfig
from voice_usage._engine._plugins import Registry
from voice_usage._store import open_store
from voice_usage._store._sync import sync_many
from voice_usage.emulator import EmulatorRequest, EmulatorResponse, EmulatorServer, json_response
from voice_usage_flireo import FlireoProvider
from voice_usage_flireo.emulator import FlireoEmulator

pytestmark = pytest.mark.emulator

NOW = datetime(2026, 10, 1, 6, 30, tzinfo=UTC)
ACCOUNTS = 5


class _MeetFirst(FlireoEmulator):
    """Flireo's emulator whose first answer waits until every account has asked once."""

    def __init__(self, key: str, barrier: threading.Barrier, **options: Any) -> None:
        super().__init__(key, **options)
        self.barrier = barrier
        self.met = False

    def handle(self, request: EmulatorRequest) -> EmulatorResponse:
        if not self.met:
            self.met = True
            try:
                self.barrier.wait(timeout=10)
            except threading.BrokenBarrierError:
                return json_response({"error": "the accounts did not run at once"}, 400)
        return super().handle(request)


@pytest.fixture
def servers(fake_key: str) -> Iterator[list[EmulatorServer]]:
    barrier = threading.Barrier(ACCOUNTS)
    started = [
        EmulatorServer(
            _MeetFirst(fake_key, barrier, rate_limit=None, logs_per_day=20 + n, seed=n)
        ).start()
        for n in range(ACCOUNTS)
    ]
    yield started
    for server in started:
        server.stop()


def _setup(
    servers: list[EmulatorServer], fake_key: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[Registry, AccountsConfig]:
    registry = Registry()
    registry.add(FlireoProvider(), "voice-usage-flireo", "test")
    accounts = []
    for n, server in enumerate(servers):
        monkeypatch.setenv(f"ACCOUNT_{n}_KEY", fake_key)
        accounts.append(Account("flireo", f"client-{n}", f"ACCOUNT_{n}_KEY", server.base_url))
    return registry, AccountsConfig(path=None, accounts=tuple(accounts))


@pytest.mark.real_time("syncs opening one new SQLite file at once may wait on its lock for real")
def test_accounts_are_synced_at_once_and_each_gets_its_own_records(
    servers: list[EmulatorServer], fake_key: str, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry, accounts = _setup(servers, fake_key, monkeypatch)
    monkeypatch.delenv("FLIREO_API_KEY", raising=False)
    results = sync_many(
        ["flireo"],
        account=None,
        since="2026-09-01",
        until="2026-09-11",
        lookback=None,
        store=store_url,
        registry=registry,
        accounts=accounts,
        now=NOW,
        parallel=ACCOUNTS,
    )
    assert [r.error for r in results] == [None] * ACCOUNTS
    assert [r.account for r in results] == [f"client-{n}" for n in range(ACCOUNTS)]
    with open_store(store_url) as store:
        for n in range(ACCOUNTS):
            stored = list(
                store.records(
                    "flireo",
                    account=f"client-{n}",
                    series="call",
                    since=datetime(2026, 9, 1, tzinfo=UTC),
                    until=datetime(2026, 9, 11, tzinfo=UTC),
                )
            )
            # Ten days of (20 + n) logs a day, from that account's own emulator only.
            assert len(stored) == 10 * (20 + n)
            assert {r.account for r in stored} == {f"client-{n}"}


def test_a_bad_parallel_setting_is_refused_before_any_request(
    servers: list[EmulatorServer], fake_key: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from voice_usage import ConfigurationError

    registry, accounts = _setup(servers, fake_key, monkeypatch)
    monkeypatch.setenv("VOICE_USAGE_PARALLEL", "many")
    with pytest.raises(ConfigurationError, match="VOICE_USAGE_PARALLEL must be a whole number"):
        sync_many(
            ["flireo"],
            account=None,
            since="2026-09-01",
            until="2026-09-11",
            lookback=None,
            store=str(tmp_path / "usage.sqlite3"),
            registry=registry,
            accounts=accounts,
            now=NOW,
        )
    assert all(not server.requests for server in servers)
