"""Shared fixtures: cassette layout and scrubbing, recorded sleeps, fresh registries."""

from __future__ import annotations

import os

# Every record a provider builds with UsageRecord.trusted() is fully validated in the tests.
os.environ["VOICE_USAGE_STRICT_RECORDS"] = "1"

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

# Shared, noisy machines: no per-example deadline, and slow data generation is not a failure.
settings.register_profile(
    "voice-usage", deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("voice-usage")

ROOT = Path(__file__).resolve().parent.parent
CASSETTES = ROOT / "cassettes"

FAKE_KEY = "vu-test-key-5f0c2d9e8a7b4c3d"
"""A recognizable placeholder key: tests assert it never leaks anywhere."""


@pytest.fixture(scope="module")
def vcr_config() -> dict[str, Any]:
    # Replay-only by default (pytest-recording's record mode "none"); never set record_mode here.
    return {
        "filter_headers": ["authorization", "x-api-key", "cookie"],
        "decode_compressed_response": True,
        "match_on": ["method", "scheme", "host", "port", "path", "query"],
    }


@pytest.fixture(scope="module")
def vcr_cassette_dir(request: pytest.FixtureRequest) -> str:
    # Cassettes live at the repository root, one folder per test module.
    return str(CASSETTES / request.module.__name__.rsplit(".", 1)[-1])


class Sleeps(list[float]):
    """Records the delays a component asked to sleep, instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)

    async def asleep(self, seconds: float) -> None:
        self.append(seconds)

    @property
    def total(self) -> float:
        return sum(self)


@pytest.fixture
def sleeps() -> Iterator[Sleeps]:
    yield Sleeps()


@pytest.fixture
def fake_key() -> str:
    return FAKE_KEY
