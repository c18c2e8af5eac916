"""The docs keep up with the code."""

import inspect
from pathlib import Path

from voice_usage import UsageQuery, UsageRecord, hookspecs

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_schema_page_documents_every_field():
    page = (DOCS / "schema.md").read_text(encoding="utf-8")
    for model in (UsageRecord, UsageQuery):
        for name in model.model_fields:
            assert f"| `{name}` |" in page, f"docs/schema.md lacks {model.__name__}.{name}"


def test_provider_guide_shows_the_hook_with_its_exact_signature():
    page = (DOCS / "writing-a-provider.md").read_text(encoding="utf-8")
    hooks = [
        value
        for name, value in vars(hookspecs).items()
        if callable(value) and hasattr(value, f"{hookspecs.PROJECT}_spec")
    ]
    assert [hook.__name__ for hook in hooks] == ["register_providers"]
    for hook in hooks:
        signature = inspect.signature(hook)  # annotations stay text: the module defers them
        params = ", ".join(f"{p.name}: {p.annotation}" for p in signature.parameters.values())
        line = f"def {hook.__name__}({params}) -> {signature.return_annotation}:"
        assert line in page, f"docs/writing-a-provider.md lacks {line!r}"


def test_store_page_documents_every_option_of_sync():
    import click

    from voice_usage.cli import cli

    page = (DOCS / "store.md").read_text(encoding="utf-8")
    command = cli.get_command(click.Context(cli), "sync")
    assert command is not None
    for param in command.params:
        if isinstance(param, click.Option):
            assert max(param.opts, key=len) in page, param.opts
