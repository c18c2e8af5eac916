"""Dated rate cards, and pricing a record under one.

Rate cards are TOML data files shipped in `voice_usage/ratecards/`, one per vendor, read when
first needed (never at import, never from the network). A user file with the same layout adds
cards or overrides shipped ones with the same key, for negotiated prices.

A file holds `[[rate]]` lines (a price per minute of one metered item, saying which parts of a
call it pays for and which it leaves out) and `[[fixed]]` lines (monthly charges: a plan's
subscription, a price per phone number). The layout is documented in docs/guide.md, "Rate cards".

Money is carried to a millionth of the currency unit (`COST_QUANTUM`): per-second prices do not
divide evenly, and vendors round only on their invoices.
"""

from __future__ import annotations

import functools
import math
import os
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from voice_usage._exceptions import ConfigurationError
from voice_usage._schema import CallPart, CostSource, Grain, UsageRecord, covers

__all__ = [
    "COST_QUANTUM",
    "FixedCharge",
    "Rate",
    "RateBook",
    "RateCardError",
    "default_rate_book",
    "describe_fixed",
    "describe_rate",
    "load_rate_book",
    "price_record",
    "priced_by",
    "unpriced",
]

COST_QUANTUM = Decimal("0.000001")
"""Costs computed from rate cards are rounded half-up to this many currency units."""

MINUTES_QUANTUM = Decimal("0.000001")
"""Minutes derived from seconds (601 s is 10.016667 min) are rounded half-up to this, so sums
of them stay exact; costs are computed from the exact seconds, not from the rounded minutes."""

SHIPPED_ORIGIN = "voice_usage/ratecards/"
"""How `RateBook.origin()` starts for a card shipped with the package (a user file is its path)."""

RATECARDS_ENV = "VOICE_USAGE_RATECARDS"
"""Environment variable naming a user rate-card TOML file that overrides or adds cards."""


DAYS_PER_MONTH = 30
"""A monthly fixed charge is spread over 30-day months (AgentPhone renews numbers every 30 days),
so a period's share is the charge times its length in days over 30."""

MAX_PRICE = Decimal(1_000_000)
"""The most a rate card may charge for a minute, a call or a month: a figure past it is a typo, and one
past 28 digits could not even be computed with."""


class RateCardError(ConfigurationError):
    """Raised for a malformed rate-card file, or when no card covers what must be priced."""


def _parts(value: Any) -> Any:
    """A list of call parts checked against the vocabulary, with a message that lists it."""
    if isinstance(value, list | tuple):
        unknown = [part for part in value if part not in set(CallPart)]
        if unknown:
            known = ", ".join(CallPart)
            raise ValueError(f"unknown part(s) {', '.join(map(repr, unknown))} (known: {known})")
    return value


class _Dated(BaseModel):
    """What every line of a card has: a validity period, a source and the date it was checked."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    provider: str
    """Provider name the line belongs to, e.g. `ultravox`."""
    variant: str | None = None
    """A pricing mode or plan (`webhook`, `hosted`, `pro`), or `None` when there is one price."""
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    """ISO 4217 code of the price."""
    effective_from: date
    """First day (UTC) the price applies."""
    effective_until: date | None = None
    """Day (UTC) the price stops applying, exclusive; `None` while in force."""
    source: str
    """URL of the vendor page the price was read from."""
    checked: date
    """Date the source was last checked."""
    note: str | None = None
    """Anything a reader should know about this price (ambiguities, assumptions)."""
    inferred: tuple[str, ...] = ()
    """Names of this line's fields whose values the vendor does not state but were inferred
    (e.g. `increment_seconds` read off one documentation example); outputs that use the line
    name them."""

    @model_validator(mode="after")
    def _check_dates(self) -> Any:
        if self.effective_until is not None and self.effective_until <= self.effective_from:
            raise ValueError("effective_until must be after effective_from")
        return self

    @model_validator(mode="after")
    def _check_inferred(self) -> Any:
        unknown = sorted(set(self.inferred) - set(type(self).model_fields))
        if unknown:
            raise ValueError(
                f"inferred names field(s) the line does not have: {', '.join(unknown)}"
            )
        return self

    def applies_at(self, instant: datetime) -> bool:
        """Whether the price is in force at ``instant`` (UTC)."""
        return self.applies_on(instant.astimezone(UTC).date())

    def applies_on(self, day: date) -> bool:
        """Whether the price is in force on the UTC ``day``."""
        return self.effective_from <= day and (
            self.effective_until is None or day < self.effective_until
        )

    def _overlaps(self, other: _Dated) -> bool:
        """Whether the two lines' validity periods share a day."""
        ends = [d for d in (self.effective_until, other.effective_until) if d is not None]
        return max(self.effective_from, other.effective_from) < min(ends, default=date.max)


