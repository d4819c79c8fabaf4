"""Agents and queues in shared storage: configuration sync, skill routing, and atomic
claims that two worker processes cannot both win."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from ivr.escalation.agents import AgentConfig, AgentDirectory, RouteRequest
from ivr.storage.call_store import open_store

AGENTS = [
    AgentConfig(id="8001", name="Li", uri="sip:8001@127.0.0.1:5070", queues=["general"],
                languages=["zh-CN", "yue"], topics=["bill_enquiry"]),
    AgentConfig(id="8002", name="Wang", uri="sip:8002@127.0.0.1:5071",
                queues=["general", "urgent"], languages=["zh-CN"]),
    AgentConfig(id="8003", name="Smith", uri="sip:8003@127.0.0.1:5072", queues=["general"],
                languages=["en-US"]),
]


@pytest.fixture
def db_path(tmp_path: Path, db_url: str | None) -> str:
    """Where the store is: a SQLite file or a PostgreSQL database, as a database URL."""
    return db_url or f"sqlite:///{tmp_path}/ivr.sqlite"


@pytest.fixture
def directory(db_path: str, tmp_path: Path) -> AgentDirectory:
    d = AgentDirectory(open_store(db_path, tmp_path / "ivr.sqlite"))
    d.sync(AGENTS)
    return d


def test_sync_adds_updates_and_removes_but_keeps_status(directory: AgentDirectory) -> None:
    assert [a.id for a in directory.all()] == ["8001", "8002", "8003"]
    directory.set_status("8002", "offline")
    renamed = AGENTS[1].model_copy(update={"name": "Wang Fang"})
    directory.sync([AGENTS[0], renamed])
    agents = {a.id: a for a in directory.all()}
    assert set(agents) == {"8001", "8002"}
    assert agents["8002"].name == "Wang Fang" and agents["8002"].status == "offline"
    assert agents["8001"].queues == ("general",) and agents["8001"].languages == ("zh-CN", "yue")


def test_routing_by_queue_language_and_topic(directory: AgentDirectory) -> None:
    ids = lambda **kw: [a.id for a in directory.candidates(RouteRequest(**kw))]  # noqa: E731
    assert ids(queue="urgent") == ["8002"]
    assert ids(queue="general", language="en-US") == ["8003"]
    assert ids(queue="general", language="en-GB") == ["8003"]  # same base language
    assert ids(queue="general", language="yue")[0] == "8001"
    assert ids(queue="general", language="zh-CN", topic="bill_enquiry")[0] == "8001"
    assert ids(queue="general", language="zh-CN", exclude=frozenset({"8001"})) == ["8002"]
    assert ids(queue="nowhere") == []


def test_longest_idle_first_among_equals(directory: AgentDirectory) -> None:
    directory.set_status("8002", "available")
    time.sleep(0.01)
    directory.set_status("8001", "available")  # 8002 has now been idle longer
    assert [a.id for a in directory.candidates(RouteRequest("general", "zh-CN"))] == [
        "8002", "8001"]


def test_busy_and_offline_agents_are_not_offered(directory: AgentDirectory) -> None:
    directory.set_status("8003", "offline")
    assert directory.claim(RouteRequest("general", "en-US"), "call-1") is None
    directory.set_status("8003", "available")
    agent = directory.claim(RouteRequest("general", "en-US"), "call-1")
    assert agent is not None and agent.status == "busy" and agent.current_call == "call-1"
    assert directory.claim(RouteRequest("general", "en-US"), "call-2") is None


def test_two_workers_cannot_claim_the_same_agent(db_path: str, tmp_path: Path,
                                                directory: AgentDirectory):
    other = AgentDirectory(open_store(db_path, tmp_path / "ivr.sqlite"))  # another worker
    req = RouteRequest("urgent", "zh-CN")
    seen_by_other = other.candidates(req)  # both see 8002 as available...
    assert [a.id for a in seen_by_other] == ["8002"]
    won = directory.claim(req, "call-A")  # ...the first claim wins
    lost = other.claim(req, "call-B")
    assert won is not None and won.id == "8002" and lost is None
    assert other.get("8002").current_call == "call-A"  # type: ignore[union-attr]


def test_release_only_for_the_call_the_agent_has(directory: AgentDirectory) -> None:
    directory.claim(RouteRequest("urgent"), "call-A")
    directory.release("8002", "call-B")  # a stale release from another call
    assert directory.get("8002").status == "busy"  # type: ignore[union-attr]
    directory.release("8002", "call-A")
    agent = directory.get("8002")
    assert agent is not None and agent.status == "available" and agent.current_call is None


def test_agent_config_validation() -> None:
    with pytest.raises(ValidationError):
        AgentConfig(id="1", uri="http://not-sip")
    with pytest.raises(ValidationError):
        AgentConfig(id="1", uri="sip:1@h", skills=["x"])  # unknown field
    assert AgentConfig(id="1", uri="sip:1@h").queues == ["general"]
