"""Bad input at the edges: one line on stderr naming what is wrong, exit 2, no request made.

Dates, ranges (until before since), unknown providers, unknown granularities, malformed --fx,
malformed rate-card files (by --ratecards or VOICE_USAGE_RATECARDS), malformed --option and
input files, for every command that takes them; and the same mistakes through the library,
which raises `ConfigurationError` or a `ValueError` before any request.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

import voice_usage
from voice_usage import (
    ConfigurationError,
    InsecureBaseURLError,
    ProviderNotFoundError,
    RateCardError,
    RetryPolicy,
    UsageQuery,
    load_registry,
)
from voice_usage._engine._fetch import Connection
from voice_usage.cli import Settings, cli

KEY = "vu-test-key-5f0c2d9e8a7b4c3d"
PROVIDERS = load_registry().names()
P = PROVIDERS[0]
WINDOW = ["--since", "2026-10-01", "--until", "2026-10-02"]
NOWHERE = "http://127.0.0.1:9"
"""Every base URL points at a closed loopback port: a request would fail with exit 1, not 2."""


def at_once() -> Settings:
    """Should a request slip out, it fails at once (exit 1) instead of waiting out retries."""
    return Settings(connect=functools.partial(Connection, retry=RetryPolicy(max_attempts=1)))


@pytest.fixture
def env() -> dict[str, str]:
    values = {"VOICE_USAGE_RATECARDS": ""}
    registry = load_registry()
    for name in PROVIDERS:
        values[f"{name.upper()}_API_KEY"] = KEY
        values[f"{name.upper()}_BASE_URL"] = NOWHERE
        for credential in registry.get(name).credentials:  # the vendor's own variables too
            values[credential.env] = KEY if credential.secret else "AC0123456789"
    return values


def assert_one_line_exit_2(args: list[str], env: dict[str, str], *phrases: str) -> str:
    result = CliRunner().invoke(cli, args, env=env, catch_exceptions=False, obj=at_once())
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("voice-usage: error: ")
    for phrase in phrases:
        assert phrase in line, line
    assert "Traceback" not in result.stderr and KEY not in result.stderr
    return line


# -- dates and ranges -----------------------------------------------------------------------------

BAD_DATES = ["last week", "2026-02-30", "2026-13-01", "01/10/2026", "2026-10-01T25:00", ""]
DATED_COMMANDS = [
    ["fetch", P],
    ["compare", P],
    ["reprice", P, "--to", P],
    ["export", P, "--output", "out.csv"],
]


@pytest.mark.parametrize("value", BAD_DATES)
@pytest.mark.parametrize("command", DATED_COMMANDS, ids=lambda c: c[0])
def test_a_bad_since_date(command, value, env):
    assert_one_line_exit_2(
        [*command, "--since", value, "--until", "2026-10-02"], env, "--since", repr(value)
    )


@pytest.mark.parametrize("command", DATED_COMMANDS, ids=lambda c: c[0])
def test_a_bad_until_date(command, env):
    assert_one_line_exit_2(
        [*command, "--since", "2026-10-01", "--until", "tomorrow"], env, "--until", "'tomorrow'"
    )


@pytest.mark.parametrize(
    ("since", "until"),
    [
        ("2026-10-02", "2026-10-01"),
        ("2026-10-01", "2026-10-01"),
        ("2026-10-01T12:00:00+02:00", "2026-10-01T10:00:00Z"),  # the same instant
    ],
    ids=["before", "equal", "same-instant"],
)
@pytest.mark.parametrize("command", DATED_COMMANDS, ids=lambda c: c[0])
def test_until_not_after_since(command, since, until, env):
    line = assert_one_line_exit_2([*command, "--since", since, "--until", until], env)
    assert "must be after" in line and "since" in line


@pytest.mark.parametrize("command", ["fetch", "export"])
def test_a_missing_date_option(command, env):
    args = [command, P, "--until", "2026-10-02"]
    if command == "export":
        args += ["--output", "out.csv"]
    assert_one_line_exit_2(args, env, "Missing option '--since'")


def test_ratecards_at_a_bad_date(env):
    assert_one_line_exit_2(["ratecards", "--at", "someday"], env, "--at", "'someday'")


# -- providers, granularities, options ----------------------------------------------------------

UNKNOWN_PROVIDER = [
    ["fetch", "nope", *WINDOW],
    ["balance", "nope"],
    ["compare", "nope", *WINDOW],
    ["compare", P, "nope", *WINDOW],
    ["reprice", "nope", "--to", P, *WINDOW],
    ["export", "nope", *WINDOW, "--output", "out.csv"],
]


@pytest.mark.parametrize("args", UNKNOWN_PROVIDER, ids=lambda a: " ".join(a[:3]))
def test_an_unknown_provider_name(args, env):
    assert_one_line_exit_2(args, env, "unknown provider 'nope'", "installed providers: ")


@pytest.mark.parametrize(
    "args",
    [
        ["reprice", P, "--to", "nope", *WINDOW],
        ["ratecards", "nope"],
    ],
    ids=["reprice --to", "ratecards"],
)
def test_an_unknown_rate_card_name(args, env):
    assert_one_line_exit_2(args, env, "no rate card for", "nope")


@pytest.mark.parametrize(
    "args",
    [
        ["fetch", P, *WINDOW, "--granularity", "week"],
        ["export", P, *WINDOW, "--output", "out.csv", "--granularity", "week"],
        ["fetch", P, *WINDOW, "--granularity", ""],
        ["fetch", P, *WINDOW, "--granularity", "DAY"],
    ],
    ids=["fetch week", "export week", "empty", "upper case"],
)
def test_an_unknown_granularity(args, env):
    assert_one_line_exit_2(args, env, "--granularity", "is not one of 'call', 'hour', 'day'")


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        (["fetch", P, *WINDOW, "--group-by", "week"], "--group-by"),
        (["compare", P, *WINDOW, "--group-by", "week"], "--group-by"),
        (["fetch", P, *WINDOW, "--format", "xml"], "--format"),
        (["compare", P, *WINDOW, "--format", "jsonl"], "--format"),
        (["fetch", P, *WINDOW, "--option", "novalue"], "expected KEY=VALUE"),
        (["compare", P, *WINDOW, "--option", "novalue"], "expected PROVIDER:KEY=VALUE"),
        (["export", P, *WINDOW, "--output", "usage.xlsx"], "must end in .csv, .json"),
        (["export", P, *WINDOW, "--output", "usage.jsonl", "--focus"], "--focus writes"),
        (["demo", "--days", "0"], "--days"),
        (["fetch", P, *WINDOW, "--no-such-flag"], "No such option"),
        (["nosuchcommand"], "No such command"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else None,
)
def test_other_bad_arguments(args, phrase, env):
    line = assert_one_line_exit_2(args, env, phrase)
    assert line.endswith("--help')")  # and where to read more


@pytest.mark.parametrize(
    ("name", "option", "phrase"),
    [
        ("ultravox", "source=nope", "option source='nope'"),
        ("agentphone", "view=bogus", "option view must be one of"),
        ("agentphone", "mode=free", "must be webhook or hosted"),
    ],
)
def test_a_provider_option_with_a_bad_value(name, option, phrase, env):
    if name not in PROVIDERS:
        pytest.skip(f"{name} is not installed")
    assert_one_line_exit_2(["fetch", name, *WINDOW, "--option", option], env, name, phrase)


@pytest.mark.parametrize("name", PROVIDERS)
def test_an_option_the_provider_does_not_declare_exits_2_for_every_provider(name, env):
    line = assert_one_line_exit_2(
        ["fetch", name, *WINDOW, "--option", "colour=blue"], env, f"{name}: unknown option 'colour'"
    )
    declared = load_registry().get(name).capabilities.filters - {"agent", "number"}
    assert ("takes no options" in line) is (not declared), line


@pytest.mark.parametrize("name", PROVIDERS)
@pytest.mark.parametrize(("flag", "filter_name"), [("--agent", "agent"), ("--number", "number")])
def test_a_filter_the_provider_does_not_declare_exits_2(name, flag, filter_name, env):
    provider = load_registry().get(name)
    if filter_name in provider.capabilities.filters:
        pytest.skip(f"{name} filters by {filter_name}")
    assert_one_line_exit_2(["fetch", name, *WINDOW, flag, "x1"], env, f"{name}: the API has no")


# -- --currency and --fx ------------------------------------------------------------------------

BAD_FX = [
    (["--currency", "EURO"], "--currency: the currency must be an ISO 4217 code"),
    (["--currency", "USD", "--fx", "EUR-USD=1.1"], "--fx: an exchange rate is FROM:TO=RATE"),
    (["--currency", "USD", "--fx", "EUR:USD"], "--fx: an exchange rate is FROM:TO=RATE"),
    (["--currency", "USD", "--fx", "EUR:USD=abc"], "the rate 'abc' is not a number"),
    (["--currency", "USD", "--fx", "EUR:USD=-1"], "the rate must be a positive number"),
    (["--currency", "USD", "--fx", "EUR:USD=0"], "the rate must be a positive number"),
    (["--currency", "USD", "--fx", "EUR:USD=NaN"], "--fx"),
    (["--currency", "USD", "--fx", "EUR:USD=inf"], "--fx"),
    (["--currency", "USD", "--fx", "EUR:EUR=1"], "both currencies are EUR"),
    (["--currency", "USD", "--fx", "eu:USD=1"], "--fx"),
    (["--fx", "EUR:USD=1.1"], "give --currency too"),
]


def _fx_cases() -> list[Any]:
    cases = []
    for command in ("compare", "reprice"):
        for args, phrase in BAD_FX:
            cases.append(pytest.param(command, args, phrase, id=f"{command} {' '.join(args)}"))
    return cases


@pytest.mark.parametrize(("command", "args", "phrase"), _fx_cases())
def test_a_malformed_currency_or_fx(command, args, phrase, env):
    head = ["compare", P] if command == "compare" else ["reprice", P, "--to", P]
    assert_one_line_exit_2([*head, *WINDOW, *args], env, phrase)


def test_a_conversion_without_its_rate(env):
    currencies = {
        rate.currency for rate in voice_usage.default_rate_book().rates if rate.provider == P
    }
    other = "JPY" if "JPY" not in currencies else "CHF"
    assert_one_line_exit_2(
        ["compare", P, *WINDOW, "--currency", other], env, "--fx: no exchange rate for"
    )


# -- rate-card files ------------------------------------------------------------------------------

GOOD_RATE = {
    "provider": "flireo",
    "item": "call",
    "price_per_minute": '"0.05"',
    "currency": '"EUR"',
    "increment_seconds": "60",
    "covers": '["platform"]',
    "effective_from": "2026-01-01",
    "source": '"https://example.com/pricing"',
    "checked": "2026-01-02",
}


def rate_file(path: Path, **changes: str | None) -> Path:
    fields = {**GOOD_RATE, **changes}
    lines = ["[[rate]]"]
    for key, value in fields.items():
        if value is None:
            continue
        lines.append(f'{key} = "{value}"' if key in ("provider", "item") else f"{key} = {value}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


BAD_CARDS: list[tuple[str, Any, str]] = [
    ("missing file", None, "cannot read rate-card file"),
    ("not TOML", "[[rate]\nprovider =", "is not valid TOML"),
    ("no rate table", "", "expected one or more [[rate]] or [[fixed]] tables"),
    ("unknown table", 'title = "prices"\n', "unknown table(s) title"),
    ("no covers", {"covers": None}, "card flireo/call@2026-01-01 ([[rate]] #1): field 'covers'"),
    ("unknown part", {"covers": '["platform", "video"]'}, "unknown part(s) 'video'"),
    (
        "covered and left out",
        {"leaves_out": '{ platform = "no" }'},
        "card flireo/call@2026-01-01 ([[rate]] #1): platform both covered and left out",
    ),
    ("inferred unknown", {"inferred": '["rounding"]'}, "inferred names field(s)"),
    (
        "overlapping prices",
        {
            "effective_until": "2026-06-01\n[[rate]]\n"
            + 'provider = "flireo"\n'
            + 'price_per_minute = "0.06"\ncurrency = "EUR"\ncovers = []\n'
            + 'effective_from = 2026-05-01\nsource = "https://x.invalid"\nchecked = 2026-05-01'
        },
        "card flireo/call@2026-05-01: overlaps flireo/call@2026-01-01 (both in force on 2026-05-01)",
    ),
    ("negative price", {"price_per_minute": '"-0.01"'}, "field 'price_per_minute'"),
    ("price not a number", {"price_per_minute": '"cheap"'}, "field 'price_per_minute'"),
    ("infinite price", {"price_per_minute": '"inf"'}, "field 'price_per_minute'"),
    ("no currency", {"currency": None}, "field 'currency'"),
    ("bad currency", {"currency": '"euro"'}, "field 'currency'"),
    ("zero increment", {"increment_seconds": "0"}, "field 'increment_seconds'"),
    ("bad date", {"effective_from": '"soon"'}, "field 'effective_from'"),
    ("ends before it starts", {"effective_until": "2025-01-01"}, "effective_until must be after"),
    ("no source", {"source": None}, "field 'source'"),
    ("unknown field", {"discount": '"10%"'}, "discount"),
]


def _write_card(tmp_path: Path, spec: Any) -> Path:
    path = tmp_path / "prices.toml"
    if spec is None:
        return tmp_path / "missing.toml"
    if isinstance(spec, str):
        path.write_text(spec, encoding="utf-8")
        return path
    return rate_file(path, **spec)


def test_the_good_rate_card_file_is_accepted(env, tmp_path):
    path = rate_file(tmp_path / "prices.toml")
    result = CliRunner().invoke(
        cli, ["ratecards", "--all", "--ratecards", str(path)], env=env, obj=at_once()
    )
    assert result.exit_code == 0, result.output
    assert "example.com/pricing" in result.stdout


@pytest.mark.parametrize(("label", "spec", "phrase"), BAD_CARDS, ids=[c[0] for c in BAD_CARDS])
def test_a_malformed_rate_card_file(label, spec, phrase, env, tmp_path):
    path = _write_card(tmp_path, spec)
    line = assert_one_line_exit_2(["ratecards", "--ratecards", str(path)], env, phrase)
    assert str(path) in line  # which file


@pytest.mark.parametrize(
    "command",
    [
        ["fetch", P, *WINDOW],
        ["compare", P, *WINDOW],
        ["reprice", P, "--to", P, *WINDOW],
        ["ratecards"],
    ],
    ids=lambda c: c[0],
)
def test_a_malformed_rate_card_file_in_the_environment(command, env, tmp_path):
    path = _write_card(tmp_path, "[[rate]\nprovider =")
    assert_one_line_exit_2(command, {**env, "VOICE_USAGE_RATECARDS": str(path)}, str(path))


@pytest.mark.parametrize("command", ["compare", "reprice"])
def test_a_malformed_rate_card_file_by_option(command, env, tmp_path):
    path = _write_card(tmp_path, {"currency": '"euro"'})
    head = ["compare", P] if command == "compare" else ["reprice", P, "--to", P]
    assert_one_line_exit_2([*head, *WINDOW, "--ratecards", str(path)], env, "field 'currency'")


# -- input files ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "phrase"),
    [
        ("not json\n", "line 1"),
        ('{"provider": "x"}\n', "line 1: field 'grain'"),
        ("[]\n", "line 1"),
    ],
    ids=["not json", "missing field", "not an object"],
)
def test_a_malformed_records_file(content, phrase, env, tmp_path):
    path = tmp_path / "usage.jsonl"
    path.write_text(content, encoding="utf-8")
    assert_one_line_exit_2(["reprice", "--to", P, "--input", str(path)], env, str(path), phrase)


def test_a_missing_records_file(env, tmp_path):
    path = tmp_path / "nowhere.jsonl"
    assert_one_line_exit_2(["reprice", "--to", P, "--input", str(path)], env, "cannot read")


def test_a_record_with_a_cost_and_no_currency_is_refused(env, tmp_path):
    record = {
        "provider": P,
        "grain": "event",
        "period_start": "2026-10-01T10:00:00Z",
        "period_end": "2026-10-01T10:01:00Z",
        "cost": "0.07",
    }
    path = tmp_path / "usage.jsonl"
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    assert_one_line_exit_2(["reprice", "--to", P, "--input", str(path)], env, "currency")


def test_an_absurd_figure_in_a_records_file(env, tmp_path):
    record = {
        "provider": P,
        "grain": "event",
        "period_start": "2026-10-01T10:00:00Z",
        "period_end": "2026-10-01T10:01:00Z",
        "calls": 1,
        "duration_seconds": "60",
        "billed_minutes": "1" + "0" * 30,
    }
    path = tmp_path / "usage.jsonl"
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    # Refused as the record is read, naming the file, the line and the field.
    assert_one_line_exit_2(
        ["reprice", "--to", P, "--input", str(path)],
        env,
        f"{path}, line 1: field 'billed_minutes': Input should be less than 1000000000000000",
    )


# -- the base URL and the key --------------------------------------------------------------------


@pytest.mark.parametrize("url", ["http://usage.example.com", "ftp://example.com", "example.com"])
def test_a_base_url_that_would_expose_the_key(url, env):
    assert_one_line_exit_2(["fetch", P, *WINDOW], {**env, f"{P.upper()}_BASE_URL": url}, P)


# -- the library edges ----------------------------------------------------------------------------


def test_library_unknown_provider():
    with pytest.raises(ProviderNotFoundError, match="unknown provider 'nope'"):
        voice_usage.fetch("nope", "2026-10-01", "2026-10-02", api_key=KEY)
    with pytest.raises(ConfigurationError):
        voice_usage.compare(["nope"], "2026-10-01", "2026-10-02")


@pytest.mark.parametrize(
    ("since", "until", "phrase"),
    [
        ("2026-10-02", "2026-10-01", "must be after since"),
        ("2026-10-01", "2026-10-01", "must be after since"),
        ("last week", "2026-10-01", "since must be a date"),
        ("2026-10-01", "2026-02-30", "until must be a date"),
    ],
)
def test_library_bad_dates_and_ranges(since, until, phrase):
    with pytest.raises(ValidationError, match=phrase):
        UsageQuery(since=since, until=until)
    with (
        voice_usage.connect(P, api_key=KEY, base_url=NOWHERE) as connection,
        pytest.raises(ConfigurationError, match=phrase),  # not pydantic's error: the project's
    ):
        connection.fetch(since, until)


def test_library_unknown_granularity():
    with pytest.raises(ValidationError, match="granularity"):
        UsageQuery(since="2026-10-01", until="2026-10-02", granularity="week")


def test_library_bad_connection_settings():
    with pytest.raises(voice_usage.ConfigurationError, match="concurrency must be at least 1"):
        voice_usage.connect(P, api_key=KEY, base_url=NOWHERE, concurrency=0)
    with pytest.raises(InsecureBaseURLError):
        voice_usage.connect(P, api_key=KEY, base_url="http://usage.example.com")


@pytest.mark.parametrize(
    ("options", "phrase"),
    [
        ({"currency": "EURO"}, "ISO 4217"),
        ({"currency": "USD", "fx": ["EUR-USD=1"]}, "exchange rate is FROM:TO=RATE"),
        ({"currency": "USD", "fx": {"EUR:USD": "-1"}}, "positive"),
        ({"group_by": "week"}, "group_by must be one of provider, day, month, agent, number"),
        ({"since": "last week"}, "since must be a date"),
        ({"until": "2026-02-30"}, "until must be a date"),
    ],
)
def test_library_compare_bad_arguments(options, phrase):
    period = {"since": "2026-10-01", "until": "2026-10-02"}
    period.update((k, options.pop(k)) for k in list(options) if k in period)
    with pytest.raises(ConfigurationError, match=phrase) as caught:
        voice_usage.compare([P], period["since"], period["until"], **options)
    assert "--" not in str(caught.value)  # the library names its arguments, not CLI flags


def test_a_programming_error_is_not_reported_as_bad_arguments(env):
    """A bare `ValueError` from inside is a bug: it is not dressed up as the user's mistake."""

    def broken(*args: object, **kwargs: object) -> Connection:
        raise ValueError("an internal inconsistency")

    result = CliRunner().invoke(cli, ["fetch", P, *WINDOW], env=env, obj=Settings(connect=broken))
    assert isinstance(result.exception, ValueError)
    assert result.exit_code != 2
    assert "voice-usage: error:" not in result.stderr


def test_library_bad_rate_card_file(tmp_path):
    path = rate_file(tmp_path / "prices.toml", price_per_minute='"-1"')
    with pytest.raises(RateCardError, match="price_per_minute"):
        voice_usage.load_rate_book([path])
    with pytest.raises(RateCardError, match="cannot read"):
        voice_usage.load_rate_book([tmp_path / "missing.toml"])
