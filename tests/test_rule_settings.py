"""Rule 5: settings belong to the caller that set them.

A negotiated rate book once lived in a process-wide setting, so a book set in one thread priced
another thread's fetch (M3). The book now travels explicitly: on the `Connection` and as
`compare(rate_book=...)`. Two callers at once, each with its own book, each get its own prices,
and a caller with no book gets the shipped card.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import voice_usage
from voice_usage.emulator import EmulatorServer
from voice_usage_flireo import FlireoEmulator

pytestmark = pytest.mark.emulator

SHIPPED = Decimal("0.07")
"""The shipped Flireo card's EUR a minute (`voice_usage/ratecards`), from Flireo's pricing page."""


@pytest.fixture
def flireo(fake_key: str) -> Iterator[EmulatorServer]:
    # Shape (d) logs carry no cost: every record is priced from the book the caller passes.
    emulator = FlireoEmulator(api_key=fake_key, rate_limit=None, logs_per_day=4, shape="d")
    with EmulatorServer(emulator) as server:
        yield server


def _book(tmp_path: Path, price: str) -> voice_usage.RateBook:
    path = tmp_path / f"card-{price}.toml"
    path.write_text(
        '[[rate]]\nprovider = "flireo"\nitem = "call"\n'
        f'price_per_minute = "{price}"\ncurrency = "EUR"\nincrement_seconds = 60\n'
        'covers = ["platform"]\neffective_from = 2025-12-01\n'
        'source = "https://example.invalid/contract"\nchecked = 2026-11-01\n',
        encoding="utf-8",
    )
    return voice_usage.load_rate_book([path], use_env=False)


def _cost_and_minutes(
    server: EmulatorServer, key: str, book: voice_usage.RateBook | None, sleeps: Any
) -> tuple[Decimal, Decimal]:
    with voice_usage.connect(
        "flireo", api_key=key, base_url=server.base_url, rate_book=book, sleep=sleeps
    ) as connection:
        records = connection.fetch("2026-11-01", "2026-11-02", "call").to_list()
    assert records and all(r.cost is not None and r.billed_minutes for r in records)
    cost = sum((r.cost for r in records if r.cost is not None), Decimal(0))
    minutes = sum((r.billed_minutes for r in records if r.billed_minutes), Decimal(0))
    return cost, minutes


def test_rule5_settings_belong_to_their_caller_two_threads_each_price_with_their_own_book(
    flireo, tmp_path, fake_key, sleeps, monkeypatch
):
    monkeypatch.delenv("VOICE_USAGE_RATECARDS", raising=False)
    books = {"a": _book(tmp_path, "0.01"), "b": _book(tmp_path, "0.02"), "plain": None}
    all_ready = threading.Barrier(len(books))
    results: dict[str, tuple[Decimal, Decimal]] = {}
    errors: list[BaseException] = []

    def run(name: str) -> None:
        try:
            all_ready.wait(timeout=10)  # the three fetches run at the same time
            results[name] = _cost_and_minutes(flireo, fake_key, books[name], sleeps)
        except BaseException as exc:  # surfaced below: a thread's failure fails the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(name,)) for name in books]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    minutes = results["a"][1]
    assert minutes > 0 and minutes == results["b"][1] == results["plain"][1]
    # Whole billed minutes at 0.01, 0.02 and the shipped 0.07 EUR a minute.
    assert results["a"][0] == minutes * Decimal("0.01")
    assert results["b"][0] == minutes * Decimal("0.02")
    assert results["plain"][0] == minutes * SHIPPED


def test_rule5_settings_belong_to_their_caller_compare_prices_with_the_book_it_is_given(
    flireo, tmp_path, fake_key, sleeps, monkeypatch
):
    monkeypatch.delenv("VOICE_USAGE_RATECARDS", raising=False)
    monkeypatch.setenv("FLIREO_API_KEY", fake_key)
    monkeypatch.setenv("FLIREO_BASE_URL", flireo.base_url)
    _, minutes = _cost_and_minutes(flireo, fake_key, None, sleeps)
    books = {"a": _book(tmp_path, "0.01"), "b": _book(tmp_path, "0.02")}
    rows: dict[str, voice_usage.ComparisonRow] = {}
    errors: list[BaseException] = []

    def run(name: str) -> None:
        try:  # compare fetches on threads of its own: the caller's book goes with them
            (rows[name],) = voice_usage.compare(
                ["flireo"], "2026-11-01", "2026-11-02", rate_book=books[name], sleep=sleeps
            ).rows
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(name,)) for name in books]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert rows["a"].billed_minutes == rows["b"].billed_minutes == minutes
    assert rows["a"].cost == minutes * Decimal("0.01")
    assert rows["b"].cost == minutes * Decimal("0.02")
