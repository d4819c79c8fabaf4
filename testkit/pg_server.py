"""A throwaway PostgreSQL server for tests and benchmarks (Debian's PostgreSQL 15).

`PostgresServer(tmpdir)` runs `initdb` and `postgres` as the ``postgres`` system user when
started as root (PostgreSQL refuses to run as root), with a data directory under `tmpdir` (as
root: a fresh `ivr-pg-*` directory in the system temp directory, which the ``postgres`` user
can always reach), listening on 127.0.0.1 only (no unix socket), on a free TCP port, trust
authentication on loopback, and durability switched off (fsync off: a test server, never
production data). It is stopped by PID (SIGINT: fast shutdown) and its files removed, also
when a test fails::

    with PostgresServer(tmp_path) as pg:
        store = open_store(pg.url, default_path)
        fresh = pg.create_database("t1")  # a URL of an empty database
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from ivr.cluster.stop_child import stop_child
from telephony.ports import free_tcp_port

log = logging.getLogger("testkit.pg_server")

PG_BIN = Path(os.environ.get("IVR_PG_BIN", "/usr/lib/postgresql/15/bin"))
SUPERUSER = "ivr"


def available() -> bool:
    """Whether PostgreSQL's server binaries are installed (`scripts/setup --dev`)."""
    return (PG_BIN / "initdb").exists() and (PG_BIN / "postgres").exists()


class PostgresServer:
    """One private PostgreSQL cluster: `start()` → `url`, `stop()`; a context manager."""

    def __init__(self, tmpdir: Path | str, port: int | None = None) -> None:
        self._place(Path(tmpdir) / f"pg-{os.getpid()}-{time.monotonic_ns()}")
        self.port = port or 0
        self.proc: subprocess.Popen[bytes] | None = None

    def _place(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.log_path = root / "postgres.log"

    @property
    def url(self) -> str:
        """The URL of the default database (`ivr`)."""
        return self.database_url("ivr")

    def database_url(self, name: str) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{name}"

    @staticmethod
    def _user() -> dict[str, object]:
        """Popen arguments that drop root to the `postgres` user (so the PID is the server's)."""
        if os.geteuid() != 0:
            return {}
        return {"user": "postgres", "group": "postgres", "extra_groups": []}

    def start(self, timeout: float = 30.0) -> PostgresServer:
        if not available():
            raise RuntimeError(f"PostgreSQL is not installed in {PG_BIN} "
                               "(bash scripts/setup --dev installs it)")
        if os.geteuid() == 0:
            # The server user must reach its directory through every parent for the server's
            # whole life: not under pytest's private temp root, which any pytest process
            # starting later (a parallel worker) resets to 0700. A fresh directory in the
            # system temp directory instead (removed by stop()).
            self._place(Path(tempfile.mkdtemp(prefix="ivr-pg-")))
            shutil.chown(self.root, "postgres", "postgres")
        else:
            self.root.mkdir(parents=True)
        subprocess.run([str(PG_BIN / "initdb"), "-D", str(self.data),
                        "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8",
                        "--no-sync"], check=True, capture_output=True, timeout=120,
                       cwd=self.root, **self._user())  # type: ignore[call-overload]
        self.port = self.port or free_tcp_port()
        out = open(self.log_path, "ab")  # noqa: SIM115 - the server's log for its lifetime
        if os.geteuid() == 0:
            shutil.chown(self.log_path, "postgres", "postgres")
        self.proc = subprocess.Popen(
            [str(PG_BIN / "postgres"), "-D", str(self.data),
             "-c", "listen_addresses=127.0.0.1", "-p", str(self.port),
             # TCP only: a socket path under a deep pytest temp dir exceeds 107 bytes
             "-c", "unix_socket_directories=", "-c", "fsync=off",
             "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
             "-c", "max_connections=200"],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=self.root,
            **self._user())  # type: ignore[call-overload]
        out.close()
        try:
            self._wait_ready(timeout)
            self.create_database("ivr")
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout: float) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        while True:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"postgres exited: {self.log_tail()}")
            try:
                psycopg.connect(self.database_url("postgres"), connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"postgres not ready: {self.log_tail()}") from None
                time.sleep(0.05)

    def create_database(self, name: str) -> str:
        """Create an empty database `name`; returns its URL."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.database_url("postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
        return self.database_url(name)

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = 15.0) -> None:
        """Fast shutdown by PID (SIGKILL after `timeout`), then remove the files."""
        proc, self.proc = self.proc, None
        if proc is not None:
            stop_child(proc, timeout, signal.SIGINT, hung=lambda: log.warning(
                "postgres did not stop in %.0f s: killing it", timeout))
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
