"""The rate book travels with the connection: no global, so concurrent fetches price independently."""

from __future__ import annotations

import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import voice_usage
from voice_usage.emulator import EmulatorServer
from voice_usage_flireo import FlireoEmulator, FlireoProvider

pytestmark = pytest.mark.emulator


def card(tmp_path: Path, name: str, price: str) -> voice_usage.RateBook:
    path = tmp_path / f"{name}.toml"
    path.write_text(
        '[[rate]]\nprovider = "flireo"\nitem = "call"\n'
        f'price_per_minute = "{price}"\ncurrency = "EUR"\nincrement_seconds = 60\n'
        "effective_from = 2025-12-01\n"
        'covers = ["platform"]\n'
        'source = "https://example.invalid/contract"\nchecked = 2026-11-01\n',
        encoding="utf-8",
    )
    return voice_usage.load_rate_book([path], use_env=False)


def test_two_threads_with_different_rate_books_each_get_their_own_prices(
    tmp_path: Path, fake_key: str, sleeps: Any
) -> None:
    # Shape (c) logs carry no cost: every record is priced from the connection's rate card.
    emulator = FlireoEmulator(api_key=fake_key, logs_per_day=30, shape="c")
    books = {"cheap": card(tmp_path, "cheap", "0.01"), "dear": card(tmp_path, "dear", "1.00")}
    results: dict[str, list[voice_usage.UsageRecord]] = {}
    errors: list[BaseException] = []
    both_started = threading.Barrier(2)

    def fetch(name: str) -> None:
        try:
            with voice_usage.connect(
                FlireoProvider(page_size=10),  # several pages each, fetched side by side
                api_key=fake_key,
                base_url=server.base_url,
                rate_book=books[name],
                concurrency=2,
                sleep=sleeps,
                async_sleep=sleeps.asleep,
            ) as connection:
                result = connection.fetch("2026-10-01", "2026-10-03", "call")
                records = iter(result)
                first = [next(records)]
                both_started.wait(timeout=10)  # both fetches are under way at once
                results[name] = first + list(records)
        except BaseException as exc:
            errors.append(exc)

    with EmulatorServer(emulator) as server:
        threads = [threading.Thread(target=fetch, args=(name,)) for name in books]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert errors == []
    cheap, dear = results["cheap"], results["dear"]
    assert len(cheap) == len(dear) == 60
    for low, high in zip(cheap, dear, strict=True):
        assert low.call_id == high.call_id and low.billed_minutes == high.billed_minutes
        assert low.billed_minutes is not None
        # Whole billed minutes at 0.01 and 1.00 EUR a minute: exactly 100 times apart.
        assert low.cost == low.billed_minutes * Decimal("0.01")
        assert high.cost == high.billed_minutes * Decimal("1.00")
        assert low.cost_source is high.cost_source is voice_usage.CostSource.RATE_CARD
    minutes = sum(r.billed_minutes or 0 for r in cheap)
    assert minutes > 0
    assert sum(r.cost or 0 for r in dear) == 100 * sum(r.cost or 0 for r in cheap)
