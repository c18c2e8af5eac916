"""docs/guide.md keeps up with the report commands and the library names behind them."""

from pathlib import Path

import click

from voice_usage.cli import cli

GUIDE = (Path(__file__).resolve().parent.parent / "docs" / "guide.md").read_text(encoding="utf-8")

LIBRARY = (
    "compare",
    "Comparison",
    "ComparisonRow",
    "ProviderFailure",
    "Skipped",
    "GroupBy",
    "reprice",
    "reprice_comparison",
    "RepriceTarget",
    "FxRates",
    "FxRate",
    "MissingRateError",
    "group_records",
    "to_pandas",
    "write_parquet",
    "to_focus",
    "focus_rows",
    "write_focus_csv",
    "load_rate_book",
    "run_demo",
    "report",
    "Report",
)


def test_every_option_of_the_report_commands_is_documented():
    ctx = click.Context(cli)
    for name in ("compare", "reprice", "ratecards", "export", "demo", "report"):
        command = cli.get_command(ctx, name)
        assert command is not None and f"voice-usage {name}" in GUIDE, name
        for param in command.params:
            if isinstance(param, click.Option):
                flag = max(param.opts, key=len)
                assert flag in GUIDE, f"docs/guide.md lacks {name} {flag}"


def test_every_library_name_is_documented():
    for name in LIBRARY:
        assert f"`{name}" in GUIDE or f"voice_usage.{name}" in GUIDE, name
