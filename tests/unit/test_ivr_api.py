"""HTTP API on an in-process aiohttp test server over a real CallStore."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from ivr.storage.call_store import CallStore
from ivr.web.api import build_app, turn_timings

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
T0 = 1_700_000_000.0  # stored times are UNIX floats


@pytest.fixture
def store(tmp_path):
    s = CallStore(tmp_path / "ivr.sqlite")
    s.call_started("call-a", caller="1000", started_at=T0)
    s.call_started("call-b", caller="2000", started_at=T0 + 60)
    s.add_turn("call-a", 1, node="main_menu", input_mode="speech", caller_text="我想查一下话费",
               intent="bill_enquiry", slots={"x": 1}, speech_start=T0 + 10.0,
               speech_end=T0 + 11.5, asr_done=T0 + 11.75, asr_seconds=0.2,
               reply_first_audio=T0 + 12.125)
    s.add_turn("call-a", 2, node="anything_else", input_mode="dtmf", dtmf="2")
    s.add_event("call-a", "turn", {"seq": 1}, ts=T0 + 12)
    s.call_ended("call-a", "completed")
    yield s
    s.close()


def _run(store: CallStore, body: Callable[[TestClient], Awaitable[Any]],
         health: dict[str, Any] | None = None) -> Any:
    async def main() -> Any:
        app = build_app(store, TOKEN, lambda: dict(health or {"active_calls": 0}))
        async with TestClient(TestServer(app)) as client:
            async with asyncio.timeout(10):
                return await body(client)

    return asyncio.run(main())


def test_health_needs_no_token(store):
    async def body(client):
        resp = await client.get("/api/health")
        return resp.status, await resp.json()

    status, data = _run(store, body, {"active_calls": 2, "max_calls": 4})
    assert status == 200
    assert data["status"] == "ok"
    assert (data["active_calls"], data["max_calls"]) == (2, 4)
    assert isinstance(data["time"], float)


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"},
                                     {"Authorization": TOKEN},
                                     {"Authorization": f"Basic {TOKEN}"},
                                     {"Authorization": f"Bearer {TOKEN}x"},
                                     {"Authorization": f"bearer {TOKEN.upper()}"}])
@pytest.mark.parametrize("path", ["/api/calls", "/api/calls/call-a", "/api/nothing"])
def test_token_required(store, headers, path):
    async def body(client):
        resp = await client.get(path, headers=headers)
        return resp.status, resp.headers.get("WWW-Authenticate"), await resp.json()

    status, challenge, data = _run(store, body)
    assert status == 401
    assert challenge == "Bearer"
    assert data == {"error": "missing or wrong bearer token"}


def test_list_calls(store):
    async def body(client):
        resp = await client.get("/api/calls", headers=AUTH)
        return resp.status, await resp.json()

    status, data = _run(store, body)
    assert status == 200
    assert (data["limit"], data["offset"]) == (50, 0)
    assert [c["id"] for c in data["calls"]] == ["call-b", "call-a"]  # newest first
    a = data["calls"][1]
    assert (a["status"], a["end_reason"], a["turn_count"], a["caller"]) == (
        "ended", "completed", 2, "1000")


def test_list_calls_query(store):
    async def body(client):
        out = []
        for query in ("status=active", "caller=1000", "limit=1&offset=1", "limit=0",
                      "limit=100000&offset=-3"):
            resp = await client.get(f"/api/calls?{query}", headers=AUTH)
            data = await resp.json()
            out.append((resp.status, [c["id"] for c in data["calls"]], data["limit"],
                        data["offset"]))
        return out

    assert _run(store, body) == [
        (200, ["call-b"], 50, 0),
        (200, ["call-a"], 50, 0),
        (200, ["call-a"], 1, 1),
        (200, ["call-b"], 1, 0),  # clamped to 1..500
        (200, ["call-b", "call-a"], 500, 0),
    ]


@pytest.mark.parametrize("query", ["limit=abc", "offset=1.5", "limit=10&offset=x"])
def test_bad_paging_is_400(store, query):
    async def body(client):
        resp = await client.get(f"/api/calls?{query}", headers=AUTH)
        return resp.status, await resp.json()

    assert _run(store, body) == (400, {"error": "limit and offset must be integers"})


def test_one_call_with_turn_timings(store):
    async def body(client):
        resp = await client.get("/api/calls/call-a", headers=AUTH)
        return resp.status, await resp.json()

    status, call = _run(store, body)
    assert status == 200
    assert call["id"] == "call-a"
    assert [t["seq"] for t in call["turns"]] == [1, 2]
    first, second = call["turns"]
    assert first["slots"] == {"x": 1}
    assert first["caller_text"] == "我想查一下话费"
    assert first["timings"] == {"speech_ms": 1500, "eos_to_asr_ms": 250,
                                "eos_to_reply_audio_ms": 625, "asr_ms": 200}
    assert second["timings"] == {"speech_ms": None, "eos_to_asr_ms": None,
                                 "eos_to_reply_audio_ms": None, "asr_ms": None}
    assert [(e["type"], e["data"]) for e in call["events"]] == [("turn", {"seq": 1})]


def test_unknown_call_is_404(store):
    async def body(client):
        resp = await client.get("/api/calls/nope", headers=AUTH)
        return resp.status, await resp.json()

    assert _run(store, body) == (404, {"error": "no such call"})


def test_turn_timings_rounding():
    turn = {"speech_start": 10.0, "speech_end": 10.0004, "asr_done": 10.0016,
            "reply_first_audio": None, "asr_seconds": 0.0456}
    assert turn_timings(turn) == {"speech_ms": 0, "eos_to_asr_ms": 1,
                                  "eos_to_reply_audio_ms": None, "asr_ms": 46}


def test_callbacks_listed_newest_first_and_filtered(store):
    store.add_callback("call-a", kind="callback", caller="1000", number="13800138000",
                       queue="general", reason="caller_request")
    store.add_callback("call-b", kind="voicemail", caller="2000", number="2000",
                       queue="urgent", reason="crisis", recording_path="/x.wav",
                       status="done")

    async def body(client):
        everything = await (await client.get("/api/callbacks", headers=AUTH)).json()
        pending = await (await client.get("/api/callbacks?status=pending", headers=AUTH)).json()
        anonymous = (await client.get("/api/callbacks")).status
        return everything, pending, anonymous

    everything, pending, anonymous = _run(store, body)
    assert [c["kind"] for c in everything["callbacks"]] == ["voicemail", "callback"]
    assert [(c["number"], c["status"]) for c in pending["callbacks"]] == [
        ("13800138000", "pending")]
    assert anonymous == 401


def test_workers_lists_the_live_workers(store):
    from ivr import workers

    workers.announce(store, "127.0.0.1:5070", "http://127.0.0.1:8081")

    async def body(client):
        assert (await client.get("/api/workers")).status == 401
        resp = await client.get("/api/workers", headers=AUTH)
        return await resp.json()

    listed = _run(store, body)["workers"]
    assert [(w["id"], w["http_url"]) for w in listed] == [("127.0.0.1:5070",
                                                           "http://127.0.0.1:8081")]
