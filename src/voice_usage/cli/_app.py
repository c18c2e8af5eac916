"""The `voice-usage` command line: the command group, shared options, and error handling.

Exit codes: 0 success; 1 a provider or API error (one line on stderr naming the provider and the
cause); 2 bad arguments or set-up. `--debug` shows tracebacks and DEBUG logs (keys never appear).

The commands live one group per module beside this one (`_fetch`, `_reports`, `_ratecards`,
`_providers`, `_demo`, `_report`) and register themselves on `cli` when imported. The group imports
a command's module only when that command runs (`COMMANDS` says where each lives), and this
module imports nothing heavy at the top: `--version` and `--help` answer without loading the HTTP
stack, pydantic or rich.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click
from click.exceptions import NoArgsIsHelpError

from voice_usage._exceptions import (
    OUT_OF_RANGE,
    ConfigurationError,
    ProviderError,
    VoiceUsageError,
    invalid_input,
    out_of_range,
)
from voice_usage._outputs._text import visible
from voice_usage._version import __version__

if TYPE_CHECKING:
    from voice_usage._engine._fetch import Connection
    from voice_usage._engine._plugins import Registry
    from voice_usage._pricing._ratecard import RateBook
    from voice_usage._schema import UsageQuery

__all__ = ["COMMANDS", "Settings", "cli", "echo_stderr", "main", "registry_from", "settings_of"]

COMMANDS: dict[str, tuple[str, str]] = {
    "balance": (
        "voice_usage.cli._fetch",
        "Show PROVIDER's account snapshot: credit balance or plan limits.",
    ),
    "compare": (
        "voice_usage.cli._reports",
        "Compare PROVIDERs over [--since, --until): calls, minutes and cost side by side.",
    ),
    "demo": (
        "voice_usage.cli._demo",
        "Run the whole job against the bundled vendor emulators on loopback: no account needed.",
    ),
    "export": (
        "voice_usage.cli._fetch",
        "Write PROVIDER's records in [--since, --until) to a file for analysis or FinOps tools.",
    ),
    "fetch": (
        "voice_usage.cli._fetch",
        "Fetch PROVIDER's usage in [--since, --until) as normalized records.",
    ),
    "providers": (
        "voice_usage.cli._providers",
        "List installed providers, their distribution, version and capabilities.",
    ),
    "ratecards": (
        "voice_usage.cli._ratecards",
        "Show the rate cards in force: shipped cards plus VOICE_USAGE_RATECARDS and --ratecards.",
    ),
    "report": (
        "voice_usage.cli._report",
        "Write one HTML page with charts of PROVIDERs' usage over [--since, --until).",
    ),
    "reprice": (
        "voice_usage.cli._reports",
        "Price PROVIDER's traffic in [--since, --until) under other vendors' rate cards.",
    ),
    "sync": (
        "voice_usage.cli._sync",
        "Bring the store up to date with PROVIDERS (default: every one with credentials).",
    ),
}
"""Each command: the module that defines it, and the first line of its help (what `--help`
lists without importing the module; a test holds the two to the same text)."""


F = TypeVar("F", bound=Callable[..., Any])


EXIT_OK, EXIT_PROVIDER, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130
"""Ctrl-C: 128 + SIGINT, as shells report a command the signal stopped."""


RATECARDS_HELP = (
    "A rate-card TOML file that adds cards or overrides shipped ones (negotiated prices)."
)


def echo_stderr(line: str) -> None:
    """One line on stderr; what it quotes from vendors or users cannot act on the terminal."""
    click.echo(visible(line), err=True)


def fail(message: str, code: int) -> NoReturn:
    """Print one line on stderr and exit."""
    echo_stderr(f"voice-usage: error: {message}")
    sys.exit(code)


FLAGS = {"currency": "--currency", "fx": "--fx", "targets": "--to"}
"""The flag of each library argument named by a `ConfigurationError`: the CLI names its flag."""


def handle_errors(func: F) -> F:
    """Turn library errors into one line on stderr and the contract's exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        try:
            return func(*args, **kwargs)
        except (VoiceUsageError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
            if ctx.find_root().params.get("debug"):
                raise
            if isinstance(exc, ProviderError):
                fail(str(exc), EXIT_PROVIDER)
            # Imported only on an error: a command that loads no pydantic (`providers`) stays quick.
            from pydantic import ValidationError

            if isinstance(exc, ValidationError):
                fail(str(invalid_input(exc)), EXIT_USAGE)
            if not isinstance(exc, VoiceUsageError):
                raise  # any other ValueError is a bug, not the user's mistake: not dressed as one
            if isinstance(exc, ConfigurationError) and exc.argument in FLAGS:
                fail(f"{FLAGS[exc.argument]}: {exc}", EXIT_USAGE)
            if isinstance(exc, ConfigurationError):
                fail(str(exc), EXIT_USAGE)
            fail(str(exc), EXIT_PROVIDER)
        except OUT_OF_RANGE as exc:  # an absurd figure in the user's input (a records file)
            if ctx.find_root().params.get("debug"):
                raise
            fail(out_of_range(exc, "a figure of the input"), EXIT_USAGE)
        except BrokenPipeError:
            raise  # the reader stopped early: the command group ends quietly
        except OSError as exc:  # a file the user named: missing, a folder, not writable, full
            if ctx.find_root().params.get("debug"):
                raise
            where = f"{exc.filename}: " if exc.filename else ""
            fail(f"{where}{exc.strerror or exc}", EXIT_USAGE)

    return wrapper  # type: ignore[return-value]


class DateParam(click.ParamType[datetime]):
    """A date or ISO 8601 datetime, UTC unless an offset is given."""

    name = "DATE"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            return value
        from voice_usage._schema import parse_instant

        try:
            return parse_instant(str(value), name=f"--{param.name}" if param else "date")
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


DATE = DateParam()


@dataclass
class Settings:
    """What the commands of one command line share; the group puts it in `ctx.obj`.

    It reaches the library as arguments (a registry, a rate book, a concurrency), never through
    the environment or a module global. Tests pass their own, through `CliRunner.invoke(...,
    obj=Settings(...))`, to open connections with a transport or recorded sleeps.
    """

    concurrency: int | None = None
    """Requests in flight per provider (`--concurrency`); `None`: see `in_flight`."""
    connect: Callable[..., Connection] = field(default_factory=lambda: _open_connection)
    """Opens a `Connection`: called as `connect(provider, registry=..., concurrency=...,
    rate_book=...)`."""
    load_registry: Callable[[], Registry] = field(default_factory=lambda: _load_registry)
    """Finds the installed providers; called at most once."""
    _registry: Registry | None = field(default=None, repr=False)

    @property
    def registry(self) -> Registry:
        """The installed providers, loaded on first use."""
        if self._registry is None:
            self._registry = self.load_registry()
        return self._registry

    def rate_book(self, path: str | None = None) -> RateBook:
        """The rate cards for one command: shipped, `VOICE_USAGE_RATECARDS`, then ``path``."""
        from voice_usage._pricing._ratecard import load_rate_book

        return load_rate_book([path] if path else [])

    def connection(self, provider: str, *, rate_book: RateBook | None = None) -> Connection:
        """A connection to ``provider`` with these settings, pricing with ``rate_book``."""
        return self.connect(
            provider,
            registry=self.registry,
            concurrency=self.in_flight(),
            rate_book=rate_book,
        )

    def in_flight(self) -> int:
        """Requests in flight per provider: `concurrency`, else `VOICE_USAGE_CONCURRENCY`, else 8.

        The variable is read here, when a command connects, and not by the option: a bad value
        fails only the commands that send requests (`providers` sends none), in one line.

        Raises:
            ConfigurationError: naming the variable, for a value that is not a count.
        """
        from voice_usage._engine._fetch import _concurrency

        return _concurrency(self.concurrency)

    def connect_options(self) -> dict[str, Any]:
        """The `Connection` options every provider of a comparison shares."""
        return {"concurrency": self.in_flight()}


def registry_from(ctx: click.Context) -> Registry:
    """The installed providers of this command line (its `Settings`' registry)."""
    return settings_of(ctx).registry


def _open_connection(*args: Any, **kwargs: Any) -> Connection:
    from voice_usage._engine._fetch import Connection

    return Connection(*args, **kwargs)


def _load_registry() -> Registry:
    from voice_usage._engine._plugins import load_registry

    return load_registry()


def settings_of(ctx: click.Context) -> Settings:
    """The command line's `Settings`."""
    settings = ctx.find_root().obj
    if not isinstance(settings, Settings):
        raise TypeError(f"ctx.obj must be Settings, got {type(settings).__name__}")
    return settings


class _BadArguments(click.ClickException):
    """A usage error, shown on one line like every other error (exit 2)."""

    exit_code = EXIT_USAGE

    def __init__(self, error: click.UsageError) -> None:
        super().__init__(error.format_message())
        self.command = error.ctx.command_path if error.ctx is not None else "voice-usage"

    def show(self, file: Any = None) -> None:
        """One line on stderr, with where to find help."""
        echo_stderr(f"voice-usage: error: {self.format_message()} (see '{self.command} --help')")


class _OneLineErrors(click.Group):
    """The command group: bad arguments are one line on stderr and exit 2, not a usage dump.

    Commands are loaded when they run (see `COMMANDS`); `--help` lists them from the table.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            importlib.import_module(COMMANDS[cmd_name][0])  # it registers itself on the group
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            command = self.commands.get(name)
            if command is not None:
                if command.hidden:
                    continue
                rows.append((name, command.get_short_help_str(limit)))
            else:
                stand_in = click.Command(name, help=COMMANDS[name][1])  # not loaded yet
                rows.append((name, stand_in.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except NoArgsIsHelpError:
            raise  # no arguments at all: click shows the help
        except click.UsageError as error:
            raise _BadArguments(error) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except NoArgsIsHelpError:
            raise
        except click.UsageError as error:
            raise _BadArguments(error) from None
        except KeyboardInterrupt:
            # Ctrl-C: one line and the shells' convention (128 + SIGINT), not click's "Aborted!".
            echo_stderr("voice-usage: error: interrupted")
            sys.exit(EXIT_INTERRUPTED)
        except BrokenPipeError:
            # The reader stopped early (`| head`): it has what it asked for, so the command ends
            # quietly and successfully. Python would otherwise complain when flushing at exit.
            with contextlib.suppress(OSError, ValueError):  # a stdout with no file behind it
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(EXIT_OK)


@click.group(cls=_OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="voice-usage")
@click.option("--debug", is_flag=True, help="Show tracebacks and DEBUG logs (keys never appear).")
@click.option(
    "--concurrency",
    type=click.IntRange(1, 64),
    # Not click's envvar: the variable is read, and a bad one named in one line, only by the
    # commands that connect (`providers` sends no request and must not fail on it).
    help="Requests in flight at once per provider (default 8; env VOICE_USAGE_CONCURRENCY).",
)
@click.pass_context
def cli(ctx: click.Context, debug: bool, concurrency: int | None) -> None:
    """What your voice AI minutes cost, across vendors."""
    if ctx.obj is None:
        ctx.obj = Settings()
    if concurrency is not None:
        settings_of(ctx).concurrency = concurrency
    if debug:
        import logging  # only here: every other start, `--version` too, goes without it

        logging.basicConfig(level=logging.DEBUG, format="%(name)s: %(message)s", stream=sys.stderr)


def format_option(*choices: str) -> Callable[[F], F]:
    """The `--format` option of a command, `table` by default."""
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(list(choices)),
        default="table",
        show_default=True,
        help="Output format.",
    )


def period_options(func: F) -> F:
    """`--since` and `--until`, both required: the period a command reads."""
    func = click.option(
        "--until", type=DATE, required=True, help="End, exclusive (date or ISO 8601)."
    )(func)
    return click.option(
        "--since", type=DATE, required=True, help="Start, inclusive (date or ISO 8601)."
    )(func)


def ratecards_option(func: F) -> F:
    """`--ratecards FILE`: the user's own rate cards on top of the shipped ones."""
    return click.option(
        "--ratecards", "ratecards_file", type=click.Path(dir_okay=False), help=RATECARDS_HELP
    )(func)


def query_options(func: F) -> F:
    """The `--since/--until/--granularity/--agent/--number` options shared by commands."""
    return _query_options(func, "day")


def finest_query_options(func: F) -> F:
    """`query_options` whose `--granularity` defaults to the finest the provider reports."""
    return _query_options(func, None)


def _query_options(func: F, granularity: str | None) -> F:
    from voice_usage._schema import Granularity

    finest = " (default: the finest the provider reports)" if granularity is None else ""
    options = [
        click.option(
            "--since",
            type=DATE,
            required=True,
            help="Start, inclusive (date or ISO 8601, UTC unless offset).",
        ),
        click.option(
            "--until", type=DATE, required=True, help="End, exclusive (date or ISO 8601)."
        ),
        click.option(
            "--granularity",
            type=click.Choice([g.value for g in Granularity]),
            default=granularity,
            show_default=granularity is not None,
            help=f"One record per call, or hour/day/month windows{finest}.",
        ),
        click.option("--agent", "agents", multiple=True, help="Only this agent id (repeatable)."),
        click.option(
            "--number", "numbers", multiple=True, help="Only this phone-number id (repeatable)."
        ),
        click.option(
            "--option",
            "extra_options",
            multiple=True,
            metavar="KEY=VALUE",
            help="Provider-specific filter (repeatable).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def build_query(
    since: datetime,
    until: datetime,
    granularity: str,
    agents: Sequence[str],
    numbers: Sequence[str],
    extra_options: Sequence[str],
) -> UsageQuery:
    """A validated query from command-line values."""
    from voice_usage._schema import Granularity, UsageQuery

    options: dict[str, str] = {}
    for item in extra_options:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint="--option")
        options[key] = value
    if until <= since:
        raise click.BadParameter(
            f"--until ({until.isoformat()}) must be after --since ({since.isoformat()})",
            param_hint="--until",
        )
    return UsageQuery(
        since=since,
        until=until,
        granularity=Granularity(granularity),
        agent_ids=tuple(agents),
        number_ids=tuple(numbers),
        options=options,
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the `voice-usage` console script."""
    cli.main(args=argv, prog_name="voice-usage")