class Rate(_Dated):
    """One price line of a vendor's rate card, valid over `[effective_from, effective_until)`."""

    item: str = "call"
    """Metered item: `call` minutes, or `sip` trunk minutes."""
    price_per_minute: Decimal = Field(ge=0, le=MAX_PRICE, allow_inf_nan=False)
    """Price of one billed minute, in `currency`."""
    increment_seconds: int = Field(default=1, ge=1)
    """Billing increment: each call's duration is rounded up to a multiple of this (1, 6, 60)."""
    minimum_charge: Decimal = Field(default=Decimal(0), ge=0, le=MAX_PRICE, allow_inf_nan=False)
    """Least a single call costs, in `currency`."""
    covers: tuple[CallPart, ...]
    """The parts of a voice call this price pays for (`platform`, `telephony`, `stt`, `llm`,
    `tts`); may be empty for a surcharge that pays for none of them on its own."""
    leaves_out: dict[CallPart, str] = Field(default_factory=dict)
    """Parts the price does not pay for, each with who bills it instead (prose for people);
    parts named in neither list are left out without a reason given."""
    component: str | None = None
    """The line item this price makes in a record's `cost_components`; the item when unset."""

    _covers = field_validator("covers", mode="before")(lambda value: covers(_parts(value)))

    @field_validator("leaves_out", mode="before")
    @classmethod
    def _known_parts_left_out(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            _parts(list(value))
        return value

    @model_validator(mode="after")
    def _covered_or_left_out(self) -> Rate:
        both = [part.value for part in self.covers if part in self.leaves_out]
        if both:
            raise ValueError(f"{', '.join(both)} both covered and left out")
        return self

    @property
    def line_item(self) -> str:
        """The name of this price's line item in `cost_components`."""
        return self.component or self.item

    @property
    def left_out(self) -> tuple[CallPart, ...]:
        """Every part of a call this price does not pay for, in vocabulary order."""
        return tuple(part for part in CallPart if part not in self.covers)

    @property
    def key(self) -> tuple[object, ...]:
        """Identity of the price line: a user file overrides a shipped line with the same key."""
        return (self.provider, self.item, self.variant, self.effective_from)

    @property
    def label(self) -> str:
        """Short name for output: `ultravox/call@2025-01-01`."""
        variant = f"[{self.variant}]" if self.variant else ""
        return f"{self.provider}/{self.item}{variant}@{self.effective_from.isoformat()}"

    @property
    def increment(self) -> str:
        """The billing increment in words: `per second`, `per 6 s`, `per minute, rounded up per call`."""
        if self.increment_seconds == 1:
            return "per second"
        if self.increment_seconds == 60:
            return "per minute, rounded up per call"
        return f"per {self.increment_seconds} s, rounded up per call"

    def billable_seconds(self, duration_seconds: Decimal) -> int:
        """Seconds billed for one call: the duration rounded up to a multiple of the increment."""
        return math.ceil(duration_seconds / self.increment_seconds) * self.increment_seconds

    def billed_minutes(self, duration_seconds: Decimal) -> Decimal:
        """Minutes billed for one call of ``duration_seconds``, after rounding up to the increment."""
        minutes = Decimal(self.billable_seconds(duration_seconds)) / 60
        return minutes.quantize(MINUTES_QUANTUM, ROUND_HALF_UP)

    def charge_call(self, duration_seconds: Decimal) -> Decimal:
        """What one call of ``duration_seconds`` costs: rounded up, priced, at least the minimum."""
        cost = Decimal(self.billable_seconds(duration_seconds)) * self.price_per_minute / 60
        if duration_seconds > 0:
            cost = max(cost, self.minimum_charge)
        return cost.quantize(COST_QUANTUM, rounding=ROUND_HALF_UP)

    def charge_minutes(self, billed_minutes: Decimal) -> Decimal:
        """What already-rated minutes cost (the vendor applied its rounding)."""
        return (billed_minutes * self.price_per_minute).quantize(COST_QUANTUM, ROUND_HALF_UP)


class FixedCharge(_Dated):
    """A monthly charge that does not depend on minutes: a plan's subscription, a phone number.

    Fixed charges are a figure of their own in compare and reprice, never spread into a
    per-minute cost. A `variant` names the plan the charge belongs to (Ultravox `pro`): it
    applies when the vendor's API says the account is on that plan. Without one, it applies
    per `per` unit the vendor counts (AgentPhone's numbers), or, when the vendor tells nothing,
    `count` times as stated in a user's card.
    """

    name: str
    """What is charged: `subscription`, `number`, `recording`..."""
    price_per_month: Decimal = Field(ge=0, le=MAX_PRICE, allow_inf_nan=False)
    """Price per month of 30 days (`DAYS_PER_MONTH`), in `currency`, for one `per` unit."""
    per: Literal["account", "number"] = "account"
    """The unit charged: once per `account`, or per phone `number` held."""
    count: int | None = Field(default=None, ge=0)
    """How many units the user has, stated in a user's card for a vendor whose API does not
    tell; the vendor's own count wins when it tells one."""

    @property
    def key(self) -> tuple[object, ...]:
        """Identity of the line: a user file overrides a shipped line with the same key."""
        return ("fixed", self.provider, self.name, self.variant, self.effective_from)

    @property
    def label(self) -> str:
        """Short name for output: `ultravox/subscription[pro]@2025-01-01`."""
        variant = f"[{self.variant}]" if self.variant else ""
        return f"{self.provider}/{self.name}{variant}@{self.effective_from.isoformat()}"

    def for_period(self, count: int, start: datetime, end: datetime) -> Decimal:
        """The charge for ``count`` units over `[start, end)`, pro rata by 30-day months."""
        days = Decimal((end - start).total_seconds()) / 86400
        share = self.price_per_month * count * days / DAYS_PER_MONTH
        return share.quantize(COST_QUANTUM, ROUND_HALF_UP)


class RateBook:
    """The rate cards in force: shipped cards plus any user overrides."""

    def __init__(
        self,
        rates: Iterable[Rate],
        *,
        fixed: Iterable[FixedCharge] = (),
        origins: Mapping[tuple[object, ...], str] | None = None,
    ) -> None:
        by_key: dict[tuple[object, ...], Rate] = {}
        for rate in rates:
            by_key[rate.key] = rate
        # File order is kept: with no variant asked for, the first variant listed is the default.
        self.rates: tuple[Rate, ...] = tuple(by_key.values())
        self.fixed: tuple[FixedCharge, ...] = tuple({line.key: line for line in fixed}.values())
        """Monthly fixed charges, shipped and from user files."""
        self._origins = dict(origins or {})
        self._labels = {rate.label: rate for rate in self.rates}
        # Prices change by the day: providers look one up per call, so answers are kept per day.
        self._found: dict[tuple[str, str, str | None, date], Rate | str] = {}

    def origin(self, line: Rate | FixedCharge) -> str | None:
        """Which file the line came from (a shipped card or a user file), when known."""
        return self._origins.get(line.key)

    def by_label(self, label: str) -> Rate | None:
        """The price line a record's `rate_card` names, or `None` when the book has no such line."""
        return self._labels.get(label)

    def fixed_in_force(self, provider: str, at: datetime) -> list[FixedCharge]:
        """``provider``'s fixed charges in force at ``at``.

        Of lines with the same name and plan, the newest: a user's later line supersedes a
        shipped one.
        """
        newest: dict[tuple[str, str | None], FixedCharge] = {}
        for line in self.fixed:
            if line.provider == provider and line.applies_at(at):
                held = newest.get((line.name, line.variant))
                if held is None or line.effective_from > held.effective_from:
                    newest[(line.name, line.variant)] = line
        return list(newest.values())

    def in_force(self, at: datetime, provider: str | None = None) -> list[Rate]:
        """Every price line in force at ``at``, optionally for one provider, in book order."""
        return [
            r
            for r in self.rates
            if r.applies_at(at) and (provider is None or r.provider == provider)
        ]

    def __iter__(self) -> Any:
        return iter(self.rates)

    def __len__(self) -> int:
        return len(self.rates)

    def providers(self) -> list[str]:
        """Providers that have at least one card."""
        return sorted({rate.provider for rate in self.rates})

    def find(
        self, provider: str, at: datetime, *, item: str = "call", variant: str | None = None
    ) -> Rate:
        """The price for ``provider``'s ``item`` in force at ``at``.

        With no ``variant``, the line without a variant is used, else the first variant listed.

        Raises:
            RateCardError: when no card covers that date; the message says which cards exist.
        """
        key = (provider, item, variant, at.astimezone(UTC).date())
        found = self._found.get(key)
        if found is None:
            found = self._found[key] = self._lookup(*key)
        if isinstance(found, str):
            raise RateCardError(found)
        return found

    def _lookup(self, provider: str, item: str, variant: str | None, day: date) -> Rate | str:
        """The price line for one day, or why there is none."""
        candidates = [r for r in self.rates if r.provider == provider and r.item == item]
        if variant is not None:
            candidates = [r for r in candidates if r.variant == variant]
        in_force = [r for r in candidates if r.applies_on(day)]
        if not in_force:
            known = ", ".join(r.label for r in candidates) or "none"
            wanted = f"{provider}/{item}" + (f"[{variant}]" if variant else "")
            return f"no rate card for {wanted} in force on {day.isoformat()} (cards: {known})"
        # The line without a variant, else the first variant listed; then the newest price of
        # it, so a user card with a later effective date supersedes a shipped one.
        chosen = min(in_force, key=lambda r: r.variant is not None).variant
        return max((r for r in in_force if r.variant == chosen), key=lambda r: r.effective_from)


def _parse_lines(data: Mapping[str, Any], origin: str) -> list[Rate | FixedCharge]:
    """The `[[rate]]` and `[[fixed]]` lines of one file, each checked, and none overlapping."""
    tables: dict[str, type[Rate] | type[FixedCharge]] = {"rate": Rate, "fixed": FixedCharge}
    unknown = sorted(set(data) - set(tables))
    if unknown:
        raise RateCardError(
            f"{origin}: unknown table(s) {', '.join(unknown)}; a card file has [[rate]] and [[fixed]]"
        )
    if not any(isinstance(data.get(name), list) and data[name] for name in tables):
        raise RateCardError(f"{origin}: expected one or more [[rate]] or [[fixed]] tables")
    parsed: list[Rate | FixedCharge] = []
    for table, model in tables.items():
        entries = data.get(table, [])
        if not isinstance(entries, list):
            raise RateCardError(f"{origin}: {table} must be an array of tables: [[{table}]]")
        for index, entry in enumerate(entries):
            try:
                parsed.append(model.model_validate(entry))
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                field = f"field {where!r}: " if where else ""
                raise RateCardError(
                    f"{origin}: card {_card_name(table, index, entry)}: {field}"
                    f"{first['msg'].removeprefix('Value error, ')}"
                ) from None
    _check_no_overlap(parsed, origin)
    return parsed


MAX_RATE_CARD_BYTES = 1024 * 1024
"""Bytes a rate-card file may hold (1 MiB): the shipped cards are a few kB each."""


def _card_name(table: str, index: int, entry: Any) -> str:
    """How an error names a line that did not validate: its label as far as it can be read."""
    where = f"[[{table}]] #{index + 1}"
    if not isinstance(entry, Mapping):
        return where
    what = entry.get("item", "call") if table == "rate" else entry.get("name", "?")
    variant = f"[{entry['variant']}]" if entry.get("variant") else ""
    since = entry.get("effective_from", "?")
    return f"{entry.get('provider', '?')}/{what}{variant}@{since} ({where})"


def _check_no_overlap(lines: Sequence[Rate | FixedCharge], origin: str) -> None:
    """Within one file, two prices for the same thing may not be in force on the same day."""
    seen: dict[tuple[object, ...], list[Rate | FixedCharge]] = {}
    for line in lines:
        same = seen.setdefault(line.key[:-1], [])
        for other in same:
            if line._overlaps(other):
                raise RateCardError(
                    f"{origin}: card {line.label}: overlaps {other.label} (both in force on "
                    f"{max(line.effective_from, other.effective_from).isoformat()}); "
                    "end the older one with effective_until"
                )
        same.append(line)


def read_rate_file(path: Path) -> list[Rate | FixedCharge]:
    """Read one rate-card TOML file."""
    limit = MAX_RATE_CARD_BYTES
    try:
        with path.open("rb") as handle:
            content = handle.read(limit + 1)  # never more: `/dev/zero` or a huge file is refused
    except OSError as exc:
        raise RateCardError(f"cannot read rate-card file {path}: {exc.strerror}") from None
    if len(content) > limit:
        raise RateCardError(
            f"rate-card file {path} is over {limit // 1024} KiB, the most a rate-card file may hold"
        )
    try:
        data = tomllib.loads(content.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise RateCardError(
            f"rate-card file {path} is not UTF-8 text (byte {exc.start + 1})"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise RateCardError(f"rate-card file {path} is not valid TOML: {exc}") from None
    return _parse_lines(data, str(path))


def _shipped_rates() -> list[tuple[Rate | FixedCharge, str]]:
    rates: list[tuple[Rate | FixedCharge, str]] = []
    folder = resources.files("voice_usage") / "ratecards"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            data = tomllib.loads(entry.read_text(encoding="utf-8"))
            origin = f"{SHIPPED_ORIGIN}{entry.name}"
            rates.extend((rate, origin) for rate in _parse_lines(data, origin))
    return rates


def load_rate_book(overrides: Sequence[Path | str] = (), *, use_env: bool = True) -> RateBook:
    """The shipped rate cards, overridden by ``overrides`` and by the file in `VOICE_USAGE_RATECARDS`."""
    rates = _shipped_rates()
    paths = [Path(p) for p in overrides]
    if use_env and (env_path := os.environ.get(RATECARDS_ENV)):
        paths.insert(0, Path(env_path))
    for path in paths:
        rates.extend((rate, str(path)) for rate in read_rate_file(path))
    origins = {line.key: origin for line, origin in rates}
    return RateBook(
        (line for line, _ in rates if isinstance(line, Rate)),
        fixed=(line for line, _ in rates if isinstance(line, FixedCharge)),
        origins=origins,
    )


def default_rate_book() -> RateBook:
    """The shipped cards plus `VOICE_USAGE_RATECARDS`, read once and cached.

    What a `Connection` prices with when it is given no `rate_book`; pass a book explicitly
    (`load_rate_book([path])`) to price with negotiated cards.
    """
    return _cached_rate_book()


@functools.cache
def _cached_rate_book() -> RateBook:
    return load_rate_book()


def price_record(
    record: UsageRecord, rate: Rate, *, vendor_rated: bool | None = None
) -> UsageRecord:
    """Price ``record`` under ``rate``; a pure function returning a new record.

    - A record with `billed_minutes` rated by the same vendor (``vendor_rated``, by default when
      the rate belongs to the record's provider) is priced on those minutes: exact.
    - Otherwise an `event` with a duration is rounded up to the card's increment and priced per
      call, with the card's minimum charge: exact.
    - A `window` with only a measured duration cannot be rounded per call: priced on the plain
      minutes (with the minimum charge per call when calls are known) and labelled approximate.
    - Anything else gets `cost=None` with the reason.
    """
    if vendor_rated is None:
        vendor_rated = rate.provider == record.provider
    note = f"rate card {rate.label}: {rate.currency} {rate.price_per_minute}/min"
    billed: Decimal | None
    if vendor_rated and record.billed_minutes is not None:
        # The vendor already rounded: price its minutes, with the minimum for a single call.
        cost = rate.charge_minutes(record.billed_minutes)
        if record.grain is Grain.EVENT and record.billed_minutes > 0:
            cost = max(cost, rate.minimum_charge)
        return priced_by(record, cost, rate, note=note, billed_minutes=record.billed_minutes)
    if record.grain is Grain.EVENT and record.duration_seconds is not None:
        billed = rate.billed_minutes(record.duration_seconds)
        cost = rate.charge_call(record.duration_seconds)
        return priced_by(record, cost, rate, note=note, billed_minutes=billed)
    if record.duration_seconds is not None:
        minutes = (record.duration_seconds / 60).quantize(MINUTES_QUANTUM, ROUND_HALF_UP)
        cost = record.duration_seconds * rate.price_per_minute / 60
        if record.calls:
            cost = max(cost, rate.minimum_charge * record.calls)
        cost = cost.quantize(COST_QUANTUM, ROUND_HALF_UP)
        note += "; approximate: no per-call durations, so per-call rounding is not applied"
        return priced_by(record, cost, rate, note=note, billed_minutes=minutes, cost_estimate=True)
    return unpriced(
        record, f"cannot price under {rate.label}: the record has no duration or billed minutes"
    )


def priced_by(
    record: UsageRecord,
    cost: Decimal,
    rate: Rate,
    *,
    note: str | None = None,
    billed_minutes: Decimal | None = None,
    cost_estimate: bool = False,
) -> UsageRecord:
    """``record`` with ``cost`` computed from ``rate``: the one way a rate-card cost is set.

    The record names the card (`rate_card`), its one line item (`cost_components`, named as the
    card names it), what the price covers (`cost_covers`) and whether it is an estimate; the
    note is prose for people. ``billed_minutes`` replaces the record's when given.
    """
    # model_validate, not model_copy: the priced record is validated like any other.
    data = record.model_dump()
    data.update(
        cost=cost,
        currency=rate.currency,
        cost_source=CostSource.RATE_CARD,
        cost_note=note or f"rate card {rate.label}: {rate.currency} {rate.price_per_minute}/min",
        rate_card=rate.label,
        cost_components={rate.line_item: cost},
        cost_covers=rate.covers,
        cost_estimate=cost_estimate,
    )
    if billed_minutes is not None:
        data["billed_minutes"] = billed_minutes
    return UsageRecord.model_validate(data)


def unpriced(record: UsageRecord, reason: str) -> UsageRecord:
    """``record`` with its cost unknown, for ``reason`` (prose for people)."""
    return record.model_copy(
        update={
            "cost": None,
            "currency": None,
            "cost_source": None,
            "cost_note": reason,
            "rate_card": None,
            "cost_components": None,
            "cost_covers": None,
            "cost_estimate": False,
        }
    )


def describe_fixed(line: FixedCharge) -> dict[str, Any]:
    """A fixed-charge line as JSON-ready data, for `voice-usage ratecards`."""
    return {
        "provider": line.provider,
        "name": line.name,
        "variant": line.variant,
        "price_per_month": str(line.price_per_month),
        "currency": line.currency,
        "per": line.per,
        "count": line.count,
        "effective_from": line.effective_from.isoformat(),
        "effective_until": line.effective_until.isoformat() if line.effective_until else None,
        "source": line.source,
        "checked": line.checked.isoformat(),
        "note": line.note,
        "inferred": list(line.inferred),
        "label": line.label,
    }


def describe_rate(rate: Rate) -> dict[str, Any]:
    """A rate line as JSON-ready data, for `voice-usage ratecards`."""
    return {
        "provider": rate.provider,
        "item": rate.item,
        "variant": rate.variant,
        "price_per_minute": str(rate.price_per_minute),
        "currency": rate.currency,
        "increment_seconds": rate.increment_seconds,
        "increment": rate.increment,
        "minimum_charge": str(rate.minimum_charge),
        "component": rate.line_item,
        "covers": [part.value for part in rate.covers],
        "leaves_out": {part.value: rate.leaves_out.get(part) for part in rate.left_out},
        "inferred": list(rate.inferred),
        "effective_from": rate.effective_from.isoformat(),
        "effective_until": rate.effective_until.isoformat() if rate.effective_until else None,
        "source": rate.source,
        "checked": rate.checked.isoformat(),
        "note": rate.note,
        "label": rate.label,
    }
