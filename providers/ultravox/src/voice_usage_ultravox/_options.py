"""Ultravox's query options, checked: the endpoint, the plan and the vendor filters.

Option `source` picks the endpoint that answers, `plan` the account's plan (its own rates), and
the vendor filters are passed through to the request. Which option names exist is declared once, in the provider's `capabilities.filters`, and the core
refuses any other before `plan()` is called; this module checks the values.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import time
from typing import Final

from voice_usage.provider import ConfigurationError, ParamValue, UsageQuery
from voice_usage_ultravox import NAME
from voice_usage_ultravox._duration import DurationFormatError, format_duration, parse_duration

__all__ = ["SOURCES", "Options"]

SOURCES: Final = ("calls", "billing", "agents")
"""Values of option `source`: the endpoint that answers (see the provider's module docstring)."""


@dataclass(frozen=True)
class Options:
    """`query.options`, checked: the data source and the vendor filters."""

    source: str = "calls"
    filters: dict[str, ParamValue] = field(default_factory=dict)
    plan: str | None = None
    """The account's plan (`pro`), when the user says it: its own rates (SIP) are used."""

    @classmethod
    def parse(cls, query: UsageQuery) -> Options:
        """The options of ``query``, each value checked.

        Raises:
            ConfigurationError: naming the option and what it must be.
        """
        source = "calls"
        plan: str | None = None
        filters: dict[str, ParamValue] = {}
        if query.agent_ids:
            for agent_id in query.agent_ids:
                _check_uuid("agent id", agent_id)
            filters["agentIds"] = list(query.agent_ids)
        for name, value in query.options.items():
            if name == "source":
                if value not in SOURCES:
                    raise ConfigurationError(
                        f"{NAME}: option source={value!r} is not one of {', '.join(SOURCES)}"
                    )
                source = value
            elif name in ("durationMin", "durationMax"):
                try:
                    filters[name] = format_duration(parse_duration(value, field=f"option {name}"))
                except DurationFormatError as exc:
                    raise ConfigurationError(f"{NAME}: {exc}") from None
            elif name in ("timeOfDayStart", "timeOfDayEnd"):
                try:
                    time.fromisoformat(value)
                except ValueError:
                    raise ConfigurationError(
                        f"{NAME}: option {name} must be a time of day HH:MM:SS[.ffffff], "
                        f"got {value!r}"
                    ) from None
                filters[name] = value
            elif name == "voiceId":
                _check_uuid("option voiceId", value)
                filters[name] = value
            elif name == "search":
                if not value:
                    raise ConfigurationError(f"{NAME}: option search must not be empty")
                filters[name] = value
            elif name == "plan":
                if not value:
                    raise ConfigurationError(f"{NAME}: option plan must name a plan, e.g. pro")
                plan = value.lower()
            else:
                # `metadata.<key>`: the only family `capabilities.filters` declares besides the
                # names above, so the core has refused anything else already.
                filters[name] = value
        return cls(source, filters, plan)


def _check_uuid(what: str, value: str) -> None:
    try:
        uuid.UUID(value)
    except ValueError:
        raise ConfigurationError(f"{NAME}: {what} must be a UUID, got {value!r}") from None
