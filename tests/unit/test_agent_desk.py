"""The live-agent desktop over an in-process aiohttp server and a real CallStore: sign-in,
cookies, rate limit, status, the SSE stream that delivers the call card when the IVR claims
the agent (from another connection, as another worker would), access control and outcomes."""

from __future__ import annotations

import asyncio
import io
import json
import stat
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient, TestServer

from ivr import cli
from ivr.escalation.agents import AgentConfig, AgentDirectory, RouteRequest
from ivr.escalation.summary import render_text, summarise
from ivr.storage.call_store import CallStore, open_store
from ivr.web import desk as desk_module
from ivr.web.api import build_app
from ivr.web.auth import (
    SessionSigner,
    SignInLimiter,
    hash_password,
    load_or_create_secret,
    verify_password,
)
from ivr.web.desk import add_desk_routes
from ivr.web.passwords import needs_rehash
from tests.web_helpers import legacy_scrypt_hash

TOKEN = "api-token"
SECRET = b"0123456789abcdef0123456789abcdef"
T0 = 1_700_000_000.0
PASSWORDS = {"8001": "li-secret", "8002": "wang-secret"}
AGENTS = [
    AgentConfig(id="8001", name="Li", uri="sip:8001@127.0.0.1:5070",
                password_hash=hash_password(PASSWORDS["8001"])),
    AgentConfig(id="8002", name="Wang", uri="sip:8002@127.0.0.1:5071",
                password_hash=hash_password(PASSWORDS["8002"])),
    AgentConfig(id="8003", name="Nopass", uri="sip:8003@127.0.0.1:5072"),
]
LLM_TEXT = "来电者宽带故障，已三次来电。"
ONLY_8001 = RouteRequest("general", exclude=frozenset({"8002", "8003"}))


def add_call(store: CallStore, call_id: str, *, caller: str = "13800138000",
             started: float = T0 + 100, summary: bool = True) -> None:
    """A call as the IVR stores it: Mandarin turns with emotion, then the escalation
    summary event."""
    store.call_started(call_id, caller=caller, started_at=started, language="zh-CN",
                       dialplan="hotline")
    store.add_turn(call_id, 1, node="main_menu", input_mode="speech",
                   caller_text="我的宽带又坏了", outcome="match", intent="broadband_fault",
                   prompt="请说出您的宽带账号。",
                   emotion={"anger": 0.42, "distress": 0.1, "label": "angry", "cues": []})
    store.add_turn(call_id, 2, node="ask_account", input_mode="speech",
                   caller_text="我已经打了三次了，转人工！", outcome="match", intent="agent",
                   prompt="好的，正在为您转接人工客服。",
                   emotion={"anger": 0.81, "distress": 0.2, "label": "angry",
                            "cues": ["repeat_contact"]})
    store.add_event(call_id, "transfer", {"target": "queue:general",
                                          "reason": "caller_request"})
    if summary:
        call = store.get_call(call_id)
        assert call is not None
        s = summarise(call, store.list_calls(caller=caller), None)
        store.add_event(call_id, "escalation_summary",
                        {**s.as_dict(), "text": render_text(s, "zh-CN"),
                         "whisper": render_text(s, "zh-CN", whisper=True)})


@pytest.fixture
def store(tmp_path: Path, db_url: str | None):
    s = open_store(db_url, tmp_path / "ivr.sqlite")
    AgentDirectory(s).sync(AGENTS)
    s.call_started("old-1", caller="13800138000", started_at=T0, language="zh-CN")
    s.call_ended("old-1", "caller_hangup")
    add_call(s, "call-1")
    add_call(s, "call-2", caller="13900000000", started=T0 + 200)
    yield s
    s.close()


@pytest.fixture
def worker(store: CallStore):
    """Another connection to the same database: the IVR worker handling the call."""
    other = open_store(store.url, store.path)
    yield other
    other.close()


def run(store: CallStore, body: Callable[[TestClient], Awaitable[Any]], *,
        poll_s: float | None = None) -> Any:
    async def main() -> Any:
        if poll_s is None:
            app = build_app(store, TOKEN, lambda: {}, desk_agents=AGENTS, desk_secret=SECRET)
        else:
            app = web.Application()
            add_desk_routes(app, store, AGENTS, SECRET, poll_s=poll_s)
        async with TestClient(TestServer(app)) as client:
            async with asyncio.timeout(20):
                return await body(client)

    return asyncio.run(main())


