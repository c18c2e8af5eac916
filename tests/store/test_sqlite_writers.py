"""Writers of one process to one SQLite file queue on a lock of their own, not on SQLite's busy
handler, which polls with sleeps and leaves the file's write lock idle between them."""

from __future__ import annotations

import os

import pytest

from voice_usage._store._db import _writer_lock
from voice_usage._store._store import open_store


def test_one_lock_per_file_however_its_path_is_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert _writer_lock("usage.sqlite3") is _writer_lock(str(tmp_path / "usage.sqlite3"))
    assert _writer_lock("usage.sqlite3") is _writer_lock(f".{os.sep}usage.sqlite3")
    assert _writer_lock("usage.sqlite3") is not _writer_lock("other.sqlite3")


def test_a_write_transaction_holds_the_files_lock_and_gives_it_back(tmp_path):
    path = str(tmp_path / "usage.sqlite3")
    lock = _writer_lock(path)
    with open_store(path) as store:
        database = store._db
        with database.transaction():
            assert lock.locked()
        assert not lock.locked()
        with pytest.raises(RuntimeError), database.transaction():
            raise RuntimeError("rolled back")
        assert not lock.locked()  # given back on a rollback too
