"""Benchmark 2: normalization throughput, raw page bytes to UsageRecord, next to json.loads.

Both run over the same Flireo `/usage` page bodies (20 pages of 1000 logs, made by the bundled
emulator), alternately, several times; the medians are compared.
"""

from __future__ import annotations

import gc
import json
from typing import Any

from benchmarks._common import interleaved
from voice_usage import FetchReport, UsageQuery
from voice_usage.emulator import EmulatorRequest
from voice_usage_flireo import FlireoProvider
from voice_usage_flireo.emulator import FlireoEmulator

PAGES = 20
PAGE_SIZE = 1000
GUARD = 6.0
"""Normalization must not cost more than this many times `json.loads` of the same bytes. A
`UsageRecord` per call is the library's contract; this only keeps it from getting worse."""


def page_bodies(shape: str) -> list[bytes]:
    emulator = FlireoEmulator(shape=shape, logs_per_day=PAGES * PAGE_SIZE // 10, rate_limit=None)  # type: ignore[arg-type]
    bodies = []
    for offset in range(0, PAGES * PAGE_SIZE, PAGE_SIZE):
        query = {
            "start_date": ["2026-10-01"],
            "end_date": ["2026-10-10"],
            "limit": [str(PAGE_SIZE)],
            "offset": [str(offset)],
        }
        response = emulator.handle(EmulatorRequest("GET", "/usage", query, {}, "http://bench"))
        bodies.append(response.body)
    return bodies


def measure(shape: str, runs: int) -> dict[str, Any]:
    """Medians of normalizing and of json.loads over the same pages of one response shape."""
    provider = FlireoProvider()
    plan = provider.plan(UsageQuery(since="2026-10-01", until="2026-10-11", granularity="call"))
    bodies = page_bodies(shape)
    count = sum(len(json.loads(b)["logs"]) for b in bodies)

    def normalize() -> None:
        pages = (plan.walks[0].parse(body) for body in bodies)
        produced = sum(1 for _ in plan.to_records(pages, FetchReport("flireo")))
        assert produced == count, (produced, count)

    def loads() -> None:
        for body in bodies:
            json.loads(body)

    gc.collect()
    medians = interleaved({"json.loads": loads, "voice-usage": normalize}, runs)
    return {
        "shape": shape,
        "records": count,
        "bytes_per_record": round(sum(map(len, bodies)) / count),
        "json_loads_s": medians["json.loads"],
        "normalize_s": medians["voice-usage"],
        "records_per_s": count / medians["voice-usage"],
        "ratio": medians["voice-usage"] / medians["json.loads"],
        "guard": GUARD,
        "holds": medians["voice-usage"] / medians["json.loads"] <= GUARD,
    }


def run(runs: int = 7) -> list[dict[str, Any]]:
    """Shape (a), the API reference's (cost given), and (d), the spec's (more fields, no cost)."""
    return [measure(shape, runs) for shape in ("a", "d")]


def verdict(result: dict[str, Any]) -> str:
    """One line: the ratio, the guard, and whether it holds."""
    held = "holds" if result["holds"] else "BROKEN"
    return (
        f"shape ({result['shape']}): {result['ratio']:.1f}x json.loads "
        f"({result['normalize_s'] * 1e6 / result['records']:.1f} us a record); "
        f"guard <= {result['guard']:g}x: {held}"
    )


if __name__ == "__main__":
    for row in run():
        print(row)
        print(verdict(row))
