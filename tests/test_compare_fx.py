from decimal import Decimal

import pytest

from voice_usage import ConfigurationError, FxRate, FxRates, MissingRateError


def test_a_spec_means_one_from_is_rate_to():
    fx = FxRates.parse(["USD:EUR=0.9"])
    assert fx.convert(Decimal("10"), "USD", "EUR") == Decimal("9.000000")
    assert fx.used == [FxRate("USD", "EUR", Decimal("0.9"))]
    assert str(fx.used[0]) == "1 USD = 0.9 EUR"
    assert fx.used[0].label == "USD:EUR=0.9"


def test_lower_case_codes_and_spaces_are_accepted():
    fx = FxRates.parse([" usd : eur = 0.9 "])
    assert fx.has("USD", "EUR")


def test_same_currency_needs_no_rate_and_uses_none():
    fx = FxRates()
    assert fx.convert(Decimal("1.23"), "EUR", "EUR") == Decimal("1.23")
    assert fx.used == []


def test_a_missing_rate_names_the_pair_and_the_argument():
    fx = FxRates.parse(["GBP:EUR=1.17"])
    with pytest.raises(MissingRateError) as caught:
        fx.convert(Decimal(1), "USD", "EUR")
    message = str(caught.value)
    assert "no exchange rate for USD:EUR" in message
    assert "USD:EUR=RATE" in message and "--" not in message  # the CLI adds its flag
    assert isinstance(caught.value, ConfigurationError) and caught.value.argument == "fx"


def test_rates_are_never_inverted_or_chained():
    fx = FxRates.parse(["EUR:USD=1.1", "USD:GBP=0.8"])
    with pytest.raises(MissingRateError):
        fx.convert(Decimal(1), "USD", "EUR")  # only the inverse was given
    with pytest.raises(MissingRateError):
        fx.convert(Decimal(1), "EUR", "GBP")  # would need chaining through USD


def test_conversion_rounds_half_up_to_a_millionth():
    fx = FxRates.parse(["USD:EUR=0.9"])
    # 1.549167 * 0.9 = 1.3942503 -> 1.394250
    assert fx.convert(Decimal("1.549167"), "USD", "EUR") == Decimal("1.394250")
    # 0.0000005 * 1 rounds half-up
    fx2 = FxRates.parse(["USD:EUR=0.5"])
    assert fx2.convert(Decimal("0.000001"), "USD", "EUR") == Decimal("0.000001")


def test_convert_all_sums_each_currency_converted():
    fx = FxRates.parse(["USD:EUR=0.9", "GBP:EUR=1.2"])
    total = fx.convert_all({"USD": Decimal("10"), "GBP": Decimal("1"), "EUR": Decimal("2")}, "EUR")
    assert total == Decimal("9") + Decimal("1.2") + Decimal("2")
    assert {r.label for r in fx.used} == {"USD:EUR=0.9", "GBP:EUR=1.2"}


@pytest.mark.parametrize(
    "spec",
    [
        "USD-EUR=0.9",
        "USD:EUR",
        "USD:EUR=abc",
        "USD:EUR=0",
        "USD:EUR=-1",
        "US:EUR=1",
        "USD:USD=1",
        "USD:EUR=NaN",
        "USD:EUR=Infinity",
    ],
)
def test_malformed_specs_are_configuration_errors(spec):
    with pytest.raises(ConfigurationError, match="exchange rate") as caught:
        FxRates.parse([spec])
    assert caught.value.argument == "fx"


def test_coerce_accepts_a_mapping_strings_or_none():
    assert FxRates.coerce({"USD:EUR": "0.9"}).has("USD", "EUR")
    assert FxRates.coerce(["USD:EUR=0.9"]).has("USD", "EUR")
    assert len(FxRates.coerce(None)) == 0
    same = FxRates()
    assert FxRates.coerce(same) is same
