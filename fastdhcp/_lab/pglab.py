"""A PostgreSQL server of a test's own: Debian's PostgreSQL (15 on Debian 12) initialised into a
directory of the test (``initdb``), listening only on a unix socket in that directory and on
127.0.0.1 at a free port, with Kea's schema loaded by Debian's ``kea-admin db-init pgsql``;
stopped and removed by ``stop()``. Never the system cluster.

PostgreSQL refuses to run as root: as root, the server runs as the ``postgres`` user the
package creates (``runuser``), and the directory is handed to it.

    pg = Postgres(lab_dir / "pg").start()
    pg.kea_init()                        # Kea 2.2's schema, version 13.0
    pg.lease_database()                  # {"type": "postgresql", "name": ..., "host": ...}
    pg.sql("SELECT count(*) FROM lease4")
    pg.stop()
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

USER, PASSWORD, DATABASE = "kea", "kea-lab-secret", "kea"


class PgLabError(RuntimeError):
    pass


def bindir() -> Path:
    """The newest Debian PostgreSQL's programs (/usr/lib/postgresql/<major>/bin)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    if not found:
        raise PgLabError("PostgreSQL is not installed (Debian's postgresql package: .ci/setup "
                         "installs it)")
    return Path(found[-1]).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Postgres:
    def __init__(self, root: str | os.PathLike, *, port: int | None = None,
                 user: str = USER, password: str = PASSWORD, database: str = DATABASE):
        self.root = Path(root)
        self.data = self.root / "data"
        self.port = port or free_port()
        self.user, self.password, self.database = user, password, database
        self.bin = bindir()
        self.as_postgres = os.geteuid() == 0
        self.started = False

    # ---- the server -----------------------------------------------------------------------------

    def _run(self, argv: list, *, check: bool = True, timeout: float = 60, env=None,
             input: str | None = None) -> subprocess.CompletedProcess:
        if self.as_postgres:
            argv = ["runuser", "-u", "postgres", "--"] + [str(a) for a in argv]
        r = subprocess.run([str(a) for a in argv], capture_output=True, text=True,
                           timeout=timeout, env=env, input=input)
        if check and r.returncode != 0:
            raise PgLabError(f"{' '.join(map(str, argv))} failed ({r.returncode}):\n"
                             f"{r.stdout}{r.stderr}")
        return r

    def start(self) -> Postgres:
        self.root.mkdir(parents=True, exist_ok=True)
        if self.as_postgres:
            pw = pwd.getpwnam("postgres")
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
            os.chmod(self.root, 0o700)
        if not (self.data / "PG_VERSION").exists():
            self._run([self.bin / "initdb", "-D", self.data, "-U", "postgres", "--auth=trust",
                       "--no-sync", "-E", "UTF8"], timeout=120)
            with open(self.data / "pg_hba.conf", "w") as f:
                # the superuser over the socket only; the Kea user with its password on loopback
                f.write("local all postgres trust\n"
                        f"local all {self.user} scram-sha-256\n"
                        f"host all {self.user} 127.0.0.1/32 scram-sha-256\n")
        self._run([self.bin / "pg_ctl", "-D", self.data, "-w", "-t", "60", "-l",
                   self.root / "server.log", "-o",
                   f"-c listen_addresses=127.0.0.1 -c port={self.port} "
                   f"-c unix_socket_directories={self.root} -c fsync=on "
                   f"-c synchronous_commit=on -c max_connections=50", "start"], timeout=90)
        self.started = True
        if not self.sql_as_postgres(f"SELECT 1 FROM pg_roles WHERE rolname = '{self.user}'"):
            self.sql_as_postgres(f"CREATE ROLE {self.user} LOGIN PASSWORD '{self.password}'")
            self.sql_as_postgres(f"CREATE DATABASE {self.database} OWNER {self.user}")
        return self

    def stop(self, *, remove: bool = True) -> None:
        if self.started:
            self._run([self.bin / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "-t", "30",
                       "stop"], check=False, timeout=60)
            self.started = False
        pid_file = self.data / "postmaster.pid"
        if pid_file.exists():                 # (a server pg_ctl could not stop)
            try:
                os.kill(int(pid_file.read_text().split()[0]), signal.SIGKILL)
            except (OSError, ValueError):
                pass
        if remove:
            shutil.rmtree(self.root, ignore_errors=True)

    def kill(self) -> None:
        """The server killed (SIGKILL to the postmaster): an outage, not a shutdown."""
        pid = int((self.data / "postmaster.pid").read_text().split()[0])
        os.kill(pid, signal.SIGKILL)
        for _ in range(100):
            try:
                os.kill(pid, 0)
            except OSError:
                break
            time.sleep(0.05)
        self.started = False

    def restart(self) -> None:
        (self.data / "postmaster.pid").unlink(missing_ok=True)
        self.start()

    # ---- SQL ------------------------------------------------------------------------------------

    def sql_as_postgres(self, query: str, database: str = "postgres") -> list[list[str]]:
        r = self._run([self.bin / "psql", "-h", self.root, "-p", self.port, "-U", "postgres",
                       "-d", database, "-X", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                       "-c", query])
        return [line.split("\t") for line in r.stdout.splitlines() if line]

    def sql(self, query: str) -> list[list[str]]:
        """Rows of a query as the Kea user, over TCP (as kea-dhcp4 and fastdhcp connect)."""
        env = dict(os.environ, PGPASSWORD=self.password)
        r = subprocess.run([str(self.bin / "psql"), "-h", "127.0.0.1", "-p", str(self.port),
                            "-U", self.user, "-d", self.database, "-X", "-A", "-t", "-F", "\t",
                            "-v", "ON_ERROR_STOP=1", "-c", query],
                           capture_output=True, text=True, timeout=60, env=env)
        if r.returncode != 0:
            raise PgLabError(f"psql: {query!r} failed:\n{r.stderr}")
        return [line.split("\t") for line in r.stdout.splitlines() if line]

    def kea_init(self) -> None:
        """Kea's schema as Debian's kea-admin creates it (kea-admin db-init pgsql)."""
        env = dict(os.environ, PGPASSWORD=self.password)
        r = subprocess.run(["kea-admin", "db-init", "pgsql", "-u", self.user, "-p",
                            self.password, "-n", self.database, "-h", "127.0.0.1", "-P",
                            str(self.port)], capture_output=True, text=True, timeout=120,
                           env=env)
        if r.returncode != 0:
            raise PgLabError(f"kea-admin db-init pgsql failed:\n{r.stdout}{r.stderr}")

    def kea_lease_dump(self, path: str | os.PathLike) -> str:
        """kea-admin lease-dump pgsql -4 into ``path``; the CSV's text. (Kea 2.2's lease-dump
        does not pass -P on to psql: PGPORT says it.)"""
        env = dict(os.environ, PGPASSWORD=self.password, PGPORT=str(self.port))
        r = subprocess.run(["kea-admin", "lease-dump", "pgsql", "-4", "-u", self.user, "-p",
                            self.password, "-n", self.database, "-h", "127.0.0.1", "-P",
                            str(self.port), "-o", str(path)], capture_output=True, text=True,
                           timeout=120, env=env)
        if r.returncode != 0:
            raise PgLabError(f"kea-admin lease-dump failed:\n{r.stdout}{r.stderr}")
        return Path(path).read_text()

    def lease_database(self, *, tcp: bool = False, **extra) -> dict:
        """The lease-database entry of a Kea configuration for this server: over its unix
        socket by default (a directory as host: libpq's rule, which Kea passes on), which a
        server in another network namespace reaches too; ``tcp``: 127.0.0.1."""
        return {"type": "postgresql", "name": self.database,
                "host": "127.0.0.1" if tcp else str(self.root), "port": self.port,
                "user": self.user, "password": self.password, **extra}
