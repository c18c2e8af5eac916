import voice_usage


def test_all_is_sorted_and_complete():
    exported = voice_usage.__all__
    assert exported == sorted(exported)
    public = {
        name for name in vars(voice_usage) if not name.startswith("_") or name == "__version__"
    }
    modules = {"hookspecs", "cli", "emulator", "testing", "provider"}
    assert set(exported) == public - modules


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
