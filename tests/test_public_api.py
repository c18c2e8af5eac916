import subprocess
import sys

import voice_usage


def test_all_is_sorted_and_complete():
    exported = voice_usage.__all__
    assert exported == sorted(exported)
    public = {
        name for name in vars(voice_usage) if not name.startswith("_") or name == "__version__"
    }
    modules = {"hookspecs", "cli", "emulator", "testing", "provider"}
    lazy = {"run_demo"}  # loaded on first use: see test_importing_the_package_stays_light
    assert set(exported) == (public - modules) | lazy


def test_importing_the_package_stays_light():
    code = (
        "import sys, voice_usage\n"
        "heavy = [m for m in ('http.server', 'voice_usage.cli', 'voice_usage.emulator')"
        " if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "voice_usage.run_demo\n"
        "assert 'voice_usage.cli' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_exported_name_exists():
    for name in voice_usage.__all__:
        assert getattr(voice_usage, name) is not None, name


def test_exception_tree_has_one_root():
    for name in voice_usage.__all__:
        obj = getattr(voice_usage, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, voice_usage.VoiceUsageError), name


def test_the_plugin_api_is_sorted_and_complete():
    from voice_usage import provider

    exported = provider.__all__
    assert exported == sorted(exported)
    public = {name for name in vars(provider) if not name.startswith("_")}
    assert set(exported) == public
