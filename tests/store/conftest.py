"""A throwaway PostgreSQL cluster for the store tests, and the `store_url` both databases share.

The cluster comes from Debian's `postgresql` package: `initdb` and `pg_ctl` refuse to run as
root, so under root they run as the `postgres` user, in a temporary folder it owns, listening
on a loopback port with password authentication. Without the package the PostgreSQL half of
the tests is skipped, except in CI (`CI` set), where that is a failure.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


@dataclass(frozen=True)
class Cluster:
    host: str
    port: int
    user: str
    password: str

    def url(self, database: str = "postgres", password: str | None = None) -> str:
        secret = self.password if password is None else password
        return f"postgresql://{self.user}:{secret}@{self.host}:{self.port}/{database}"


def _binaries() -> Path | None:
    roots = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: p.parent)
    if roots:
        return roots[-1].parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _missing(reason: str) -> Any:
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL is required in CI: {reason}")
    pytest.skip(f"PostgreSQL not available: {reason}")


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    binaries = _binaries()
    if binaries is None:
        _missing("no initdb (apt-get install postgresql)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _missing("psycopg is not installed")
    run_as: dict[str, Any] = {}
    folder = Path(tempfile.mkdtemp(prefix="voice-usage-pg-"))
    if os.geteuid() == 0:
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            _missing("no postgres user to run the server as")
        os.chown(folder, account.pw_uid, account.pw_gid)
        run_as = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
    password = secrets.token_hex(12)
    (folder / "pw").write_text(password)
    if run_as:
        os.chown(folder / "pw", run_as["user"], run_as["group"])
    data, port = folder / "data", _free_port()
    quiet: dict[str, Any] = {"check": True, "capture_output": True, "cwd": folder, **run_as}
    subprocess.run(
        [
            binaries / "initdb",
            "-D",
            data,
            "-U",
            "postgres",
            "--pwfile",
            folder / "pw",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "-E",
            "UTF8",
            "--no-sync",
        ],
        **quiet,
    )
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        [binaries / "pg_ctl", "-D", data, "-o", options, "-l", folder / "log", "-w", "start"],
        **quiet,
    )
    try:
        yield Cluster("127.0.0.1", port, "postgres", password)
    finally:
        subprocess.run(
            [binaries / "pg_ctl", "-D", data, "-m", "immediate", "stop"],
            capture_output=True,
            cwd=folder,
            **run_as,
        )
        shutil.rmtree(folder, ignore_errors=True)


_databases = itertools.count(1)


@pytest.fixture
def postgres_url(postgres_cluster: Cluster) -> Iterator[str]:
    """A fresh, empty database on the throwaway cluster."""
    import psycopg

    name = f"vu_test_{os.getpid()}_{next(_databases)}"
    with psycopg.connect(postgres_cluster.url(), autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield postgres_cluster.url(name)
    finally:
        with (
            contextlib.suppress(Exception),
            psycopg.connect(postgres_cluster.url(), autocommit=True) as admin,
        ):
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test on a SQLite file and on a PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "usage.sqlite3")
    url: str = request.getfixturevalue("postgres_url")
    return url
