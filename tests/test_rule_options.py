"""Rule 7: every option works on every command where it makes sense, and says what it did.

- `export` takes fetch's query options (`--option`, `--agent`, `--number`), and without
  `--granularity` writes the finest records the provider has (AgentPhone has no calls).
- Two `--fx` rates for one pair are refused, not the last one silently used; a rate is written
  plainly (`1_000` and `1e3` are refused).
- A rate card named twice in `--to` is refused, as compare refuses a provider named twice.
- A user's card overriding a shipped one is named with its file in the footers, so the output
  shows that the negotiated price was used.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import voice_usage
from voice_usage import ConfigurationError, FxRates
from voice_usage.cli import cli
from voice_usage.emulator import EmulatorServer

KEY = "vu-test-key-5f0c2d9e8a7b4c3d"
TODAY = date(2026, 12, 15)

NEGOTIATED = """\
[[rate]]
provider = "flireo"
item = "call"
price_per_minute = "0.05"
currency = "EUR"
increment_seconds = 60
covers = ["platform"]
effective_from = 2025-12-01
source = "https://example.com/our-contract"
checked = 2026-11-01
note = "Negotiated price."
"""


@pytest.fixture
def servers() -> Iterator[dict[str, EmulatorServer]]:
    from voice_usage_agentphone import AgentPhoneEmulator
    from voice_usage_flireo import FlireoEmulator

    flireo = FlireoEmulator(api_key=KEY, rate_limit=None, logs_per_day=3, shape="d")
    with (
        EmulatorServer(flireo) as flireo_server,
        EmulatorServer(AgentPhoneEmulator(api_key=KEY, today=TODAY)) as agentphone_server,
    ):
        yield {"flireo": flireo_server, "agentphone": agentphone_server}


def _invoke(servers: dict[str, EmulatorServer], *args: str) -> Result:
    env = {}
    for name, server in servers.items():
        env[f"{name.upper()}_API_KEY"] = KEY
        env[f"{name.upper()}_BASE_URL"] = server.base_url
    return CliRunner().invoke(cli, list(args), env=env)


@pytest.fixture
def agentphone_today(monkeypatch: pytest.MonkeyPatch) -> None:
    """The installed AgentPhone provider dates its windows from TODAY, as its emulator does."""
    from voice_usage_agentphone import AgentPhoneProvider

    original = AgentPhoneProvider.__init__

    def on_today(self: AgentPhoneProvider, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("today", lambda: TODAY)
        original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(AgentPhoneProvider, "__init__", on_today)


def test_rule7_every_option_works_export_writes_a_providers_finest_records_by_default(
    servers, tmp_path: Path, agentphone_today
):
    target = tmp_path / "days.csv"
    window = ["--since", "2026-12-01", "--until", "2026-12-03"]
    result = _invoke(servers, "export", "agentphone", *window, "--output", str(target))
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert [(r["grain"], r["period_start"]) for r in rows] == [
        ("window", "2026-12-01T00:00:00Z"),
        ("window", "2026-12-02T00:00:00Z"),
    ]
    calls = tmp_path / "calls.jsonl"
    flireo = _invoke(servers, "export", "flireo", *window, "--output", str(calls))
    assert flireo.exit_code == 0, flireo.stderr
    assert calls.read_text(encoding="utf-8").count('"grain":"event"') == 6  # 3 calls a day


def test_rule7_every_option_works_export_takes_the_query_options(
    servers, tmp_path: Path, agentphone_today
):
    target = tmp_path / "agents.jsonl"
    window = ["--since", "2026-12-01", "--until", "2027-01-01"]
    args = [*window, "--option", "view=by-agent", "--output", str(target)]
    result = _invoke(servers, "export", "agentphone", *args)
    assert result.exit_code == 0, result.stderr
    lines = target.read_text(encoding="utf-8").splitlines()
    assert lines and all('"duration_seconds":"' in line for line in lines)
    (request,) = [r for r in servers["agentphone"].requests if "by-agent" in r.path]
    assert request.query["period"] == ["month"]
    wrong = _invoke(servers, "export", "flireo", *window, "--agent", "a1", "--output", str(target))
    assert wrong.exit_code == 2  # Flireo has no agent filter: refused, never unfiltered
    assert "agent" in wrong.stderr


def test_rule7_every_option_works_two_fx_rates_for_one_pair_are_refused():
    with pytest.raises(
        ConfigurationError, match=r"two exchange rates for USD:EUR \(0.92 and 0.93\)"
    ):
        FxRates.parse(["USD:EUR=0.92", "USD:EUR=0.93"])
    same = FxRates.parse(["USD:EUR=0.92", "usd:eur=0.92"])  # the same rate twice is one rate
    assert same.convert(Decimal(10), "USD", "EUR") == Decimal("9.200000")
    result = CliRunner().invoke(
        cli,
        [
            "reprice",
            "--to",
            "flireo",
            "--input",
            "-",
            "--fx",
            "USD:EUR=0.92",
            "--fx",
            "USD:EUR=0.93",
        ],
    )
    assert result.exit_code == 2
    assert "two exchange rates for USD:EUR (0.92 and 0.93); give one" in result.stderr


@pytest.mark.parametrize(
    ("rate", "phrase"),
    [
        ("1_000", r"must be a plain decimal number such as 0\.92"),
        ("1e3", r"must be a plain decimal number such as 0\.92"),
        ("1E+3", r"must be a plain decimal number such as 0\.92"),
        ("Infinity", "must be a positive number"),
        ("0x10", "is not a number"),
        ("1,5", "is not a number"),
    ],
)
def test_rule7_every_option_works_an_fx_rate_is_written_plainly(rate, phrase):
    with pytest.raises(ConfigurationError, match=phrase):
        FxRates.parse([f"USD:EUR={rate}"])
    assert FxRates.parse(["USD:EUR=1000", "GBP:EUR=.5", "CHF:EUR=1."]).rates


def test_rule7_every_option_works_a_rate_card_named_twice_in_to_is_refused():
    for targets in (["ultravox,ultravox"], ["agentphone:hosted", "agentphone:hosted"]):
        result = CliRunner().invoke(
            cli, ["reprice", *(a for t in targets for a in ("--to", t)), "--input", "-"], input=""
        )
        assert result.exit_code == 2
        assert "--to: a rate card is named twice" in result.stderr
    with pytest.raises(ConfigurationError, match="named twice"):
        voice_usage.reprice_comparison([], ["ultravox", "ultravox"])


def test_rule7_every_option_works_a_users_card_is_named_with_its_file(servers, tmp_path: Path):
    card = tmp_path / "negotiated.toml"
    card.write_text(NEGOTIATED, encoding="utf-8")
    window = ["--since", "2026-12-01", "--until", "2026-12-02"]
    result = _invoke(servers, "compare", "flireo", *window, "--ratecards", str(card))
    assert result.exit_code == 0, result.stderr
    assert f"rate cards: flireo/call@2025-12-01 (from {card})" in result.stdout
    shipped = _invoke(servers, "compare", "flireo", *window)
    assert "rate cards: flireo/call@2025-12-01\n" in shipped.stdout


def test_rule7_every_option_works_agentphone_a_cut_last_month_that_daily_usage_reaches_is_kept(
    servers,
):
    from voice_usage_agentphone import AgentPhoneProvider

    # Today 2026-12-15: daily usage reaches back to 2025-12-16. The start (2025-12-10) is out of
    # its reach, so the cut December 2025 is left out; the cut November 2026 (days 1 to 19) is
    # within it, and is summed from its days.
    with voice_usage.connect(
        AgentPhoneProvider(today=lambda: TODAY),
        api_key=KEY,
        base_url=servers["agentphone"].base_url,
    ) as connection:
        result = connection.fetch("2025-12-10", "2026-11-20", "month")
        records = result.to_list()
        whole = connection.fetch("2026-01-01", "2026-11-01", "month").to_list()
        days = connection.fetch("2026-11-01", "2026-11-20", "day").to_list()
    spans = [(r.period_start.date().isoformat(), r.period_end.date().isoformat()) for r in records]
    assert spans[0] == ("2026-01-01", "2026-02-01")
    assert spans[-1] == ("2026-11-01", "2026-11-20")  # kept, clipped to --until
    assert len(spans) == 11
    figures = [(r.period_start, r.calls, r.duration_seconds, r.cost) for r in records[:-1]]
    assert figures == [(r.period_start, r.calls, r.duration_seconds, r.cost) for r in whole]
    assert len(days) == 19 and records[-1].calls == sum(r.calls or 0 for r in days)
    (cut,) = [w for w in result.report.warnings if "cut the month" in w]
    assert "2025-12" in cut and "2026-11" not in cut


def test_rule7_every_option_works_export_defaults_to_the_finest_records_of_the_chosen_source(
    tmp_path: Path,
):
    # Ultravox lists calls, but its billed usage (source=billing) comes as UTC days only: the
    # default granularity follows the option, so neither needs --granularity.
    from voice_usage_ultravox.emulator import UltravoxEmulator

    window = ["--since", "2026-10-01", "--until", "2026-10-04"]
    with EmulatorServer(UltravoxEmulator(api_key=KEY, today=date(2026, 11, 1))) as server:
        servers = {"ultravox": server}
        billed = tmp_path / "billed.csv"
        args = [*window, "--option", "source=billing", "--output", str(billed)]
        result = _invoke(servers, "export", "ultravox", *args)
        assert result.exit_code == 0, result.stderr
        calls = tmp_path / "calls.csv"
        listed = _invoke(servers, "export", "ultravox", *window, "--output", str(calls))
        assert listed.exit_code == 0, listed.stderr
    rows = list(csv.DictReader(io.StringIO(billed.read_text(encoding="utf-8"))))
    assert {r["grain"] for r in rows} == {"window"}
    assert {r["period_start"] for r in rows} == {
        "2026-10-01T00:00:00Z",
        "2026-10-02T00:00:00Z",
        "2026-10-03T00:00:00Z",
    }
    call_rows = list(csv.DictReader(io.StringIO(calls.read_text(encoding="utf-8"))))
    assert call_rows and {r["grain"] for r in call_rows} == {"event"}
