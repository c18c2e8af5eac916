"""The `voice-usage` command line (`main` is the console script).

`_app` holds the group, shared options, error handling and `Settings` (what the commands share,
in `ctx.obj`: tests pass their own with `CliRunner().invoke(cli, args, obj=Settings(...))`); each
command group registers itself on the group when its module is imported, which the group does
when one of its commands runs. `_render` prints results apart from the commands.
"""

from voice_usage.cli._app import Settings, cli, main

__all__ = ["Settings", "cli", "main"]
