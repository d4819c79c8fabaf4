"""Fixtures of the security tests: ``web_store``, the web app's database (tests/security/
web_app.py) with its agents, four calls (one of each agent's, two queued) and the users ada
(admin), sue (supervisor) and li (agent 8001)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ivr.escalation.agents import AgentDirectory
from ivr.storage.call_store import CallStore, open_store
from tests.security.web_app import AGENTS
from tests.web_helpers import make_user


@pytest.fixture
def web_store(tmp_path: Path, db_url: str | None) -> Iterator[CallStore]:
    s = open_store(db_url, tmp_path / "ivr.sqlite")
    AgentDirectory(s).sync(AGENTS)
    s.call_started("c-li", caller="13800138000", started_at=1.0, agent_id="8001")
    s.call_started("c-wang", caller="13900139000", started_at=2.0, agent_id="8002")
    s.call_started("c-q1", caller="13700137000", started_at=3.0)
    s.call_started("c-q2", caller="13600136000", started_at=4.0)
    make_user(s, "ada", "admin")
    make_user(s, "sue", "supervisor")
    make_user(s, "li", "agent", agent_id="8001")
    yield s
    s.close()
