"""The live-agent desk under test (tests/unit/test_desk_*.py): its agents and their
passwords, the calls as the IVR stores them, and an in-process aiohttp server to drive it.
The stores are the `desk_store` and `desk_worker` fixtures of tests/unit/conftest.py."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient, TestServer

from ivr.escalation.agents import AgentConfig, RouteRequest
from ivr.escalation.summary import render_text, summarise
from ivr.storage.call_store import CallStore
from ivr.web.api import build_app
from ivr.web.auth import hash_password
from ivr.web.desk import add_desk_routes

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
