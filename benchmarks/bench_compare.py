"""Benchmark 4: `compare` across the three providers with 100 ms latency each.

Concurrent (what `compare` does) against one provider after another (three `compare` calls in a
row). The goal: close to the slowest single provider, not the sum.
"""

from __future__ import annotations

import datetime as dt
from contextlib import ExitStack
from typing import Any

import voice_usage
from benchmarks._common import emulator_process, interleaved

LATENCY = 0.100
PROVIDERS = ("flireo", "ultravox", "agentphone")


def run(runs: int = 5) -> dict[str, Any]:
    today = dt.datetime.now(dt.UTC).date()
    since, until = today - dt.timedelta(days=30), today
    with ExitStack() as stack:
        urls = {name: stack.enter_context(emulator_process(name, LATENCY)) for name in PROVIDERS}
        options = {name: {"api_key": "bench-key", "base_url": url} for name, url in urls.items()}

        def compare(names: tuple[str, ...]) -> None:
            comparison = voice_usage.compare(list(names), since, until, connect_options=options)
            assert not comparison.errors, comparison.errors

        def one_after_another() -> None:
            for name in PROVIDERS:
                compare((name,))

        singles = {name: (lambda n=name: compare((n,))) for name in PROVIDERS}
        compare(PROVIDERS)  # warm the emulators' memo
        medians = interleaved(
            {"concurrent": lambda: compare(PROVIDERS), "sequential": one_after_another, **singles},
            runs,
        )
    slowest = max(medians[name] for name in PROVIDERS)
    return {
        "concurrent_s": medians["concurrent"],
        "sequential_s": medians["sequential"],
        "slowest_single_s": slowest,
        "singles_s": {name: medians[name] for name in PROVIDERS},
        "concurrent_vs_slowest": medians["concurrent"] / slowest,
    }


if __name__ == "__main__":
    print(run())
