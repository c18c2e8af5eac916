"""`voice-usage demo`: the whole job against the bundled vendor emulators, on loopback.

Each installed provider that ships an emulator (`Provider.emulator()`) gets a local server on
127.0.0.1; the demo then fetches, compares and reprices the last `days` days (30 by default)
through the same code paths as real accounts, with no account, no environment variable and no
network. The core names
no vendor: whichever providers are installed take part.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from voice_usage._analysis._compare import compare
from voice_usage._analysis._comparison import Comparison
from voice_usage._analysis._grouping import GroupBy, fetch_granularity
from voice_usage._analysis._reprice import reprice_comparison
from voice_usage._calendar import utc_floor
from voice_usage._engine._fetch import Connection
from voice_usage._engine._plugins import Registry, load_registry
from voice_usage._exceptions import ConfigurationError
from voice_usage._outputs._report import check_output
from voice_usage._outputs._report import report as write_report
from voice_usage._schema import Granularity, UsageQuery, UsageRecord
from voice_usage.cli._app import cli, handle_errors
from voice_usage.cli._render import print_comparison, print_records, print_warnings, stdout_console
from voice_usage.emulator import EmulatorServer

__all__ = ["DEMO_FX", "DemoResult", "demo_command", "demo_connections", "run_demo"]

DEMO_KEY = "demo-key-not-a-secret"
DEMO_CURRENCY = "EUR"
DEMO_FX: tuple[str, ...] = ("USD:EUR=0.92",)
"""An illustrative exchange rate for the demo (not a market quote; real runs pass their own)."""


@dataclass
class DemoResult:
    """What the demo computed, for callers that want the figures rather than the tables."""

    since: datetime
    until: datetime
    providers: list[str]
    fetched: dict[str, list[UsageRecord]] = field(default_factory=dict)
    """Per provider, the records of the fetch step (monthly windows)."""
    comparison: Comparison | None = None
    repricing: Comparison | None = None
    warnings: list[str] = field(default_factory=list)
    report_path: Path | None = None
    """Where the HTML report was written, when one was asked for."""


@contextmanager
def demo_connections(
    providers: Sequence[str] | None = None, *, registry: Registry | None = None
) -> Iterator[dict[str, Connection]]:
    """Emulators of ``providers`` (default: every installed one) on loopback, and a `Connection` each.

    Providers that are not installed, not implemented, or ship no emulator are left out.

    Raises:
        ConfigurationError: when none of them can be emulated.
    """
    registry = registry or load_registry()
    with ExitStack() as stack:
        connections: dict[str, Connection] = {}
        for name in registry.names() if providers is None else providers:
            if name not in registry.providers:
                continue
            provider = registry.get(name)
            emulator = provider.emulator(DEMO_KEY) if provider.capabilities.implemented else None
            if emulator is None:
                continue
            server = stack.enter_context(EmulatorServer(emulator))
            connection = Connection(
                provider, credentials=emulator.credentials, base_url=server.base_url
            )
            connections[name] = stack.enter_context(connection)
        if not connections:
            raise ConfigurationError(
                "no bundled provider with an emulator is installed: pip install 'voice-usage[all]'"
            )
        yield connections


def _granularities(connection: Connection) -> frozenset[Granularity]:
    return connection.provider.capabilities.granularities


def _period(days: int, now: datetime | None) -> tuple[datetime, datetime]:
    until = utc_floor(now or datetime.now(UTC), Granularity.DAY)
    return until - timedelta(days=days), until


def _day(instant: datetime) -> str:
    return instant.date().isoformat()


def run_demo(
    *,
    days: int = 30,
    console: Any = None,
    now: datetime | None = None,
    registry: Registry | None = None,
    quiet: bool = False,
    report: str | Path | None = None,
) -> DemoResult:
    """Fetch, compare and reprice the last ``days`` days against the bundled emulators.

    Prints each step's table (unless ``quiet``) under the command that does the same against real
    accounts, and returns the figures. With ``report``, also writes the HTML report there.

    Raises:
        ConfigurationError: when ``report`` is in a missing folder or is a folder (before any
            emulator starts).
    """
    out = console or stdout_console()
    page = check_output(report) if report is not None else None
    since, until = _period(days, now)
    span = f"--since {_day(since)} --until {_day(until)}"
    with demo_connections(registry=registry) as connections:
        names = list(connections)
        result = DemoResult(since=since, until=until, providers=names)

        def say(text: str) -> None:
            if not quiet:
                out.print(text, soft_wrap=True, markup=True)  # the demo's own text

        say(
            f"[bold]voice-usage demo[/bold]: {', '.join(names)} emulated on 127.0.0.1, "
            f"the last {days} days ({_day(since)} to {_day(until)}, UTC). No account, no network."
        )
        # 1. fetch: normalized records, one window per provider and month.
        say(f"\n[bold]1. fetch[/bold]  $ voice-usage fetch PROVIDER {span} --granularity month")
        fetched: list[UsageRecord] = []
        for name, connection in connections.items():
            fetch = connection.fetch(since, until, Granularity.MONTH)
            with fetch:
                records = fetch.to_list()
            result.fetched[name] = records
            result.warnings.extend(fetch.warnings)
            fetched.extend(records)
        if not quiet:
            print_records(fetched, "table")

        # 2. compare: the providers side by side, in one currency.
        fx_flags = " ".join(f"--fx {spec}" for spec in DEMO_FX)
        say(
            f"\n[bold]2. compare[/bold]  $ voice-usage compare {' '.join(names)} {span} "
            f"--currency {DEMO_CURRENCY} {fx_flags}"
        )
        comparison = compare(
            list(connections.values()), since, until, currency=DEMO_CURRENCY, fx=DEMO_FX
        )
        result.comparison = comparison
        result.warnings.extend(comparison.warnings)
        if not quiet:
            print_comparison(comparison, "table")

        # 3. reprice: per-call traffic (exact repricing) under the other vendors' rate cards.
        per_call = [n for n in names if Granularity.CALL in _granularities(connections[n])]
        source = (per_call or names)[0]
        targets = [n for n in names if n != source] or [source]
        connection = connections[source]
        query = UsageQuery(
            since=since,
            until=until,
            granularity=fetch_granularity(connection.provider, GroupBy.AGENT),
        )
        say(
            f"\n[bold]3. reprice[/bold]  $ voice-usage reprice {source} {span} "
            f"--to {','.join(targets)} --currency {DEMO_CURRENCY} {fx_flags}"
        )
        calls = connection.fetch(query)
        with calls:
            repricing = reprice_comparison(
                calls, targets, since=since, until=until, currency=DEMO_CURRENCY, fx=DEMO_FX
            )
        result.repricing = repricing
        result.warnings.extend(calls.warnings)
        if not quiet:
            print_comparison(repricing, "table")

        # 4. report: one HTML page with the charts and every figure they rest on.
        if page is not None:
            say(
                f"\n[bold]4. report[/bold]  $ voice-usage report {' '.join(names)} {span} "
                f"--currency {DEMO_CURRENCY} {fx_flags} --reprice-from {source} "
                f"--reprice-to {','.join(targets)} --output {page}"
            )
            written = write_report(
                list(connections.values()),
                since,
                until,
                currency=DEMO_CURRENCY,
                fx=DEMO_FX,
                repricing=repricing,  # step 3's, which the printed flags make again
                output=page,
            )
            result.report_path = written.path
            say(f"Report written: {page.resolve()} (open it in a browser; it needs no network)")
        if not quiet:
            keys = ", ".join(
                credential.env
                for c in connections.values()
                for credential in c.provider.credential_spec
                if credential.required or credential.name in c.provider.auth.requires[0]
            )
            say(
                f"\nFX {', '.join(DEMO_FX)} is an example rate for the demo. Against real "
                f"accounts: set {keys} and run the commands above."
            )
            print_warnings(result.warnings)
    return result


@cli.command("demo")
@click.option(
    "--days",
    default=30,
    show_default=True,
    type=click.IntRange(1, 90),
    help="How many days back from today to cover.",
)
@click.option(
    "--report",
    "report_path",
    metavar="FILE.html",
    default=None,
    help="Where to write the HTML report [default: voice-usage-demo.html in the temporary folder].",
)
@handle_errors
def demo_command(days: int, report_path: str | None) -> None:
    """Run the whole job against the bundled vendor emulators on loopback: no account needed.

    Starts a local emulator of each vendor's API, then fetches, compares and reprices the last
    --days days, printing each table with the command that makes it against real accounts, and
    writes the HTML report.
    """
    try:
        page = check_output(report_path or Path(tempfile.gettempdir()) / "voice-usage-demo.html")
    except ConfigurationError as exc:
        raise click.BadParameter(str(exc), param_hint="--report") from None
    run_demo(days=days, console=stdout_console(), report=page)