async def sign_in(client: TestClient, agent: str = "8001",
                  password: str | None = None) -> ClientResponse:
    return await client.post("/desk/login", json={
        "agent": agent, "password": PASSWORDS.get(agent, "x") if password is None else password})


async def next_event(resp: ClientResponse) -> tuple[str, Any]:
    """The next `event:` of a text/event-stream (comments and retry lines skipped)."""
    while True:
        block = (await resp.content.readuntil(b"\n\n")).decode()
        fields = dict(line.split(": ", 1) for line in block.strip().split("\n")
                      if line and not line.startswith(":") and ": " in line)
        if "event" in fields:
            return fields["event"], json.loads(fields["data"])


# ---------------------------------------------------------------------------- auth module
def test_hash_and_verify_round_trip() -> None:
    stored = hash_password("口令 pass-1")
    assert stored.startswith("$argon2id$") and not needs_rehash(stored)
    assert verify_password("口令 pass-1", stored)
    assert not verify_password("口令 pass-2", stored)
    assert hash_password("口令 pass-1") != stored  # salted
    for bad in ("", "plain", "$argon2id$v=19$m=65536,t=3,p=4$bad", "bcrypt$x"):
        assert not verify_password("口令 pass-1", bad)


def test_old_scrypt_hashes_still_verify_within_bounds() -> None:
    """What `ivr passwd` printed before argon2: accepted, bounded, and due for a rehash."""
    stored = legacy_scrypt_hash("口令 pass-1")
    digest = stored.rsplit("$", 1)[1]
    assert verify_password("口令 pass-1", stored) and needs_rehash(stored)
    assert not verify_password("口令 pass-2", stored)
    for bad in ("scrypt$16384$8$1$abc",
                "scrypt$16383$8$1$c2FsdHNhbHRzYWx0c2FsdA$" + digest,  # N not a power of 2
                "scrypt$1073741824$8$1$c2FsdHNhbHRzYWx0c2FsdA$" + digest,  # too costly
                "scrypt$16384$8$1$!!$" + digest):
        assert not verify_password("口令 pass-1", bad)


def test_session_tokens_are_signed_and_expire() -> None:
    now = [T0]
    signer = SessionSigner(SECRET, ttl_s=60, clock=lambda: now[0])
    token = signer.issue("8001:x", "agent")
    principal = signer.verify(token, "agent")
    assert principal is not None and (principal.id, principal.role) == ("8001:x", "agent")
    assert signer.verify(token, "supervisor") is None
    assert SessionSigner(b"another-secret-of-32-bytes------", clock=lambda: now[0]).verify(
        token) is None
    body, sig = token.split(".")
    assert signer.verify(f"{body}.{sig[:-1]}{'A' if sig[-1] != 'A' else 'B'}") is None
    forged = SessionSigner(b"x" * 32, clock=lambda: now[0]).issue("8002", "agent")
    assert signer.verify(f"{forged.split('.')[0]}.{sig}") is None
    for junk in (None, "", "a.b.c", "!!!.???", "nodot"):
        assert signer.verify(junk) is None
    now[0] += 61
    assert signer.verify(token) is None


def test_sign_in_limiter_window() -> None:
    now = [0.0]
    limiter = SignInLimiter(max_failures=3, window_s=60, clock=lambda: now[0])
    for _ in range(3):
        assert limiter.retry_after("a") == 0
        limiter.failed("a")
    assert limiter.retry_after("a") == pytest.approx(60)
    assert limiter.retry_after("b") == 0
    now[0] = 61
    assert limiter.retry_after("a") == 0
    limiter.failed("a")
    limiter.succeeded("a")
    assert limiter.retry_after("a") == 0


def test_secret_file_is_private_and_stable(tmp_path: Path) -> None:
    path = tmp_path / "data" / "web_secret"
    first = load_or_create_secret(path)
    assert len(first) == 32 and load_or_create_secret(path) == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_passwd_cli_reads_stdin(monkeypatch, capsys) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("s3cret 口令\n"))
    assert cli.main(["passwd", "--stdin"]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("$argon2id$") and verify_password("s3cret 口令", out)
    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))
    assert cli.main(["passwd", "--stdin"]) == 2


