"""`voice-usage providers`: the installed providers, their distribution and capabilities."""

from __future__ import annotations

from typing import Any

import click
from rich.table import Table

from voice_usage.cli._app import cli, echo_stderr, format_option, handle_errors, settings_of
from voice_usage.cli._console import stdout_console

__all__ = ["providers_command"]


@cli.command("providers")
@format_option("table", "json")
@click.pass_context
@handle_errors
def providers_command(ctx: click.Context, output_format: str) -> None:
    """List installed providers, their distribution, version and capabilities."""
    registry = settings_of(ctx).registry
    rows: list[dict[str, Any]] = []
    for name in registry.names():
        info = registry.providers[name]
        provider = info.provider
        rows.append(
            {
                "name": name,
                "title": provider.title,
                "distribution": info.distribution,
                "version": info.version,
                "auth": provider.auth.description,
                "base_url": provider.default_base_url,
                "env": [
                    *(credential.env for credential in provider.credential_spec),
                    f"{provider.env_prefix}_BASE_URL",
                ],
                "capabilities": provider.capabilities.as_dict(),
            }
        )
    errors = [
        {"name": e.name, "distribution": e.distribution, "error": e.error} for e in registry.errors
    ]
    errors += [
        {
            "name": name,
            "distribution": ", ".join(dists),
            "error": "registered by more than one distribution",
        }
        for name, dists in registry.conflicts.items()
    ]
    if output_format == "json":
        import json  # only for this format: the table is what most starts print

        click.echo(json.dumps({"providers": rows, "errors": errors}, indent=2))
    else:
        table = Table(header_style="bold")
        for column in ("name", "distribution", "version", "granularities", "cost", "notes"):
            table.add_column(column)
        for row in rows:
            caps = row["capabilities"]
            table.add_row(
                row["name"],
                row["distribution"],
                row["version"],
                ", ".join(caps["granularities"]) if caps["implemented"] else "not implemented yet",
                "reported" if caps["reports_cost"] else "rate card",
                " ".join(caps["notes"]),
            )
        stdout_console().print(table)
        for error in errors:
            echo_stderr(
                f"voice-usage: warning: provider {error['name']} ({error['distribution']}) "
                f"failed to load: {error['error']}"
            )
