"""Benchmark 1: fetch 200,000 Flireo logs (200 pages of 1000) with 50 ms latency per request.

Compares voice-usage (concurrent pages, full normalization to UsageRecord) with the sequential
httpx loop a user would write by hand (GET each page, json.loads), and with the latency-bound
ideal: ceil(199 / concurrency) + 1 round trips. The emulator runs in its own process and replays
memoized pages, so its own cost is not measured.
"""

from __future__ import annotations

import json
import math
from typing import Any

import httpx

import voice_usage
from benchmarks._common import emulator_process, median_seconds

LOGS = 200_000
PAGE = 1000
DAYS = 50
LATENCY = 0.050
SINCE, UNTIL = "2026-10-01", "2026-11-20"  # 50 days of 4,000 logs


def run(runs: int = 5, hand_runs: int = 3, concurrency: int = 8) -> dict[str, Any]:
    options = {"logs_per_day": LOGS // DAYS, "rate_limit": 1_000_000}
    with emulator_process("flireo", LATENCY, **options) as base_url:

        def voice_usage_fetch() -> None:
            with voice_usage.connect(
                "flireo", api_key="bench-key", base_url=base_url, concurrency=concurrency
            ) as flireo:
                count = sum(1 for _ in flireo.fetch(SINCE, UNTIL, "call"))
            assert count == LOGS, count

        def hand_loop() -> None:
            count = 0
            with httpx.Client(
                base_url=base_url, headers={"Authorization": "Bearer bench-key"}
            ) as client:
                for offset in range(0, LOGS, PAGE):
                    response = client.get(
                        "/usage",
                        params={
                            "start_date": SINCE,
                            "end_date": UNTIL,
                            "limit": PAGE,
                            "offset": offset,
                        },
                    )
                    response.raise_for_status()
                    count += len(json.loads(response.content)["logs"])
            assert count == LOGS, count

        voice_usage_fetch()  # warm the emulator's memo and the imports
        ours, _ = median_seconds(voice_usage_fetch, runs)
        hand, _ = median_seconds(hand_loop, hand_runs)
    ideal = (math.ceil((LOGS // PAGE - 1) / concurrency) + 1) * LATENCY
    return {
        "voice_usage_s": ours,
        "hand_loop_s": hand,
        "ideal_s": ideal,
        "speedup_vs_hand": hand / ours,
        "vs_ideal": ours / ideal,
        "concurrency": concurrency,
    }


if __name__ == "__main__":
    print(run())
