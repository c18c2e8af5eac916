"""The suite's guard against real sleeps (`no_real_sleep` in conftest.py) catches what it says.

A copy of the suite's conftest runs a few probe tests in a separate pytest: a real sleep fails
its test from the main thread, another thread or the event loop; a short yield and a test marked
`real_time` pass.
"""

import shutil
import subprocess
import sys
from pathlib import Path

PROBES = """
import asyncio
import threading
import time

import pytest


def test_sleep_in_the_test():
    time.sleep(0.05)


def test_sleep_in_another_thread():
    thread = threading.Thread(target=time.sleep, args=(0.05,))
    thread.start()
    thread.join()


def test_sleep_on_the_event_loop():
    asyncio.run(asyncio.sleep(0.05))


def test_a_short_yield():
    time.sleep(0.001)
    asyncio.run(asyncio.sleep(0))


@pytest.mark.real_time("a probe that means to wait")
def test_marked():
    time.sleep(0.05)
"""


def test_a_real_sleep_fails_its_test_unless_marked(tmp_path: Path):
    shutil.copy(Path(__file__).with_name("conftest.py"), tmp_path / "conftest.py")
    (tmp_path / "test_probes.py").write_text(PROBES, encoding="utf-8")
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nmarkers =\n    real_time(reason): really waits\n", encoding="utf-8"
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rA", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    out = done.stdout
    for name in ("sleep_in_the_test", "sleep_in_another_thread", "sleep_on_the_event_loop"):
        assert f" ERROR at teardown of test_{name} " in out, out
    assert "really slept 1 time(s): 0.05 s in MainThread;" in out, out
    assert "really slept 1 time(s): 0.05 s in Thread-" in out, out
    for name in ("a_short_yield", "marked"):
        assert f"PASSED test_probes.py::test_{name}" in out, out
    assert "5 passed, 3 errors" in out, out
