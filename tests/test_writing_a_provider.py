"""The worked example in docs/writing-a-provider.md, installed as a separate distribution and run.

The plugin's files are taken from the page's code blocks (each starts with a `# <path>` line), laid
out as an installed distribution (package + dist-info with its entry points), and used from fresh
interpreters: discovery goes through the `voice_usage` entry-point group, with no core change.
"""

import ast
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parent.parent / "docs" / "writing-a-provider.md"
BLOCK = re.compile(r"```(?:python|toml)\n# (?P<path>\S+)\n(?P<body>.*?)```", re.S)


def doc_files() -> dict[str, str]:
    return {m["path"]: m["body"] for m in BLOCK.finditer(DOC.read_text(encoding="utf-8"))}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    files = doc_files()
    root = tmp_path_factory.mktemp("site")
    project = tomllib.loads(files.pop("pyproject.toml"))["project"]
    for path, body in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(body, encoding="utf-8")
    dist_info = root / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n"
    )
    lines = [f"{name} = {value}" for name, value in project["entry-points"]["voice_usage"].items()]
    (dist_info / "entry_points.txt").write_text("[voice_usage]\n" + "\n".join(lines) + "\n")
    return root


def run(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.run(
        [sys.executable, *args],
        cwd=site,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_page_has_every_file_of_the_plugin():
    assert set(doc_files()) == {
        "pyproject.toml",
        "voice_usage_acme/__init__.py",
        "voice_usage_acme/emulator.py",
        "test_acme.py",
    }


def test_the_plugin_imports_only_the_public_plugin_modules():
    """A plugin needs `voice_usage.provider` and `voice_usage.testing`, nothing else of the core."""
    imported = set()
    for path, body in doc_files().items():
        if not path.endswith(".py"):
            continue
        for node in ast.walk(ast.parse(body)):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
    core = {name for name in imported if name.split(".")[0] == "voice_usage"}
    assert core == {"voice_usage.provider", "voice_usage.testing"}


def test_the_installed_plugin_appears_in_providers(site):
    result = run(site, "-m", "voice_usage", "providers", "--format", "json")
    assert result.returncode == 0, result.stderr
    providers = {p["name"]: p for p in json.loads(result.stdout)["providers"]}
    assert providers["acme"]["distribution"] == "voice-usage-acme"
    assert providers["acme"]["version"] == "0.1.0"
    assert {"flireo", "ultravox", "agentphone"} <= set(providers)


def test_the_plugins_own_tests_pass(site):
    result = run(site, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_acme.py")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_the_plugin_fetches_day_windows_through_the_cli(site):
    code = (
        "from voice_usage.emulator import EmulatorServer\n"
        "from voice_usage_acme.emulator import AcmeEmulator\n"
        "from voice_usage.cli import main\n"
        "import os\n"
        "with EmulatorServer(AcmeEmulator(api_key='k-123')) as s:\n"
        "    os.environ.update(ACME_API_KEY='k-123', ACME_BASE_URL=s.base_url + '/v1')\n"
        "    main(['fetch', 'acme', '--since', '2026-10-01', '--until', '2026-10-03', '--format', 'json'])\n"
    )
    result = run(site, "-c", code)
    assert result.returncode == 0, result.stderr
    days = json.loads(result.stdout)
    # calls at 0, 5, 10, 15, 20 h on 1 October (i = 0..4); 25 .. 45 h on 2 October (i = 5..9)
    assert [d["calls"] for d in days] == [5, 5]
    assert [d["duration_seconds"] for d in days] == [
        str(sum(30 + 7 * i for i in range(5))),
        str(sum(30 + 7 * i for i in range(5, 10))),
    ]
    assert days[0]["currency"] == "USD" and days[0]["cost_source"] == "reported"
