"""Fixtures shared by all test layers: the database backends.

- ``pg_server``: one real throwaway PostgreSQL server per test session (`testkit.pg_server`).
- ``db_url``: parametrised over ``sqlite`` and ``postgresql``; None for SQLite (the store's
  own file under `tmp_path`), else the URL of a fresh, empty PostgreSQL database. Open the
  store with ``open_store(db_url, tmp_path / "ivr.sqlite")``; a second ``open_store`` with the
  same arguments is a second worker process's view of the same data. For PostgreSQL the URL
  is also set in IVR_DATABASE_URL, so `ivr ...` commands run by the test use that database.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

import pytest

from testkit import pg_server

_databases = itertools.count(1)


@pytest.fixture(scope="session")
def pg_server_instance(tmp_path_factory: pytest.TempPathFactory
                       ) -> Iterator[pg_server.PostgresServer]:
    if not pg_server.available():  # as the browser tests: skip on a developer machine
        message = f"PostgreSQL is not installed in {pg_server.PG_BIN} (scripts/setup --dev)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    with pg_server.PostgresServer(tmp_path_factory.mktemp("pg")) as server:
        yield server


@pytest.fixture
def pg_url(pg_server_instance: pg_server.PostgresServer) -> str:
    """The URL of a fresh, empty PostgreSQL database."""
    return pg_server_instance.create_database(f"t{next(_databases)}")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str | None:
    """None (SQLite under tmp_path) or the URL of a fresh PostgreSQL database, then also in
    IVR_DATABASE_URL for the CLI commands a test runs."""
    if request.param == "sqlite":
        monkeypatch.delenv("IVR_DATABASE_URL", raising=False)
        return None
    url = str(request.getfixturevalue("pg_url"))
    monkeypatch.setenv("IVR_DATABASE_URL", url)
    return url
