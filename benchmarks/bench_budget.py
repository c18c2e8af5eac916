"""Benchmark 5: use the vendor's whole rate budget, and no more.

Flireo's emulator enforces its budget the way Flireo documents it (a fixed window with
`X-RateLimit-Limit/Remaining/Reset`, 429 with `Retry-After` past it), scaled down to 20 requests
per 2 s so the benchmark runs in seconds, and once more without the headers (a vendor that
documents a budget but says nothing of it per answer; the provider declares the same budget).
Answers take 10-90 ms at random, so with 8 requests in flight they come back out of order. The
figure shown is the median of the runs; the 429 count is summed over all of them. The emulator
runs in its own process, as the other benchmarks' do: served from the client's own process, its
threads took the client's interpreter lock while pages were being read, and every answer reached
the client late (see `SAME_PROCESS`).

The fetch is 100 pages: five windows' worth. The budget bound is the least time any client
can take: the last window's requests go out four windows after the first, plus a round trip.
"""

from __future__ import annotations

import math
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import voice_usage
from benchmarks._common import served_process
from benchmarks._serve import Memoized
from voice_usage.emulator import Budget, EmulatorServer
from voice_usage.provider import RateLimit
from voice_usage_flireo import FlireoEmulator

LIMIT, WINDOW = 20, 2.0
PAGES, PAGE = 100, 1000
DAYS = 50
LATENCY = (0.010, 0.090)
SINCE, UNTIL = "2026-10-01", "2026-11-20"


SAME_PROCESS = os.environ.get("VOICE_USAGE_BENCH_BUDGET_SAME_PROCESS") == "1"
"""Serve the emulator from a thread of the client's process, as this benchmark first did."""

Fetch = Callable[[bool], tuple[float, float, int]]
"""One fetch under a fresh budget, headers on or off: seconds, CPU seconds, answers of 429."""


def _fetch(base_url: str, concurrency: int) -> tuple[float, float]:
    provider = voice_usage.load_registry().get("flireo")
    provider.rate_limit = RateLimit(LIMIT, WINDOW)  # the scaled-down budget, as documented
    started, cpu = time.perf_counter(), time.process_time()
    with voice_usage.connect(
        provider, api_key="bench-key", base_url=base_url, concurrency=concurrency
    ) as flireo:
        count = sum(1 for _ in flireo.fetch(SINCE, UNTIL, "call"))
    took, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert count == PAGES * PAGE, count
    return took, cpu


def _options() -> dict[str, Any]:
    return {"logs_per_day": PAGES * PAGE // DAYS, "rate_limit": None}


def _in_process(concurrency: int) -> Fetch:
    # Pages are made once and replayed, the budget counted live.
    emulator = Memoized(FlireoEmulator("bench-key", **_options()))

    def fetch(headers: bool) -> tuple[float, float, int]:
        emulator.budget = budget = Budget(LIMIT, WINDOW, headers=headers)
        with EmulatorServer(emulator) as server:
            server.faults.latency, server.faults.jitter = LATENCY[0], LATENCY[1] - LATENCY[0]
            took, cpu = _fetch(server.base_url, concurrency)
        return took, cpu, budget.throttled

    return fetch


def run(
    runs: int = 3, concurrency: int = 8, same_process: bool = SAME_PROCESS
) -> list[dict[str, Any]]:
    bound = (math.ceil(PAGES / LIMIT) - 1) * WINDOW + LATENCY[1]
    with served_process(
        "flireo", LATENCY[0], jitter=LATENCY[1] - LATENCY[0], **_options()
    ) as served:

        def fetch(headers: bool) -> tuple[float, float, int]:
            served.command(f"budget {LIMIT} {WINDOW} {int(headers)}")
            took, cpu = _fetch(served.base_url, concurrency)
            return took, cpu, int(served.command("throttled"))

        if same_process:
            fetch = _in_process(concurrency)
        fetch(True)  # warm the memo and the imports
        results = []
        for headers in (True, False):
            samples = [fetch(headers) for _ in range(runs)]
            took = statistics.median(sample[0] for sample in samples)
            results.append(
                {
                    "headers": headers,
                    "took_s": took,
                    "cpu_s": statistics.median(sample[1] for sample in samples),
                    "bound_s": bound,
                    "vs_bound": took / bound,
                    "throttled": sum(sample[2] for sample in samples),
                    "runs": runs,
                    "emulator": "same process" if same_process else "own process",
                    "load": os.getloadavg()[0],
                }
            )
    return results


if __name__ == "__main__":
    for result in run():
        print(result)
