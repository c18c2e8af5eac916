"""Benchmark 8: the same fetch next to what users pick instead, alternated in one run.

200 pages of 1000 Flireo logs with 50 ms latency (benchmark 1's fetch). voice-usage reads,
normalizes to `UsageRecord`, deduplicates and reconciles; the peers only fetch and decode:

- `httpx loop`: the sequential `httpx.Client` loop a user writes first;
- `requests + tenacity`: the same with `requests` and a tenacity retry around each page;
- `dlt RESTClient`: dlt's REST client with its offset paginator;
- `httpx async, 8 in flight`: the best hand-written loop, `httpx.AsyncClient` with a semaphore
  of 8 and `json.loads` per page, no normalization.

Peers whose packages are missing are skipped with a note; they come from
`benchmarks/requirements-peers.txt`, never from the project's dependencies.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx

import voice_usage
from benchmarks._common import emulator_process
from benchmarks.bench_fetch import LATENCY, LOGS, PAGE, SINCE, UNTIL

PARAMS: dict[str, str | int] = {"start_date": SINCE, "end_date": UNTIL, "limit": PAGE}
HEADERS = {"Authorization": "Bearer bench-key"}


def _voice_usage(base_url: str) -> Callable[[], int]:
    def fetch() -> int:
        with voice_usage.connect("flireo", api_key="bench-key", base_url=base_url) as flireo:
            return sum(1 for _ in flireo.fetch(SINCE, UNTIL, "call"))

    return fetch


def _httpx_loop(base_url: str) -> Callable[[], int]:
    def fetch() -> int:
        count = 0
        with httpx.Client(base_url=base_url, headers=HEADERS) as client:
            for offset in range(0, LOGS, PAGE):
                response = client.get("/usage", params={**PARAMS, "offset": offset})
                response.raise_for_status()
                count += len(json.loads(response.content)["logs"])
        return count

    return fetch


def _requests_tenacity(base_url: str) -> Callable[[], int] | str:
    try:
        import requests
    except ImportError:
        return "requests is not installed"
    from tenacity import retry, stop_after_attempt, wait_exponential

    def fetch() -> int:
        session = requests.Session()
        session.headers.update(HEADERS)

        @retry(stop=stop_after_attempt(5), wait=wait_exponential(max=10), reraise=True)
        def page(offset: int) -> int:
            response = session.get(f"{base_url}/usage", params={**PARAMS, "offset": offset})
            response.raise_for_status()
            return len(json.loads(response.content)["logs"])

        try:
            return sum(page(offset) for offset in range(0, LOGS, PAGE))
        finally:
            session.close()

    return fetch


def _dlt_rest_client(base_url: str) -> Callable[[], int] | str:
    try:
        from dlt.sources.helpers.rest_client import RESTClient
        from dlt.sources.helpers.rest_client.auth import BearerTokenAuth
        from dlt.sources.helpers.rest_client.paginators import OffsetPaginator
    except ImportError:
        return "dlt is not installed"

    def fetch() -> int:
        client = RESTClient(base_url=base_url, auth=BearerTokenAuth("bench-key"))
        # Flireo's end_date is inclusive, so the total counts one day more than the 200 pages
        # every contender reads (voice-usage asks for the day before UNTIL): stop at the same page.
        paginator = OffsetPaginator(limit=PAGE, total_path="pagination.total", maximum_offset=LOGS)
        pages = client.paginate(
            "/usage",
            params={"start_date": SINCE, "end_date": UNTIL},
            paginator=paginator,
            data_selector="logs",
        )
        return sum(len(page) for page in pages)

    return fetch


def _httpx_async(base_url: str, in_flight: int = 8) -> Callable[[], int]:
    async def pages() -> int:
        limits = httpx.Limits(max_connections=in_flight)
        async with httpx.AsyncClient(base_url=base_url, headers=HEADERS, limits=limits) as client:
            gate = asyncio.Semaphore(in_flight)

            async def page(offset: int) -> int:
                async with gate:
                    response = await client.get("/usage", params={**PARAMS, "offset": offset})
                response.raise_for_status()
                return len(json.loads(response.content)["logs"])

            counts = await asyncio.gather(*(page(o) for o in range(0, LOGS, PAGE)))
            return sum(counts)

    return lambda: asyncio.run(pages())


def run(runs: int = 3) -> dict[str, Any]:
    options = {"logs_per_day": LOGS // 50, "rate_limit": 1_000_000}
    with emulator_process("flireo", LATENCY, **options) as base_url:
        candidates: dict[str, Callable[[], int] | str] = {
            "voice-usage": _voice_usage(base_url),
            "httpx loop": _httpx_loop(base_url),
            "requests + tenacity": _requests_tenacity(base_url),
            "dlt RESTClient": _dlt_rest_client(base_url),
            "httpx async, 8 in flight": _httpx_async(base_url),
        }
        contenders = {name: f for name, f in candidates.items() if callable(f)}
        skipped = {name: why for name, why in candidates.items() if isinstance(why, str)}
        contenders["voice-usage"]()  # warm the emulator's memo and the imports
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in contenders}
        for _ in range(runs):
            for name, fetch in contenders.items():
                wall, cpu = time.perf_counter(), time.process_time()
                count = fetch()
                samples[name].append((time.perf_counter() - wall, time.process_time() - cpu))
                assert count == LOGS, (name, count)
    ours_wall = statistics.median(s[0] for s in samples["voice-usage"])
    ours_cpu = statistics.median(s[1] for s in samples["voice-usage"])
    rows = []
    for name, values in samples.items():
        wall = statistics.median(v[0] for v in values)
        cpu = statistics.median(v[1] for v in values)
        rows.append(
            {
                "name": name,
                "wall_s": wall,
                "cpu_s": cpu,
                "wall_vs_ours": wall / ours_wall,
                "cpu_vs_ours": cpu / ours_cpu,
            }
        )
    return {"rows": rows, "skipped": skipped, "runs": runs}


if __name__ == "__main__":
    result = run()
    for row in result["rows"]:
        print(row, file=sys.stderr)
    for name, why in result["skipped"].items():
        print(f"{name}: skipped ({why})", file=sys.stderr)
