"""The desk's live event stream (SSE): the call card delivered when the IVR claims the agent
from another connection, as another worker would, then its updates (ringing, the LLM summary,
connected, ended); keepalives, the end of the stream on shutdown, and the per-agent cap."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient, TestServer

from ivr.escalation.agents import AgentDirectory
from ivr.storage.call_store import CallStore
from ivr.web import desk as desk_module
from ivr.web.desk import add_desk_routes
from tests.unit.desk_app import AGENTS, ONLY_8001, SECRET, run, sign_in

LLM_TEXT = "来电者宽带故障，已三次来电。"


async def next_event(resp: ClientResponse) -> tuple[str, Any]:
    """The next `event:` of a text/event-stream (comments and retry lines skipped)."""
    while True:
        block = (await resp.content.readuntil(b"\n\n")).decode()
        fields = dict(line.split(": ", 1) for line in block.strip().split("\n")
                      if line and not line.startswith(":") and ": " in line)
        if "event" in fields:
            return fields["event"], json.loads(fields["data"])


def test_stream_delivers_the_call_card_when_the_ivr_claims_the_agent(
        desk_store: CallStore, desk_worker: CallStore) -> None:
    async def body(client: TestClient) -> Any:
        await sign_in(client)
        resp = await client.get("/desk/api/events")
        seen = [(resp.status, resp.headers["Content-Type"])]
        seen.append(await next_event(resp))  # status: available
        directory = AgentDirectory(desk_worker)
        directory.claim(ONLY_8001, "call-1")
        seen.append(await next_event(resp))  # status: busy
        seen.append(await next_event(resp))  # call
        desk_worker.add_event("call-1", "agent_ringing", {"agent_id": "8001"})
        seen.append(await next_event(resp))
        desk_worker.add_event("call-1", "escalation_summary_llm", {"text": LLM_TEXT})
        seen.append(await next_event(resp))
        desk_worker.update_call("call-1", agent_id="8001", queue_wait_s=12.5)
        desk_worker.add_event("call-1", "agent_connected", {"agent_id": "8001"})
        seen.append(await next_event(resp))
        desk_worker.call_ended("call-1", "caller_hangup")
        directory.release("8001", "call-1")
        seen.append(await next_event(resp))
        seen.append(await next_event(resp))
        resp.close()
        return seen

    seen = run(desk_store, body, poll_s=0.02)
    assert seen[0] == (200, "text/event-stream; charset=utf-8")
    assert seen[1] == ("status", {"status": "available", "current_call": None,
                                  "since": seen[1][1]["since"]})
    assert seen[2][0] == "status" and seen[2][1]["status"] == "busy"
    kind, card = seen[3]
    assert kind == "call"
    assert card["call"]["id"] == "call-1" and card["call"]["caller"] == "13800138000"
    assert card["phase"] == "assigned" and card["summary_source"] == "ivr"
    assert card["summary"]["intent"] == "broadband_fault"
    assert card["summary"]["intent_label"] == "报修宽带故障"
    assert card["escalation"]["reason"] == "caller_request"
    assert "我已经打了三次了，转人工！" in card["summary"]["key_utterances"]
    assert card["text"].startswith("来电13800138000")
    assert [line["speaker"] for line in card["transcript"]] == [
        "caller", "ivr", "caller", "ivr"]
    assert card["transcript"][0]["text"] == "我的宽带又坏了"
    assert [(p["seq"], p["anger"]) for p in card["emotion"]] == [(1, 0.42), (2, 0.81)]
    assert [c["id"] for c in card["earlier_calls"]] == ["old-1"]
    assert card["earlier_count"] == 1 and card["llm_text"] is None
    assert seen[4][0] == "update" and seen[4][1]["phase"] == "ringing"
    assert seen[5][0] == "update" and seen[5][1]["card"]["llm_text"] == LLM_TEXT
    assert seen[6][0] == "update" and seen[6][1]["phase"] == "connected"
    assert seen[6][1]["queue_wait_s"] == 12.5 and "card" not in seen[6][1]
    rest = dict(seen[7:])
    assert rest["update"]["phase"] == "ended" and rest["update"]["status"] == "ended"
    assert rest["status"] == {"status": "available", "current_call": None,
                              "since": rest["status"]["since"]}


def test_stream_sends_keepalives_and_ends_on_shutdown(desk_store: CallStore,
                                                      monkeypatch) -> None:
    monkeypatch.setattr(desk_module, "KEEPALIVE_S", 0.05)

    async def main() -> Any:
        app = web.Application()
        add_desk_routes(app, desk_store, AGENTS, SECRET, poll_s=0.02)
        server = TestServer(app)
        client = TestClient(server)
        await client.start_server()
        await sign_in(client)
        resp = await client.get("/desk/api/events")
        await next_event(resp)
        comment = await resp.content.readuntil(b"\n\n")
        loop = asyncio.get_running_loop()
        started = loop.time()
        await server.close()  # runs on_shutdown: the open stream must end promptly
        closed_in = loop.time() - started
        rest = await resp.content.read()
        await client.close()
        return comment, closed_in, rest

    comment, closed_in, rest = asyncio.run(main())
    assert comment == b": keepalive\n\n"
    assert closed_in < 3.0
    assert b"event:" not in rest


def test_too_many_streams_for_one_agent(desk_store: CallStore, monkeypatch) -> None:
    monkeypatch.setattr(desk_module, "MAX_STREAMS_PER_AGENT", 2)

    async def body(client: TestClient) -> Any:
        await sign_in(client)
        first = await client.get("/desk/api/events")
        second = await client.get("/desk/api/events")
        await next_event(first)
        await next_event(second)
        third = await client.get("/desk/api/events")
        statuses = [first.status, second.status, third.status]
        first.close()
        second.close()
        return statuses

    assert run(desk_store, body, poll_s=0.02) == [200, 200, 429]
