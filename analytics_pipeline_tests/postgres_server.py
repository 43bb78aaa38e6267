"""A throwaway PostgreSQL server for tests and benchmarks: a real one, never a mock.

It runs the PostgreSQL server binaries found on the machine (``pg_ctl`` on ``PATH``, or Debian's
``/usr/lib/postgresql/<version>/bin``; ``.ci/run`` installs Debian's ``postgresql`` when neither is there)
with a fresh cluster in a temporary directory, listening on a free loopback port with password
authentication, so the tests exercise what users configure: a ``postgresql://user:password@host:port/db``
URL and libpq ``key=value`` strings. PostgreSQL refuses to run as root: as root the cluster belongs to,
and the server runs as, the ``postgres`` user (or ``nobody``).

Missing binaries are an error, never a skip: these tests are part of the suite on every machine.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg2
from psycopg2 import sql

SUPERUSER = "analytics"


def server_binaries() -> Path:
    """The folder holding ``initdb``, ``pg_ctl`` and ``postgres``."""
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(os.path.realpath(on_path)).parent
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name)
    )
    if versions:
        return versions[-1].parent
    raise RuntimeError(
        "PostgreSQL server binaries not found (no pg_ctl on PATH or in /usr/lib/postgresql/*/bin): "
        "install Debian's `postgresql` package (`.ci/run` does this on a fresh machine)"
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    """A PostgreSQL cluster of its own, started by :meth:`start` and removed by :meth:`stop`."""

    def __init__(self) -> None:
        self.host = "127.0.0.1"
        self.port = _free_port()
        self.user = SUPERUSER
        self.password = secrets.token_urlsafe(16)
        self._bin = server_binaries()
        self._root = Path(tempfile.mkdtemp(prefix="analytics-pg-"))
        self._data = self._root / "cluster"
        self._run_as: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            for name in ("postgres", "nobody"):
                with contextlib.suppress(KeyError):
                    self._run_as = pwd.getpwnam(name)
                    break

    def _command(self, *args: str) -> list[str]:
        if self._run_as is None:
            return list(args)
        return [
            "setpriv",
            f"--reuid={self._run_as.pw_uid}",
            f"--regid={self._run_as.pw_gid}",
            "--clear-groups",
            *args,
        ]

    def start(self) -> PostgresServer:
        self._root.chmod(0o755)
        pwfile = self._root / "pwfile"
        pwfile.write_text(self.password + "\n")
        if self._run_as is not None:
            os.chown(self._root, self._run_as.pw_uid, self._run_as.pw_gid)
            os.chown(pwfile, self._run_as.pw_uid, self._run_as.pw_gid)
        subprocess.run(
            self._command(
                str(self._bin / "initdb"),
                "-D", str(self._data),
                "-U", self.user,
                f"--pwfile={pwfile}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--no-sync",
            ),
            check=True,
            capture_output=True,
            cwd=self._root,
        )  # fmt: skip
        pwfile.unlink()
        options = (
            f"-h {self.host} -p {self.port} -k {self._root} -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c max_connections=200"
        )
        subprocess.run(
            self._command(
                str(self._bin / "pg_ctl"), "-D", str(self._data), "-l", str(self._root / "server.log"),
                "-o", options, "-w", "-t", "60", "start",
            ),
            check=True,
            capture_output=True,
            cwd=self._root,
        )  # fmt: skip
        return self

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError, FileNotFoundError):
            subprocess.run(
                self._command(str(self._bin / "pg_ctl"), "-D", str(self._data), "-m", "immediate", "stop"),
                check=True,
                capture_output=True,
                cwd=self._root,
            )
        shutil.rmtree(self._root, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def url(self, database: str = "postgres", *, password: str | None = None) -> str:
        """A ``postgresql://`` URL for ``database`` (with another ``password``, to test refusals)."""
        secret = self.password if password is None else password
        return f"postgresql://{self.user}:{secret}@{self.host}:{self.port}/{database}"

    def libpq(self, database: str = "postgres") -> str:
        """A libpq ``key=value`` connection string for ``database``."""
        return (
            f"host={self.host} port={self.port} user={self.user} password={self.password} dbname={database}"
        )

    def create_database(self, name: str | None = None) -> str:
        """A new, empty database; its name."""
        name = name or f"test_{secrets.token_hex(6)}"
        con = psycopg2.connect(self.url())
        try:
            con.autocommit = True
            with con.cursor() as cur:
                cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        finally:
            con.close()
        return name


@contextlib.contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """A started :class:`PostgresServer`, stopped and removed afterwards."""
    with PostgresServer() as server:
        yield server
