"""The docs keep up with the code."""

from pathlib import Path

from voice_usage import UsageQuery, UsageRecord, hookspecs

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_schema_page_documents_every_field():
    page = (DOCS / "schema.md").read_text(encoding="utf-8")
    for model in (UsageRecord, UsageQuery):
        for name in model.model_fields:
            assert f"| `{name}` |" in page, f"docs/schema.md lacks {model.__name__}.{name}"


def test_provider_guide_names_the_hook():
    page = (DOCS / "writing-a-provider.md").read_text(encoding="utf-8")
    assert "register_providers(register)" in page
    assert hookspecs.register_providers.__name__ == "register_providers"


def test_store_page_documents_every_option_of_sync():
    import click

    from voice_usage.cli import cli

    page = (DOCS / "store.md").read_text(encoding="utf-8")
    command = cli.get_command(click.Context(cli), "sync")
    assert command is not None
    for param in command.params:
        if isinstance(param, click.Option):
            assert max(param.opts, key=len) in page, param.opts
