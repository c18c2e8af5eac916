"""Run a provider's emulator on loopback with latency, memoizing responses; prints the base URL.

It then answers commands on stdin, one a line, so a benchmark can drive the server's budget
from another process: `budget REQUESTS SECONDS HEADERS` puts a fresh `Budget` in force
(HEADERS 1 or 0), `throttled` prints how many requests it answered 429.
"""

from __future__ import annotations

import json
import sys
import threading
from typing import Any

from voice_usage import load_registry
from voice_usage.emulator import (
    Budget,
    Emulator,
    EmulatorRequest,
    EmulatorResponse,
    EmulatorServer,
)


class Memoized(Emulator):
    """Answers each distinct request once from the real emulator, then replays the bytes."""

    def __init__(self, inner: Emulator) -> None:
        super().__init__(inner.api_key)
        self.inner = inner
        # The budget is charged live, per request, with its X-RateLimit headers: without them a
        # client keeps to the vendor's documented budget (Flireo's 100 a minute) and the
        # benchmark measures that pacing instead of the client.
        self.budget = inner.budget
        self.cache: dict[tuple[str, tuple[tuple[str, tuple[str, ...]], ...]], EmulatorResponse] = {}
        self.lock = threading.Lock()

    def authorized(self, request: EmulatorRequest) -> bool:
        return self.inner.authorized(request)

    def handle(self, request: EmulatorRequest) -> EmulatorResponse:
        key = (request.path, tuple(sorted((k, tuple(v)) for k, v in request.query.items())))
        with self.lock:
            cached = self.cache.get(key)
        if cached is None:
            cached = self.inner.handle(request)
            with self.lock:
                self.cache[key] = cached
        return cached


def main() -> None:
    provider_name, latency, options = sys.argv[1], float(sys.argv[2]), json.loads(sys.argv[3])
    provider = load_registry().get(provider_name)
    memoize = options.pop("memoize", True)
    jitter = options.pop("jitter", 0.0)
    # The provider's own emulator class, built with the benchmark's options.
    inner: Any = type(provider.emulator("bench-key"))("bench-key", **options)
    emulator = Memoized(inner) if memoize else inner
    server = EmulatorServer(emulator)
    server.faults.latency, server.faults.jitter = latency, jitter
    server.start()
    print(server.base_url, flush=True)
    for line in sys.stdin:
        command, *arguments = line.split()
        if command == "budget":
            requests, seconds, headers = arguments
            emulator.budget = Budget(int(requests), float(seconds), headers=headers == "1")
            print("ok", flush=True)
        elif command == "throttled":
            print(emulator.budget.throttled if emulator.budget is not None else 0, flush=True)
    threading.Event().wait()  # stdin closed: serve on until terminated


if __name__ == "__main__":
    main()
