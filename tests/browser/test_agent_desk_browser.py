"""The agent desk in a real browser: sign in through the form, get the call card the moment
the IVR (another database connection, as another worker) claims the agent, mark the outcome.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ivr.escalation.agents import AgentConfig, AgentDirectory, RouteRequest
from ivr.escalation.summary import render_text, summarise
from ivr.storage.call_store import CallStore
from ivr.web.auth import hash_password
from tests.browser.conftest import ServedApp, serve_app

SECRET = b"browser-test-secret-of-32-bytes!"
PASSWORD = "li-口令-1"
AGENTS = [AgentConfig(id="8001", name="Li Na", uri="sip:8001@127.0.0.1:5070",
                      password_hash=hash_password(PASSWORD))]
ANGRY = "我已经打了三次了，转人工！"
CALLER = "13800138000"


def stored_call(store: CallStore) -> None:
    """An escalated Mandarin call as the IVR stores it, and an earlier call of the number."""
    now = time.time()
    store.call_started("old-1", caller=CALLER, started_at=now - 86400, language="zh-CN")
    store.call_ended("old-1", "caller_hangup")
    store.call_started("call-1", caller=CALLER, started_at=now - 60, language="zh-CN",
                       dialplan="hotline")
    store.add_turn("call-1", 1, node="main_menu", input_mode="speech",
                   caller_text="我的宽带又坏了", outcome="match", intent="broadband_fault",
                   prompt="请说出您的宽带账号。",
                   emotion={"anger": 0.35, "distress": 0.1, "label": "neutral", "cues": []})
    store.add_turn("call-1", 2, node="ask_account", input_mode="dtmf", dtmf="88001234",
                   outcome="match", slots={"account": "88001234"}, prompt="好的。",
                   emotion={"anger": 0.5, "distress": 0.2, "label": "angry", "cues": []})
    store.add_turn("call-1", 3, node="fault_check", input_mode="speech", caller_text=ANGRY,
                   outcome="match", intent="agent", prompt="好的，正在为您转接人工客服。",
                   emotion={"anger": 0.83, "distress": 0.3, "label": "angry",
                            "cues": ["repeat_contact"]})
    store.add_event("call-1", "transfer", {"target": "queue:general",
                                           "reason": "caller_request"})
    call = store.get_call("call-1")
    assert call is not None
    s = summarise(call, store.list_calls(caller=CALLER), None)
    store.add_event("call-1", "escalation_summary",
                    {**s.as_dict(), "text": render_text(s, "zh-CN"),
                     "whisper": render_text(s, "zh-CN", whisper=True)})


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[CallStore]:
    store = CallStore(tmp_path / "ivr.sqlite")
    AgentDirectory(store).sync(AGENTS)
    AgentDirectory(store).set_status("8001", "offline")
    stored_call(store)
    yield store
    store.close()


@pytest.fixture
def served(worker: CallStore) -> Iterator[ServedApp]:
    app = serve_app(worker.path, AGENTS, SECRET)
    yield app
    app.close()


def test_agent_signs_in_sees_the_summary_and_marks_the_outcome(
        chromium: Any, served: ServedApp, worker: CallStore, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    context = chromium.new_context(viewport={"width": 1360, "height": 1000}, locale="en-US")
    page = context.new_page()
    problems: list[str] = []
    page.on("response", lambda r: problems.append(f"HTTP {r.status} {r.url}")
            if r.status >= 400 else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("console", lambda m: problems.append(f"console: {m.text} {m.location['url']}")
            if m.type == "error" else None)
    try:
        page.goto(f"{served.url}/desk")
        expect(page.locator("#signin-form")).to_be_visible()
        page.fill("#agent", "8001")
        page.fill("#password", "wrong")
        page.click("#signin-form button[type=submit]")
        expect(page.locator("#signin-error")).to_have_text("Wrong agent ID or password.")
        page.fill("#password", PASSWORD)
        page.click("#signin-form button[type=submit]")
        expect(page.locator("#desk")).to_be_visible()
        expect(page.locator("#agent-name")).to_have_text("Li Na (8001)")
        expect(page.locator("#status-pill")).to_have_text("available")  # was offline
        expect(page.locator("#conn")).to_have_class("conn live")

        directory = AgentDirectory(worker)
        claimed = directory.claim(RouteRequest("general"), "call-1")  # the IVR takes Li Na
        assert claimed is not None and claimed.id == "8001"
        worker.add_event("call-1", "agent_ringing", {"agent_id": "8001"})
        card = page.locator("#card")
        expect(card).to_be_visible(timeout=5000)
        expect(page.locator("#banner")).to_contain_text("Ringing: call from 13800138000")
        expect(page.locator("#status-pill")).to_have_text("busy")
        expect(page.locator("#c-intent")).to_have_text("报修宽带故障")
        expect(page.locator("#c-intent-en")).to_have_text("report a broadband fault")
        expect(page.locator("#c-reason")).to_contain_text("来电者要求转人工")
        expect(page.locator("#c-quotes")).to_contain_text(ANGRY)
        expect(page.locator("#c-slots")).to_contain_text("88001234")
        expect(page.locator("#c-slots")).to_contain_text("verified")
        expect(page.locator("#c-earlier")).to_have_text("1 earlier call")
        expect(page.locator("#c-chart svg polyline")).to_have_count(2)
        expect(page.locator("#transcript li")).to_have_count(6)
        expect(page.locator("#transcript")).to_contain_text("我的宽带又坏了")
        expect(page.locator("#outcome-form")).to_be_hidden()  # not before answering

        worker.update_call("call-1", agent_id="8001", queue_wait_s=14.0)
        worker.add_event("call-1", "agent_connected", {"agent_id": "8001"})
        expect(page.locator("#banner")).to_have_text("On call with 13800138000", timeout=5000)
        expect(page.locator("#outcome-form")).to_be_visible()
        expect(page.locator("#c-wait")).to_have_text("14 s")
        page.screenshot(path=str(tmp_path / "agent_desk.png"), full_page=True)

        page.select_option("#outcome", "callback_needed")
        page.fill("#note", "客户要求明早回电确认维修时间")
        page.click("#outcome-form button[type=submit]")
        expect(page.locator("#outcome-msg")).to_have_text("Saved.")
        call = worker.get_call("call-1")
        assert call is not None
        assert (call["agent_outcome"], call["agent_note"]) == (
            "callback_needed", "客户要求明早回电确认维修时间")

        worker.call_ended("call-1", "caller_hangup")
        directory.release("8001", "call-1")
        expect(page.locator("#banner")).to_contain_text("ended", timeout=5000)
        expect(page.locator("#status-pill")).to_have_text("available")
        expect(page.locator("#my-calls")).to_contain_text("callback_needed")

        page.reload()  # the session cookie survives a reload
        expect(page.locator("#desk")).to_be_visible()
        page.click("#logout")
        expect(page.locator("#signin-form")).to_be_visible()
        assert directory.get("8001").status == "offline"  # type: ignore[union-attr]
    finally:
        context.close()
    wrong_password = [f"HTTP 401 {served.url}/desk/login", "console: Failed to load resource: "
                      f"the server responded with a status of 401 (Unauthorized) "
                      f"{served.url}/desk/login"]
    assert problems == wrong_password  # no script error, no CSP violation, no other failure
