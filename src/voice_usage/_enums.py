"""The schema's vocabularies: record grains, cost sources, the parts of a call, granularities.

Plain enums, kept apart from the pydantic models in `_schema` so that a provider's declaration
(its `Capabilities`) and the command line's listing of providers load no pydantic.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["CallPart", "CostSource", "Grain", "Granularity"]


class Grain(StrEnum):
    """What one record stands for."""

    EVENT = "event"
    """One call."""
    WINDOW = "window"
    """An aggregate over a period (a day, an hour, an agent over a month...)."""


class CostSource(StrEnum):
    """Where a record's cost came from."""

    REPORTED = "reported"
    """The vendor's API said so."""
    RATE_CARD = "rate_card"
    """Computed by voice-usage from a dated rate card, named in the record's `rate_card`."""


class CallPart(StrEnum):
    """A part of a voice call that a cost can pay for (the vocabulary of `cost_covers`).

    Vendors' prices cover different parts: one includes the phone line, another is an
    orchestration fee alone. Naming the parts is what makes costs comparable like for like.
    """

    PLATFORM = "platform"
    """The voice-agent platform's own fee (orchestration, hosting)."""
    TELEPHONY = "telephony"
    """The phone line: carrier minutes, numbers' call legs, SIP trunking."""
    STT = "stt"
    """Speech to text (transcription)."""
    LLM = "llm"
    """The language model that decides what the agent says."""
    TTS = "tts"
    """Text to speech (the agent's voice)."""


class Granularity(StrEnum):
    """How finely a caller wants usage broken down in time."""

    CALL = "call"
    HOUR = "hour"
    DAY = "day"
    MONTH = "month"

    @property
    def rank(self) -> int:
        """Fineness order: calls are the finest, months the coarsest."""
        return _GRANULARITY_RANK[self]


_GRANULARITY_RANK = {
    Granularity.CALL: 0,
    Granularity.HOUR: 1,
    Granularity.DAY: 2,
    Granularity.MONTH: 3,
}
