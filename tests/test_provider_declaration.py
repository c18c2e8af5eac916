"""A provider declared apart from its implementation: listed cheaply, implemented on first use."""

from __future__ import annotations

import subprocess
import sys
import types
from typing import Any

import pytest

from voice_usage import ConfigurationError, Granularity, UsageQuery, load_registry
from voice_usage.provider import (
    BearerAuth,
    Capabilities,
    FetchPlan,
    ProviderDeclaration,
    VendorError,
    Walk,
    hookimpl,
)

BUNDLED = ("agentphone", "flireo", "retell", "twilio", "ultravox", "vapi")


class Acme(ProviderDeclaration):
    implementation = "acme_impl_for_tests:AcmeProvider"
    name = "acme"
    title = "Acme"
    auth = BearerAuth()
    default_base_url = "https://api.acme.invalid"
    capabilities = Capabilities(granularities=frozenset({Granularity.CALL}))


class AcmeProvider(Acme):
    loaded = 0

    def __init__(self) -> None:
        AcmeProvider.loaded += 1

    def plan(self, query: UsageQuery, rates: Any = None) -> FetchPlan[Any]:
        return FetchPlan(
            walks=[], to_records=lambda pages, report: iter(()), granularity=query.granularity
        )

    def balance(self) -> Walk[Any] | None:
        return Walk("/balance", parse=lambda body: None)  # type: ignore[arg-type, return-value]


@pytest.fixture
def acme_module(monkeypatch):
    module = types.ModuleType("acme_impl_for_tests")
    module.AcmeProvider = AcmeProvider  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "acme_impl_for_tests", module)
    AcmeProvider.loaded = 0
    return module


def plugin(*providers: Any) -> types.ModuleType:
    module = types.ModuleType("acme_plugin_for_tests")

    @hookimpl
    def register_providers(register):  # type: ignore[no-untyped-def]
        for provider in providers:
            register(provider)

    module.register_providers = register_providers  # type: ignore[attr-defined]
    return module


def test_the_registry_lists_a_declaration_and_hands_out_its_implementation(acme_module):
    registry = load_registry(extra_plugins=[plugin(Acme())])
    declared = registry.providers["acme"].provider
    assert type(declared) is Acme and declared.title == "Acme"
    assert AcmeProvider.loaded == 0  # listing imports and builds nothing
    got = registry.get("acme")
    assert type(got) is AcmeProvider and AcmeProvider.loaded == 1
    assert registry.get("acme") is got and AcmeProvider.loaded == 1  # built once
    # The implementation inherits what was declared, written once.
    assert (got.name, got.default_base_url, got.capabilities) == (
        "acme",
        "https://api.acme.invalid",
        Acme.capabilities,
    )


def test_a_declarations_methods_hand_over_to_its_implementation(acme_module):
    declared = Acme()
    query = UsageQuery.model_validate(
        {"since": "2026-01-01T00:00:00Z", "until": "2026-01-02T00:00:00Z", "granularity": "call"}
    )
    assert declared.plan(query).granularity is Granularity.CALL
    balance = declared.balance()
    assert balance is not None and balance.path == "/balance"
    # What the implementation does not define is the base class's default, not a loop.
    assert declared.billing_query(query) is None
    assert declared.account_facts({}) is None
    assert declared.emulator("k") is None
    assert declared.parse_error(400, {"error": "bad", "message": "no"}) == VendorError("bad", "no")
    assert AcmeProvider.loaded == 1
    implementation = declared.resolved()
    assert implementation.resolved() is implementation


def test_an_implementation_that_fails_to_import_is_named_with_the_provider():
    class Broken(Acme):
        implementation = "no_such_module_for_voice_usage_tests:Nothing"

    with pytest.raises(ConfigurationError) as caught:
        Broken().resolved()
    assert str(caught.value).startswith(
        "acme: its implementation no_such_module_for_voice_usage_tests:Nothing failed to load: "
        "ModuleNotFoundError"
    )


def test_an_implementation_must_subclass_its_declaration(acme_module):
    class Other(ProviderDeclaration):
        implementation = "acme_impl_for_tests:AcmeProvider"
        name = "other"
        title = "Other"
        auth = BearerAuth()
        default_base_url = "https://other.invalid"
        capabilities = Capabilities(granularities=frozenset({Granularity.DAY}))

    with pytest.raises(ConfigurationError, match="other: its implementation "):
        Other().resolved()


def test_an_implementation_without_plan_says_so(monkeypatch):
    class NoPlan(Acme):
        pass

    module = types.ModuleType("acme_no_plan_for_tests")
    module.NoPlan = NoPlan  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "acme_no_plan_for_tests", module)
    NoPlan.implementation = "acme_no_plan_for_tests:NoPlan"
    with pytest.raises(TypeError, match="NoPlan implements no plan"):
        NoPlan().plan(None)  # type: ignore[arg-type]


def test_bundled_providers_are_listed_from_declarations_without_their_implementations():
    code = (
        "import sys\n"
        "from voice_usage import load_registry\n"
        "registry = load_registry()\n"
        "for name in registry.names():\n"
        "    info = registry.providers[name]\n"
        "    info.provider.capabilities.as_dict(), info.provider.credential_spec\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('pydantic', 'httpx')\n"
        "         or (m.startswith('voice_usage_') and m.count('.'))]\n"
        "print(sorted(registry.names()), sorted(heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert done.stdout.strip() == f"{sorted(BUNDLED)} []"


def test_each_bundled_implementation_subclasses_its_declaration():
    registry = load_registry()
    for name in BUNDLED:
        declared = registry.providers[name].provider
        assert isinstance(declared, ProviderDeclaration), name
        implementation = registry.get(name)
        assert type(implementation) is not type(declared), name
        assert isinstance(implementation, type(declared)), name
