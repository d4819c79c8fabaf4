"""Fixtures shared by the unit tests:

- the stores of the calls `call_runner.run_call` ran are closed after each test;
- ``desk_store`` and ``desk_worker``: the live-agent desk's database (tests/unit/desk_app.py)
  and a second connection to it, as the IVR worker handling the call has;
- the vectors of dialplan texts (intent examples, knowledge questions) are cached on disk
  where the service keeps them (`Settings.meaning_cache`), so the hotline's ~1,300 texts are
  embedded once per machine, not once per test session (about 25 s).

Every unit test loads this file: it imports the call runner (about 1 s: the whole session)
and the desk (aiohttp, two password hashes) only where a test uses them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ivr.escalation.agents import AgentDirectory
from ivr.storage.call_store import CallStore, open_store


@pytest.fixture(autouse=True, scope="session")
def _shared_meaning_cache() -> None:
    from ivr.config import load_settings
    from ivr.understanding.text_vectors import use_disk_cache

    use_disk_cache(load_settings().meaning_cache)


@pytest.fixture(autouse=True)
def _close_call_runner_stores() -> Iterator[None]:
    yield
    call_runner = sys.modules.get("tests.unit.call_runner")
    if call_runner is not None:  # else no test has run a call yet
        call_runner.close_stores()


@pytest.fixture
def desk_store(tmp_path: Path, db_url: str | None) -> Iterator[CallStore]:
    """The desk's database: its agents, an earlier call of 13800138000 and two calls
    the IVR has stored (tests/unit/desk_app.py)."""
    from tests.unit.desk_app import AGENTS, T0, add_call

    s = open_store(db_url, tmp_path / "ivr.sqlite")
    AgentDirectory(s).sync(AGENTS)
    s.call_started("old-1", caller="13800138000", started_at=T0, language="zh-CN")
    s.call_ended("old-1", "caller_hangup")
    add_call(s, "call-1")
    add_call(s, "call-2", caller="13900000000", started=T0 + 200)
    yield s
    s.close()


@pytest.fixture
def desk_worker(desk_store: CallStore) -> Iterator[CallStore]:
    """Another connection to the same database: the IVR worker handling the call."""
    other = open_store(desk_store.url, desk_store.path)
    yield other
    other.close()