# ---------------------------------------------------------------------------- sign-in
def test_page_and_sign_in_sets_a_strict_cookie(store: CallStore) -> None:
    AgentDirectory(store).set_status("8001", "offline")

    async def body(client: TestClient) -> Any:
        page = await client.get("/desk")
        before = await page.text()
        resp = await sign_in(client)
        cookie = resp.headers["Set-Cookie"]
        after = await (await client.get("/desk")).text()
        me = await (await client.get("/desk/api/me")).json()
        js = await client.get("/desk/static/desk.js")
        return (page.status, page.headers, before, resp.status, cookie, after, me,
                js.status)

    status, headers, before, login, cookie, after, me, js = run(store, body)
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert 'data-signed-in="no"' in before and 'data-signed-in="yes"' in after
    assert login == 200
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/desk" in cookie
    assert "Max-Age=43200" in cookie
    assert (me["id"], me["name"], me["status"], me["queues"]) == (
        "8001", "Li", "available", ["general"])  # offline agents become available
    assert js == 200


def test_form_sign_in_redirects_to_the_desk(store: CallStore) -> None:
    async def body(client: TestClient) -> Any:
        resp = await client.post("/desk/login", data={"agent": "8002",
                                                      "password": PASSWORDS["8002"]},
                                 allow_redirects=False)
        me = await client.get("/desk/api/me")
        return resp.status, resp.headers["Location"], (await me.json())["id"]

    assert run(store, body) == (303, "/desk", "8002")


@pytest.mark.parametrize(("agent", "password", "status"), [
    ("8001", "wrong", 401), ("9999", "anything", 401), ("8003", "", 400),
    ("8003", "anything", 401),  # no password_hash: cannot sign in
    ("", "x", 400)])
def test_bad_sign_in(store: CallStore, agent: str, password: str, status: int) -> None:
    async def body(client: TestClient) -> Any:
        resp = await sign_in(client, agent, password)
        me = await client.get("/desk/api/me")
        return resp.status, "Set-Cookie" in resp.headers, me.status

    assert run(store, body) == (status, False, 401)


def test_failed_sign_ins_are_rate_limited(store: CallStore) -> None:
    async def body(client: TestClient) -> Any:
        statuses = [(await sign_in(client, "8001", "nope")).status for _ in range(5)]
        blocked = await sign_in(client, "8001")  # the right password, too late
        other = await sign_in(client, "8002")
        return statuses, blocked.status, blocked.headers.get("Retry-After"), other.status

    statuses, blocked, retry, other = run(store, body)
    assert statuses == [401] * 5
    assert blocked == 429 and retry is not None and 1 <= int(retry) <= 61
    assert other == 200


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/desk/api/me"), ("POST", "/desk/api/status"), ("GET", "/desk/api/events"),
    ("GET", "/desk/api/calls/call-1"), ("POST", "/desk/api/calls/call-1/outcome"),
    ("GET", "/desk/api/history")])
def test_every_desk_api_route_needs_the_cookie(store: CallStore, method: str,
                                               path: str) -> None:
    async def body(client: TestClient) -> Any:
        resp = await client.request(method, path, json={},
                                    headers={"Authorization": f"Bearer {TOKEN}"})
        return resp.status, await resp.json()

    assert run(store, body) == (401, {"error": "not signed in"})


def test_tampered_or_foreign_cookies_are_refused(store: CallStore) -> None:
    good = SessionSigner(SECRET).issue("8001", "agent")
    body_, sig = good.split(".")
    cookies = [
        f"{body_}.{sig[:-2]}AA",  # signature changed
        SessionSigner(SECRET).issue("8002", "agent").split(".")[0] + "." + sig,  # swapped id
        SessionSigner(b"another-secret-of-32-bytes------").issue("8001", "agent"),
        SessionSigner(SECRET).issue("8001", "supervisor"),  # wrong role
        SessionSigner(SECRET).issue("9999", "agent"),  # not a configured agent
        SessionSigner(SECRET, ttl_s=-1).issue("8001", "agent"),  # expired
    ]

    async def body(client: TestClient) -> Any:
        out = []
        for cookie in [good, *cookies]:
            resp = await client.get("/desk/api/me", headers={"Cookie": f"ivr_desk={cookie}"})
            out.append(resp.status)
        return out

    assert run(store, body) == [200] + [401] * len(cookies)


