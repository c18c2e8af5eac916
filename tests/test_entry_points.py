"""Entry points read from the metadata folders, as `importlib.metadata` reads them, or not at all."""

import importlib.metadata as md
import sys
import types
import zipfile
from pathlib import Path

import pytest

from voice_usage._engine._entry_points import EntryPoint, Found, read_entry_points


def dist_info(
    folder: Path, name: str, version: str, entry_points: str, metadata: str | None = None
) -> Path:
    info = folder / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    if metadata is None:
        metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    (info / "METADATA").write_text(metadata, encoding="utf-8")
    (info / "entry_points.txt").write_text(entry_points, encoding="utf-8")
    return info


def by_importlib(group: str, path: list[str]) -> list[tuple[str, str, str, str]]:
    """The reference: what `importlib.metadata` finds on ``path``."""
    return [
        (ep.name, ep.value, dist.metadata["Name"], dist.version)
        for dist in md.distributions(path=path)
        for ep in dist.entry_points
        if ep.group == group
    ]


def flat(found: list[Found] | None) -> list[tuple[str, str, str, str]]:
    assert found is not None
    return [(f.entry_point.name, f.entry_point.value, f.distribution, f.version) for f in found]


ACME = """\
# written by hand, as a build backend would not
[console_scripts]
acme = acme.cli:main

[voice_usage]
acme = voice_usage_acme
; acme-eu = voice_usage_acme.eu:EuPlugin
acme-eu=voice_usage_acme.eu : EuPlugin.plugin  [fast, eu]

[pytest11]
acme = voice_usage_acme.testing
"""
OTHER = "[voice_usage]\n  other =  voice_usage_other:plugin \n"


def test_the_groups_entry_points_of_two_distributions_with_their_names_and_versions(tmp_path):
    dist_info(tmp_path / "a", "voice-usage-acme", "2.1.0", ACME)
    dist_info(tmp_path / "b", "Voice_Usage.Other", "0.3", OTHER)
    path = [str(tmp_path / "a"), str(tmp_path / "b")]
    expected = [
        ("acme", "voice_usage_acme", "voice-usage-acme", "2.1.0"),
        # A line starting with ';' is no comment to importlib.metadata: an entry point whose
        # name is the text before '='.
        ("; acme-eu", "voice_usage_acme.eu:EuPlugin", "voice-usage-acme", "2.1.0"),
        (
            "acme-eu",
            "voice_usage_acme.eu : EuPlugin.plugin  [fast, eu]",
            "voice-usage-acme",
            "2.1.0",
        ),
        ("other", "voice_usage_other:plugin", "Voice_Usage.Other", "0.3"),
    ]
    assert flat(read_entry_points("voice_usage", path)) == expected
    assert by_importlib("voice_usage", path) == expected
    assert flat(read_entry_points("console_scripts", path)) == [
        ("acme", "acme.cli:main", "voice-usage-acme", "2.1.0")
    ]
    assert flat(read_entry_points("nothing", path)) == []


def test_the_order_and_the_duplicates_are_importlib_metadatas(tmp_path):
    # One folder holding several distributions (listed in the file system's order), two versions
    # of one, and that folder twice on the path: importlib.metadata yields each every time.
    for name, version in [("zeta", "1"), ("alpha", "1"), ("mid", "1"), ("alpha", "2")]:
        dist_info(tmp_path, name, version, f"[voice_usage]\n{name} = plugin_{name}\n")
    (tmp_path / "not_metadata").mkdir()
    path = [str(tmp_path), str(tmp_path / "missing"), str(tmp_path)]
    found = flat(read_entry_points("voice_usage", path))
    assert len(found) == 8
    assert found == by_importlib("voice_usage", path)


def test_this_environment_is_read_as_importlib_metadata_reads_it():
    groups = {ep.group for dist in md.distributions() for ep in dist.entry_points}
    assert {"voice_usage", "console_scripts"} <= groups
    for group in groups:
        assert flat(read_entry_points(group)) == by_importlib(group, sys.path), group
    workspace = {f.entry_point.name: f.distribution for f in read_entry_points("voice_usage") or []}
    assert workspace["flireo"] == "voice-usage-flireo"


