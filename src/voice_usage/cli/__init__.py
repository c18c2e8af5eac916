"""The `voice-usage` command line (`main` is the console script).

`_app` holds the group, shared options, error handling and `Settings` (what the commands share,
in `ctx.obj`: tests pass their own with `CliRunner().invoke(cli, args, obj=Settings(...))`); each
command group registers itself on the group when its module is imported here. `_render` prints
results apart from the commands.
"""

# Each command module registers its commands on `cli` when imported.
from voice_usage.cli import _demo, _fetch, _providers, _ratecards, _report, _reports, _sync  # noqa: F401
from voice_usage.cli._app import Settings, cli, main

__all__ = ["Settings", "cli", "main"]
