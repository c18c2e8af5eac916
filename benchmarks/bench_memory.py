"""Benchmark 3: peak resident memory of `compare` over 100,000 and 1,000,000 Flireo records.

Each size runs in a fresh interpreter (peak RSS is per process); the emulator serves from its own
process. Memory should depend on the number of groups, not of records: records stream through.
"""

from __future__ import annotations

from typing import Any

from benchmarks._common import emulator_process, peak_rss_mb

DAYS = 50
SINCE, UNTIL = "2026-10-01", "2026-11-20"

CODE = """
import voice_usage
comparison = voice_usage.compare(
    ["flireo"], "{since}", "{until}",
    connect_options={{"flireo": {{"api_key": "bench-key", "base_url": "{url}"}}}},
)
row = comparison.rows[0]
assert row.calls == {records}, (row.calls, {records})
"""

BASELINE = "import voice_usage, voice_usage_flireo\n"


def run(sizes: tuple[int, ...] = (100_000, 1_000_000)) -> list[dict[str, Any]]:
    results = []
    imports_only = peak_rss_mb(BASELINE)
    for records in sizes:
        options = {"logs_per_day": records // DAYS, "rate_limit": 1_000_000, "memoize": False}
        with emulator_process("flireo", 0.0, **options) as url:
            peak = peak_rss_mb(CODE.format(since=SINCE, until=UNTIL, url=url, records=records))
        results.append({"records": records, "peak_rss_mb": peak, "imports_only_mb": imports_only})
    return results


if __name__ == "__main__":
    for row in run():
        print(row)