def test_desk_cookie_is_not_an_api_token_and_api_token_is_not_a_desk_cookie(
        store: CallStore) -> None:
    async def body(client: TestClient) -> Any:
        await sign_in(client)
        api = await client.get("/api/calls")
        sneaky = await client.get("/desk/../api/calls")
        health = await client.get("/api/health")
        return api.status, sneaky.status, health.status

    api, sneaky, health = run(store, body)
    assert api == 401 and sneaky in (401, 404) and health == 200


def test_no_desk_without_a_secret(store: CallStore) -> None:
    async def main() -> int:
        app = build_app(store, TOKEN, lambda: {})
        async with TestClient(TestServer(app)) as client:
            return (await client.get("/desk")).status

    assert asyncio.run(main()) == 404


# ---------------------------------------------------------------------------- status
def test_status_toggle_and_refused_while_busy(store: CallStore, worker: CallStore) -> None:
    async def body(client: TestClient) -> Any:
        await sign_in(client)
        out = []
        for status in ("offline", "available", "busy", "away"):
            resp = await client.post("/desk/api/status", json={"status": status})
            out.append((resp.status, (await resp.json()).get("status")))
        AgentDirectory(worker).claim(ONLY_8001, "call-1")  # the IVR takes the agent
        busy = await client.post("/desk/api/status", json={"status": "offline"})
        me = await (await client.get("/desk/api/me")).json()
        return out, busy.status, me

    out, busy, me = run(store, body)
    assert out == [(200, "offline"), (200, "available"), (400, None), (400, None)]
    assert busy == 409
    assert (me["status"], me["current_call"]) == ("busy", "call-1")


def test_sign_out_goes_offline_unless_on_a_call(store: CallStore, worker: CallStore) -> None:
    async def body(client: TestClient) -> Any:
        await sign_in(client)
        await sign_in(client, "8002")  # the jar now holds 8002's cookie
        resp = await client.post("/desk/logout", json={})
        after = await client.get("/desk/api/me")
        await sign_in(client)
        AgentDirectory(worker).claim(ONLY_8001, "call-1")
        await client.post("/desk/logout", json={})
        return resp.status, resp.headers["Set-Cookie"], after.status

    status, cookie, after = run(store, body)
    assert status == 200 and "ivr_desk=" in cookie and "Max-Age=0" in cookie
    assert after == 401
    agents = {a.id: a for a in AgentDirectory(store).all()}
    assert agents["8002"].status == "offline"
    assert (agents["8001"].status, agents["8001"].current_call) == ("busy", "call-1")


# ---------------------------------------------------------------------------- live events
def test_stream_delivers_the_call_card_when_the_ivr_claims_the_agent(
        store: CallStore, worker: CallStore) -> None:
    async def body(client: TestClient) -> Any:
        await sign_in(client)
        resp = await client.get("/desk/api/events")
        seen = [(resp.status, resp.headers["Content-Type"])]
        seen.append(await next_event(resp))  # status: available
        directory = AgentDirectory(worker)
        directory.claim(ONLY_8001, "call-1")
        seen.append(await next_event(resp))  # status: busy
        seen.append(await next_event(resp))  # call
        worker.add_event("call-1", "agent_ringing", {"agent_id": "8001"})
        seen.append(await next_event(resp))
        worker.add_event("call-1", "escalation_summary_llm", {"text": LLM_TEXT})
        seen.append(await next_event(resp))
        worker.update_call("call-1", agent_id="8001", queue_wait_s=12.5)
        worker.add_event("call-1", "agent_connected", {"agent_id": "8001"})
        seen.append(await next_event(resp))
        worker.call_ended("call-1", "caller_hangup")
        directory.release("8001", "call-1")
        seen.append(await next_event(resp))
        seen.append(await next_event(resp))
        resp.close()
        return seen

    seen = run(store, body, poll_s=0.02)
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


