"""Explicit exchange rates: money in two currencies is only summed through a rate the user gave.

`FxRates` holds rates written `FROM:TO=RATE` (`USD:EUR=0.9` means 1 USD = 0.9 EUR). A conversion
that needs a rate nobody gave raises `ConfigurationError` naming it; rates are never guessed,
fetched, chained or inverted. Every rate used is remembered, so outputs can name them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from voice_usage._exceptions import ConfigurationError
from voice_usage._pricing._ratecard import COST_QUANTUM

__all__ = ["FxRate", "FxRates", "MissingRateError", "target_currency"]

_SPEC = re.compile(r"^\s*([A-Za-z]{3})\s*:\s*([A-Za-z]{3})\s*=\s*(\S+)\s*$")
_PLAIN_NUMBER = re.compile(r"^(\d+(\.\d*)?|\.\d+)$")


def target_currency(code: str | None) -> str | None:
    """The currency to convert costs to, upper-cased; `None` for no conversion.

    Raises:
        ConfigurationError: when ``code`` is not a three-letter ISO 4217 code.
    """
    if code is None:
        return None
    if not re.fullmatch(r"[A-Za-z]{3}", code):
        raise ConfigurationError(
            f"the currency must be an ISO 4217 code such as EUR, got {code!r}", argument="currency"
        )
    return code.upper()


class MissingRateError(ConfigurationError):
    """Raised when a conversion needs an exchange rate that was not given."""

    def __init__(self, pairs: Iterable[tuple[str, str]], *, needed_by: Iterable[str] = ()) -> None:
        self.pairs = sorted(set(pairs))
        self.needed_by = sorted(set(needed_by))
        names = ", ".join(f"{source}:{target}" for source, target in self.pairs)
        specs = " ".join(f"{source}:{target}=RATE" for source, target in self.pairs)
        who = f" (needed for {', '.join(self.needed_by)})" if self.needed_by else ""
        super().__init__(
            f"no exchange rate for {names}{who}; give it explicitly, e.g. {specs} "
            f"(1 {self.pairs[0][0]} = RATE {self.pairs[0][1]})",
            argument="fx",
        )


@dataclass(frozen=True)
class FxRate:
    """One exchange rate: 1 `source` = `rate` `target`."""

    source: str
    target: str
    rate: Decimal

    @property
    def label(self) -> str:
        """The rate as it is written on the command line: `USD:EUR=0.9`."""
        return f"{self.source}:{self.target}={self.rate}"

    def __str__(self) -> str:
        return f"1 {self.source} = {self.rate} {self.target}"


class FxRates:
    """The exchange rates a caller gave, and which of them were used.

    Example::

        fx = FxRates.parse(["USD:EUR=0.9"])
        fx.convert(Decimal("10"), "USD", "EUR")   # Decimal('9.000000')
        fx.used                                    # [FxRate('USD', 'EUR', Decimal('0.9'))]
    """

    def __init__(self, rates: Iterable[FxRate] = ()) -> None:
        self.rates: dict[tuple[str, str], FxRate] = {}
        for rate in rates:
            pair = (rate.source, rate.target)
            given = self.rates.get(pair)
            if given is not None and given.rate != rate.rate:
                # Which one the caller meant cannot be guessed; the last one winning hid it.
                raise ConfigurationError(
                    f"two exchange rates for {rate.source}:{rate.target} "
                    f"({given.rate} and {rate.rate}); give one",
                    argument="fx",
                )
            self.rates[pair] = rate
        self._used: dict[tuple[str, str], FxRate] = {}

    @classmethod
    def parse(cls, specs: Iterable[str]) -> FxRates:
        """Rates from `FROM:TO=RATE` strings.

        Raises:
            ConfigurationError: naming the first malformed spec.
        """
        return cls(parse_rate(spec) for spec in specs)

    @classmethod
    def coerce(cls, value: FxRates | Mapping[str, str | Decimal] | Iterable[str] | None) -> FxRates:
        """An `FxRates` from itself, a `{"USD:EUR": "0.9"}` mapping, `FROM:TO=RATE` strings, or None."""
        if value is None:
            return cls()
        if isinstance(value, FxRates):
            return value
        if isinstance(value, Mapping):
            return cls.parse(
                f"{pair}={rate if isinstance(rate, str) else format(rate, 'f')}"
                for pair, rate in value.items()
            )
        return cls.parse(value)

    def __len__(self) -> int:
        return len(self.rates)

    def __repr__(self) -> str:
        return f"FxRates({', '.join(r.label for r in self.rates.values())})"

    @property
    def used(self) -> list[FxRate]:
        """The rates conversions have used so far, in first-use order."""
        return list(self._used.values())

    def has(self, source: str, target: str) -> bool:
        """Whether converting ``source`` to ``target`` is possible (same currency, or a rate given)."""
        return source == target or (source, target) in self.rates

    def rate(self, source: str, target: str) -> FxRate:
        """The rate from ``source`` to ``target``, marked as used.

        Raises:
            MissingRateError: when no such rate was given.
        """
        found = self.rates.get((source, target))
        if found is None:
            raise MissingRateError([(source, target)])
        self._used.setdefault((source, target), found)
        return found

    def convert(self, amount: Decimal, source: str, target: str) -> Decimal:
        """``amount`` in ``source`` expressed in ``target``, to a millionth of a unit.

        Raises:
            MissingRateError: when the currencies differ and no rate was given.
        """
        if source == target:
            return amount
        converted = amount * self.rate(source, target).rate
        return converted.quantize(COST_QUANTUM, rounding=ROUND_HALF_UP)

    def convert_all(self, amounts: Mapping[str, Decimal], target: str) -> Decimal:
        """The sum of per-currency ``amounts``, each converted to ``target``."""
        return sum(
            (
                self.convert(amount, currency, target)
                for currency, amount in sorted(amounts.items())
            ),
            Decimal(0),
        )


def parse_rate(spec: str) -> FxRate:
    """One `FROM:TO=RATE` spec, e.g. `USD:EUR=0.9` (1 USD = 0.9 EUR).

    Raises:
        ConfigurationError: when the spec is malformed or the rate is not a positive number.
    """
    match = _SPEC.match(spec)
    if match is None:
        raise ConfigurationError(
            f"an exchange rate is FROM:TO=RATE with ISO 4217 codes, e.g. USD:EUR=0.9, got {spec!r}",
            argument="fx",
        )
    source, target, text = match.group(1).upper(), match.group(2).upper(), match.group(3)
    try:
        rate = Decimal(text)
    except InvalidOperation:
        raise ConfigurationError(
            f"exchange rate {spec!r}: the rate {text!r} is not a number", argument="fx"
        ) from None
    if not rate.is_finite() or rate <= 0:
        raise ConfigurationError(
            f"exchange rate {spec!r}: the rate must be a positive number", argument="fx"
        )
    if not _PLAIN_NUMBER.match(text):
        # Decimal() also reads `1_000` and `1e3`: a rate is written plainly, as it is echoed.
        raise ConfigurationError(
            f"exchange rate {spec!r}: the rate {text!r} must be a plain decimal number "
            "such as 0.92",
            argument="fx",
        )
    if source == target:
        raise ConfigurationError(
            f"exchange rate {spec!r}: both currencies are {source}", argument="fx"
        )
    return FxRate(source, target, rate)
