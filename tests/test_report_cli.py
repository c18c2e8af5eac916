"""`voice-usage report` and the demo's report: paths checked first, failures on the page, exit codes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from voice_usage.cli import cli
from voice_usage.emulator import EmulatorServer, Fault
from voice_usage_flireo.emulator import FlireoEmulator
from voice_usage_ultravox.emulator import UltravoxEmulator

PERIOD = ("--since", "2026-10-01", "--until", "2026-10-08")


@pytest.fixture
def servers(serve: Any, fake_key: str) -> dict[str, EmulatorServer]:
    return {
        "flireo": serve(FlireoEmulator(fake_key)),
        "ultravox": serve(UltravoxEmulator(fake_key)),
    }


@pytest.fixture
def env(servers: dict[str, EmulatorServer], env_for: Any) -> dict[str, str]:
    return {"VOICE_USAGE_RATECARDS": "", **env_for(*servers.values())}


def run(env: dict[str, str], *args: str) -> Any:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def requests(servers: dict[str, EmulatorServer]) -> int:
    return sum(len(server.requests) for server in servers.values())


@pytest.mark.emulator
def test_report_writes_the_page_and_prints_its_path(env: dict[str, str], tmp_path: Path) -> None:
    page = tmp_path / "week.html"
    result = run(
        env, "report", "flireo", "ultravox", *PERIOD, "--currency", "EUR",
        "--fx", "USD:EUR=0.92", "--reprice-from", "flireo", "--reprice-to", "ultravox",
        "--output", str(page),
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == str(page)
    html = page.read_text(encoding="utf-8")
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart"') == 4
    assert 'id="repricing"' in html and "ultravox rate card" in html
    assert "2026-10-07" in html and "2026-10-08</th>" not in html  # --until is exclusive


@pytest.mark.emulator
@pytest.mark.parametrize("where", ["folder", "missing"])
def test_an_unusable_output_is_one_line_and_exit_2_before_any_request(
    env: dict[str, str], servers: dict[str, EmulatorServer], tmp_path: Path, where: str
) -> None:
    target = tmp_path if where == "folder" else tmp_path / "no" / "such" / "r.html"
    result = run(env, "report", "flireo", *PERIOD, "--output", str(target))
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--output" in lines[0], lines
    assert ("is a directory" if where == "folder" else "does not exist") in lines[0]
    assert requests(servers) == 0


@pytest.mark.emulator
def test_a_failed_provider_is_on_the_page_and_the_command_exits_1_after_writing(
    env: dict[str, str], servers: dict[str, EmulatorServer], tmp_path: Path, fake_key: str
) -> None:
    servers["ultravox"].faults.add(Fault(status=401), times=None)
    page = tmp_path / "r.html"
    result = run(env, "report", "flireo", "ultravox", *PERIOD, "--output", str(page))
    assert result.exit_code == 1
    assert "ultravox" in result.stderr and "Traceback" not in result.stderr
    assert fake_key not in result.stderr
    html = page.read_text(encoding="utf-8")
    failed = html[html.index('id="failed"') :]
    assert failed.startswith('id="failed"><strong>Not in this report</strong>: ultravox: ')
    assert "AuthenticationError" in failed[:400]
    assert fake_key not in html
    assert '<th scope="col">flireo</th>' in html  # the other vendor is complete


def test_bad_arguments_exit_2_before_anything(tmp_path: Path) -> None:
    page = str(tmp_path / "r.html")
    for args, needle in (
        (("--group-by", "agent"), "--group-by"),
        (("--fx", "USD:EUR=0.9"), "--currency"),
        (("--reprice-to", "nosuchvendor"), "no rate card"),
    ):
        result = run({}, "report", "flireo", *PERIOD, "--output", page, *args)
        assert result.exit_code == 2, (args, result.stderr)
        assert needle in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not Path(page).exists()


@pytest.mark.emulator
def test_add_cost_gives_the_page_compare_s_all_in_figures(
    env: dict[str, str], tmp_path: Path
) -> None:
    import json
    import re
    from decimal import Decimal

    from voice_usage._outputs._page import money

    common = (
        *PERIOD, "--currency", "EUR", "--fx", "USD:EUR=0.92",
        "--add-cost", "telephony=USD:0.0085", "--add-cost", "flireo.llm=EUR:0.03",
    )  # fmt: skip
    compared = run(env, "compare", "flireo", "ultravox", *common, "--format", "json")
    assert compared.exit_code == 0, compared.stderr
    rows = {row["provider"]: row for row in json.loads(compared.stdout)["rows"]}
    page = tmp_path / "all-in.html"
    done = run(env, "report", "flireo", "ultravox", *common, "--output", str(page))
    assert done.exit_code == 0, done.stderr
    html = page.read_text(encoding="utf-8")
    table = html[
        html.index('id="like-for-like"') : html.index("</table>", html.index('id="like-for-like"'))
    ]
    for provider, row in rows.items():
        cells = re.search(rf'<th scope="row">{provider}</th>(.*?)</tr>', table).group(1)  # type: ignore[union-attr]
        texts = re.findall(r"<td[^>]*>([^<]*)</td>", cells)
        for figure in ("all_in_cost", "all_in_per_minute", "fixed_cost"):
            if row[figure] is not None:
                assert f"{money(Decimal(row[figure]))} {row['all_in_currency']}" in texts, (
                    provider,
                    figure,
                    texts,
                )
        for entry in row["assumed"]:
            assert entry["assumption"] in html  # every assumption is named on the page
    assert "telephony at 0.0085 USD/min" in table