def test_a_value_loads_as_importlib_metadata_loads_it(monkeypatch):
    module = types.ModuleType("fake_acme_plugin")
    module.Outer = types.SimpleNamespace(inner="the object")  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fake_acme_plugin", module)
    for value in ("fake_acme_plugin : Outer.inner [extra]", "fake_acme_plugin:Outer.inner"):
        assert EntryPoint("acme", value, "voice_usage").load() == "the object"
        assert md.EntryPoint("acme", value, "voice_usage").load() == "the object"
    assert EntryPoint("acme", "fake_acme_plugin", "voice_usage").load() is module
    with pytest.raises(ModuleNotFoundError):
        EntryPoint("acme", "no_such_module_xyz", "voice_usage").load()


@pytest.mark.parametrize(
    ("entry_points", "metadata"),
    [
        pytest.param("[voice_usage]\nacme\n", None, id="a line without '='"),
        pytest.param("[other]\nacme\n[voice_usage]\nb = b\n", None, id="another group's line"),
        pytest.param("[voice_usage]\nacme = acme:\n", None, id="a value importlib cannot load"),
        pytest.param("[voice_usage]\na = a\n", "Metadata-Version: 2.1\nVersion: 1\n", id="no Name"),
        pytest.param(
            "[voice_usage]\na = a\n", "Name: voice-usage-\n acme\nVersion: 1\n", id="a folded Name"
        ),
        pytest.param("[voice_usage]\na = a\n", "Name voice-usage-acme\n", id="not a header"),
        pytest.param("[voice_usage]\na = a\n", "", id="an empty METADATA"),
    ],
)
def test_what_importlib_metadata_reads_otherwise_is_left_to_it(tmp_path, entry_points, metadata):
    dist_info(tmp_path, "voice-usage-acme", "1", entry_points, metadata)
    assert read_entry_points("voice_usage", [str(tmp_path)]) is None


def test_headers_are_read_as_email_reads_them(tmp_path):
    metadata = (
        "Metadata-Version: 2.1\nname:\tvoice-usage-acme\nVersion: 1.0 \nName: second\n"
        "Summary: a summary\n  folded on two lines\n\nVersion: the body, not a header\n"
    )
    dist_info(tmp_path, "voice-usage-acme", "1", "[voice_usage]\na = a\n", metadata)
    expected = [("a", "a", "voice-usage-acme", "1.0 ")]
    assert flat(read_entry_points("voice_usage", [str(tmp_path)])) == expected
    assert by_importlib("voice_usage", [str(tmp_path)]) == expected


def test_a_missing_metadata_file_is_left_to_importlib_metadata(tmp_path):
    info = dist_info(tmp_path, "voice-usage-acme", "1", "[voice_usage]\na = a\n")
    (info / "METADATA").unlink()  # importlib.metadata reads PKG-INFO then
    assert read_entry_points("voice_usage", [str(tmp_path)]) is None


def test_a_distribution_without_the_group_needs_no_metadata(tmp_path):
    info = dist_info(tmp_path, "other", "1", "[console_scripts]\nother = other:main\n")
    (info / "METADATA").unlink()
    (tmp_path / "plain-1.dist-info").mkdir()  # no entry_points.txt at all
    (tmp_path / "old.egg-info").write_text("Name: old\n")  # an egg-info file, not a folder
    assert read_entry_points("voice_usage", [str(tmp_path)]) == []
    assert by_importlib("voice_usage", [str(tmp_path)]) == []


def test_zips_eggs_odd_path_entries_and_other_finders_are_left_to_importlib_metadata(
    tmp_path, monkeypatch
):
    archive = tmp_path / "plugins.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("acme-1.dist-info/entry_points.txt", "[voice_usage]\na = a\n")
    assert read_entry_points("voice_usage", [str(archive)]) is None
    egg = tmp_path / "acme-1.egg"
    (egg / "EGG-INFO").mkdir(parents=True)
    assert read_entry_points("voice_usage", [str(egg)]) is None
    assert read_entry_points("voice_usage", [tmp_path]) is None  # a Path, not a string

    class Finder:
        @staticmethod
        def find_distributions(*args: object, **kwargs: object) -> list[object]:
            return []

    monkeypatch.setattr(sys, "meta_path", [Finder(), *sys.meta_path])
    assert read_entry_points("voice_usage", [str(tmp_path / "empty")]) is None


def test_an_entry_point_is_a_value():
    one = EntryPoint("acme", "voice_usage_acme", "voice_usage")
    assert one == EntryPoint("acme", "voice_usage_acme", "voice_usage")
    assert one != EntryPoint("acme", "voice_usage_acme", "other")
    assert len({one, EntryPoint("acme", "voice_usage_acme", "voice_usage")}) == 1
    assert repr(one) == "EntryPoint(name='acme', value='voice_usage_acme', group='voice_usage')"
