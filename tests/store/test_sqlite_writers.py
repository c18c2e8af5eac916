"""Writers of one SQLite file in one process queue on a lock, not on SQLite's polling busy handler."""

from __future__ import annotations

import threading

from voice_usage._store import open_store
from voice_usage._store._db import _writers_of


def _taken_elsewhere(lock: threading.RLock) -> bool:
    """Whether another thread holds ``lock`` (an RLock is always free to its holder)."""
    got: list[bool] = []

    def attempt() -> None:
        acquired = lock.acquire(timeout=0)
        got.append(acquired)
        if acquired:
            lock.release()

    thread = threading.Thread(target=attempt)
    thread.start()
    thread.join()
    return not got[0]


def test_one_lock_per_file_however_its_path_is_spelled(tmp_path):
    path = tmp_path / "usage.sqlite3"
    assert _writers_of(str(path)) is _writers_of(str(tmp_path / "." / "usage.sqlite3"))
    assert _writers_of(str(path)) is not _writers_of(str(tmp_path / "other.sqlite3"))


def test_a_write_transaction_holds_the_files_lock_until_it_ends(tmp_path):
    path = tmp_path / "usage.sqlite3"
    lock = _writers_of(str(path))
    with open_store(str(path)) as store:
        database = store._db
        assert not _taken_elsewhere(lock)
        with database.transaction():
            assert _taken_elsewhere(lock)
        assert not _taken_elsewhere(lock)
        try:
            with database.transaction():
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
        assert not _taken_elsewhere(lock)  # given back on a rollback too