def test_stream_sends_keepalives_and_ends_on_shutdown(store: CallStore,
                                                      monkeypatch) -> None:
    monkeypatch.setattr(desk_module, "KEEPALIVE_S", 0.05)

    async def main() -> Any:
        app = web.Application()
        add_desk_routes(app, store, AGENTS, SECRET, poll_s=0.02)
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


def test_too_many_streams_for_one_agent(store: CallStore, monkeypatch) -> None:
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

    assert run(store, body, poll_s=0.02) == [200, 200, 429]


# ---------------------------------------------------------------------------- calls
def test_only_own_calls_are_visible(store: CallStore, worker: CallStore) -> None:
    async def body(client: TestClient) -> Any:
        await sign_in(client)
        out = [(await client.get("/desk/api/calls/call-1")).status]
        AgentDirectory(worker).claim(ONLY_8001, "call-1")
        card = await client.get("/desk/api/calls/call-1")
        out.append(card.status)
        out.append((await client.get("/desk/api/calls/call-2")).status)  # someone else's
        worker.update_call("call-2", agent_id="8002")
        out.append((await client.get("/desk/api/calls/call-2")).status)
        out.append((await client.post("/desk/api/calls/call-2/outcome",
                                       json={"outcome": "resolved"})).status)
        out.append((await client.get("/desk/api/calls/nope")).status)
        worker.update_call("call-1", agent_id="8001")
        AgentDirectory(worker).release("8001")
        out.append((await client.get("/desk/api/calls/call-1")).status)  # handled: still mine
        return out, await card.json()

    statuses, card = run(store, body)
    assert statuses == [403, 200, 403, 403, 403, 404, 200]
    assert card["summary"]["intent"] == "broadband_fault"


def test_outcome_is_stored_with_an_event(store: CallStore, worker: CallStore) -> None:
    AgentDirectory(worker).claim(ONLY_8001, "call-1")

    async def body(client: TestClient) -> Any:
        await sign_in(client)
        resp = await client.post("/desk/api/calls/call-1/outcome",
                                 json={"outcome": "callback_needed", "note": "回电确认维修时间"})
        history = await (await client.get("/desk/api/history")).json()
        return resp.status, await resp.json(), history

    status, data, history = run(store, body)
    assert status == 200 and data["outcome"] == "callback_needed"
    call = store.get_call("call-1")
    assert call is not None
    assert (call["agent_outcome"], call["agent_note"], call["agent_id"]) == (
        "callback_needed", "回电确认维修时间", "8001")
    events = [e["data"] for e in call["events"] if e["type"] == "agent_outcome"]
    assert events == [{"agent_id": "8001", "outcome": "callback_needed",
                       "note": "回电确认维修时间"}]
    assert [(c["id"], c["agent_outcome"], c["intent_label"]) for c in history["calls"]] == [
        ("call-1", "callback_needed", "报修宽带故障")]


@pytest.mark.parametrize("payload", [
    {"outcome": "fixed"}, {}, {"outcome": "resolved", "note": "x" * 2001},
    {"outcome": "resolved", "note": 5}, ["resolved"], "not json"])
def test_bad_outcome_is_400(store: CallStore, worker: CallStore, payload: Any) -> None:
    AgentDirectory(worker).claim(ONLY_8001, "call-1")

    async def body(client: TestClient) -> Any:
        await sign_in(client)
        if payload == "not json":
            resp = await client.post("/desk/api/calls/call-1/outcome", data="{oops",
                                     headers={"Content-Type": "application/json"})
        else:
            resp = await client.post("/desk/api/calls/call-1/outcome", json=payload)
        return resp.status

    assert run(store, body) == 400
    call = store.get_call("call-1")
    assert call is not None and call["agent_outcome"] is None


def test_card_is_computed_when_the_ivr_stored_no_summary(store: CallStore,
                                                         worker: CallStore) -> None:
    add_call(worker, "call-3", caller="13700000000", summary=False)
    AgentDirectory(worker).claim(ONLY_8001, "call-3")

    async def body(client: TestClient) -> Any:
        await sign_in(client)
        return await (await client.get("/desk/api/calls/call-3")).json()

    card = run(store, body)
    assert card["summary_source"] == "computed"
    assert card["summary"]["intent_label"] == "报修宽带故障"
    assert card["text"] and card["earlier_calls"] == [] and card["earlier_count"] == 0
