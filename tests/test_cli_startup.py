"""The command line answers `--version` and `--help` without loading what the commands need."""

from __future__ import annotations

import importlib
import subprocess
import sys

import click
from click.testing import CliRunner

from voice_usage.cli import cli
from voice_usage.cli._app import COMMANDS

HEAVY = (
    *("httpx", "pydantic", "rich", "pluggy", "importlib.metadata", "email", "json"),
    *("voice_usage._engine", "voice_usage._analysis"),
)


def _loaded_after(argument: str, heavy: tuple[str, ...] = HEAVY) -> list[str]:
    code = (
        "import sys\n"
        "from voice_usage.cli import main\n"
        "try:\n"
        f"    main([{argument!r}])\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print('loaded:' + ','.join(m for m in {heavy!r} if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    line = done.stdout.splitlines()[-1]
    assert line.startswith("loaded:"), done.stdout
    return [name for name in line.removeprefix("loaded:").split(",") if name]


def test_version_and_help_load_nothing_heavy():
    assert _loaded_after("--version") == []
    assert _loaded_after("--help") == []


PROVIDERS_HEAVY = (
    # The entry points are read from the metadata folders: importlib.metadata (with email,
    # zipfile, csv and importlib.resources) cost more than the rest of the discovery.
    "importlib.metadata",
    "email",
    "zipfile",
    "httpx",
    "pydantic",
    "tenacity",
    "voice_usage._pricing",
    "voice_usage._analysis",
    # `_outputs._text` (escaping a vendor's text for the terminal) is light and shared by every
    # command; the writers, exports and report are not.
    *(f"voice_usage._outputs._{name}" for name in ("serialize", "export", "focus", "report")),
    "voice_usage._engine._fetch",
    # The plan's types (walks, pages, reports) are a dozen dataclasses, built when imported.
    "voice_usage._engine._plan",
    "voice_usage._engine._repeats",
    *(f"voice_usage_{name}._provider" for name in ("agentphone", "flireo", "retell")),
    *(f"voice_usage_{name}._provider" for name in ("twilio", "ultravox", "vapi")),
)


def test_listing_providers_loads_no_http_client_models_nor_implementations():
    # Each provider is listed from its declaration; what it fetches with loads when it is used.
    assert _loaded_after("providers", PROVIDERS_HEAVY) == []


def test_the_help_table_says_what_each_command_says_of_itself():
    for name, (module, short_help) in COMMANDS.items():
        importlib.import_module(module)
        command = cli.commands[name]
        assert command.help is not None, name
        stand_in = click.Command(name, help=short_help)
        assert stand_in.get_short_help_str(200) == command.get_short_help_str(200), name


def test_every_registered_command_is_in_the_table():
    for module in {module for module, _ in COMMANDS.values()}:
        importlib.import_module(module)
    assert set(cli.commands) == set(COMMANDS)


def test_help_lists_every_command_and_a_command_loads_when_it_runs():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in COMMANDS:
        assert f"  {name} " in result.output, name
    result = CliRunner().invoke(cli, ["ratecards", "--help"])
    assert result.exit_code == 0 and "--at" in result.output


def test_the_written_version_is_the_distributions():
    import tomllib
    from importlib.metadata import version
    from pathlib import Path

    from voice_usage import __version__

    project = tomllib.loads(
        (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text(encoding="utf-8")
    )
    assert __version__ == project["project"]["version"] == version("voice-usage")
