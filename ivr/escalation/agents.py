"""Live agents and queues: who can take an escalated call, shared by every worker process.

Agents are SIP endpoints listed in configuration, grouped into queues and tagged with skills
(languages, topics). Their availability lives in shared storage, not in one worker's memory:
a worker claims an agent with one conditional UPDATE, so two workers can never hand two
callers to the same agent. Routing prefers an agent who speaks the caller's language and
knows the topic, then the one idle longest.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ivr.storage.call_store import CallStore

Status = Literal["available", "busy", "offline"]


class AgentConfig(BaseModel):
    """One agent: a SIP URI, the queues they serve, what they can handle."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="Extension or login, e.g. 8001.")
    name: str = Field("", description="Shown on the dashboard.")
    uri: str = Field(pattern=r"^sips?:", description="Where to call the agent.")
    queues: list[str] = Field(default_factory=lambda: ["general"], description="Queues served.")
    languages: list[str] = Field(
        default_factory=list, description="Languages/dialect profiles spoken (empty: any)."
    )
    topics: list[str] = Field(
        default_factory=list, description="Intents they specialise in (empty: any)."
    )
    password_hash: str = Field(
        "", description="Agent desktop sign-in (`ivr passwd` makes one); empty: cannot sign in."
    )


@dataclass(frozen=True)
class Agent:
    id: str
    name: str
    uri: str
    queues: tuple[str, ...]
    languages: tuple[str, ...]
    topics: tuple[str, ...]
    status: Status
    current_call: str | None
    since: float  # when the status last changed

    def speaks(self, language: str | None) -> bool:
        if not self.languages or not language:
            return True
        base = language.split("-")[0]
        return language in self.languages or any(
            lang.split("-")[0] == base for lang in self.languages)


@dataclass(frozen=True)
class RouteRequest:
    queue: str
    language: str | None = None
    topic: str | None = None  # the caller's intent
    exclude: frozenset[str] = field(default_factory=frozenset)  # agents that did not answer


class AgentDirectory:
    """Agents in shared storage (the `agents` table)."""

    def __init__(self, store: CallStore) -> None:
        self.db = store.db

    def sync(self, agents: Iterable[AgentConfig]) -> None:
        """Make the table match the configuration; statuses of known agents are kept,
        agents no longer configured are removed."""
        now = time.time()
        wanted = {a.id: a for a in agents}
        with self.db.conn:
            for row in list(self.db["agents"].rows):
                if row["id"] not in wanted:
                    self.db["agents"].delete(row["id"])
            for a in wanted.values():
                fields = {"name": a.name, "uri": a.uri, "queues": json.dumps(a.queues),
                          "languages": json.dumps(a.languages), "topics": json.dumps(a.topics)}
                if self.db["agents"].count_where("id = ?", [a.id]):
                    self.db["agents"].update(a.id, fields)
                else:
                    self.db["agents"].insert({"id": a.id, "status": "available",
                                              "current_call": None, "since": now, **fields})

    def all(self) -> list[Agent]:
        return [_agent(r) for r in self.db.query("select * from agents order by id")]

    def get(self, agent_id: str) -> Agent | None:
        rows = list(self.db.query("select * from agents where id = ?", [agent_id]))
        return _agent(rows[0]) if rows else None

    def set_status(self, agent_id: str, status: Status) -> None:
        with self.db.conn:
            self.db.execute(
                "update agents set status = ?, since = ?, current_call = null where id = ?",
                [status, time.time(), agent_id])

    def candidates(self, req: RouteRequest) -> list[Agent]:
        """Available agents of the queue who speak the language, best first: topic
        specialists, then the longest idle."""
        able = [a for a in self.all() if a.status == "available" and req.queue in a.queues
                and a.speaks(req.language) and a.id not in req.exclude]
        return sorted(able, key=lambda a: (not (req.topic and req.topic in a.topics), a.since))

    def claim(self, req: RouteRequest, call_id: str) -> Agent | None:
        """Reserve the best available agent for `call_id` (atomic across processes), or
        None when nobody can take the call now."""
        for agent in self.candidates(req):
            if claimed := self.claim_agent(agent.id, call_id):
                return claimed
        return None

    def claim_agent(self, agent_id: str, call_id: str) -> Agent | None:
        """Reserve this agent if still available (one conditional UPDATE: two workers can
        never both win)."""
        with self.db.conn:
            cur = self.db.execute(
                "update agents set status = 'busy', current_call = ?, since = ? "
                "where id = ? and status = 'available'", [call_id, time.time(), agent_id])
        return self.get(agent_id) if cur.rowcount == 1 else None

    def release(self, agent_id: str, call_id: str | None = None) -> None:
        """The agent is free again (only if still on `call_id`, when given)."""
        sql = "update agents set status = 'available', current_call = null, since = ? where id = ?"
        args: list[object] = [time.time(), agent_id]
        if call_id is not None:
            sql += " and current_call = ?"
            args.append(call_id)
        with self.db.conn:
            self.db.execute(sql, args)

    def release_stale(self) -> int:
        """Agents left busy with a call that has ended (a worker crashed mid-handover) are
        made available again; returns how many."""
        with self.db.conn:
            cur = self.db.execute(
                "update agents set status = 'available', current_call = null, since = ? "
                "where status = 'busy' and (current_call is null or current_call not in "
                "(select id from calls where status = 'active'))", [time.time()])
        return cur.rowcount

    def waiting(self, queue: str) -> int:
        """Callers of `queue` waiting for an agent now (every worker's)."""
        row = self.db.execute(
            "select count(*) from calls where status = 'active' and waiting_queue = ?",
            [queue]).fetchone()
        return int(row[0])

    def queue_position(self, queue: str, waiting_since: float) -> int:
        """1 + the callers of `queue` waiting longer than this one (from call events)."""
        rows = self.db.execute(
            "select count(*) from calls where status = 'active' and waiting_queue = ? "
            "and waiting_since < ?", [queue, waiting_since]).fetchone()
        return int(rows[0]) + 1


def _agent(row: dict[str, object]) -> Agent:
    return Agent(
        id=str(row["id"]), name=str(row["name"] or ""), uri=str(row["uri"]),
        queues=tuple(json.loads(str(row["queues"] or "[]"))),
        languages=tuple(json.loads(str(row["languages"] or "[]"))),
        topics=tuple(json.loads(str(row["topics"] or "[]"))),
        status=row["status"],  # type: ignore[arg-type]
        current_call=row["current_call"] if row["current_call"] else None,  # type: ignore[arg-type]
        since=float(row["since"] or 0.0),  # type: ignore[arg-type]
    )
