"""The call page's complete transcript in a real browser (issue 21): a call with a webhook
answer and an escalation bridged to an agent shows every prompt played, the caller's turns and
the conversation with the agent, in time order, with speaker labels; readable events; the
call's own emotion.

A real call with a live agent takes too long for this suite, so the call's rows are built
through the real storage API (`CallStore`) from a real recorded call fixture,
`tests/fixtures/transcripts/zh_topup_then_agent.json` (the hotline: greeting cut by a key,
menu, amount by voice, read-back, confirmation, "top-up done", agent by key, hold message),
with two changes said here: the top-up is answered by a webhook (a `webhook` event before
"充值成功", and the confirming turn stores no prompt, as a webhook's step leaves it), and
agent 8001 answers after the hold message (`agent_answered`, `agent_connected`,
`agent_disconnected`). The recording is written by the call's own recorder from real speech
(AISHELL-1: the caller on the left after the bridge, the agent on the right), and the agent
leg is transcribed by the service task's own function (`transcribe_next_leg`) with
whisper-base before the page is opened."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from audio_models.inference import InferenceScheduler
from ivr.call.recorder import CallRecorder
from ivr.escalation.agent_transcript import AgentLegTranscriber, background_recognizer
from ivr.privacy import Redactor
from ivr.service_tasks import transcribe_next_leg
from ivr.storage import transcript
from ivr.storage.call_store import CallStore
from tests.audio_data import load_clip
from tests.browser.conftest import ServedApp, serve_app
from tests.web_helpers import browser_sign_in, make_user

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "transcripts" / \
    "zh_topup_then_agent.json"
MODEL_DIR = Path(__file__).resolve().parents[2] / "var" / "cache" / "models"
SECRET = b"call-page-browser-secret-32-byte"
PASSWORD = "sup-口令-456"
RATE = 8000
BRIDGE_S, LEG_END_S = 56.0, 70.0  # seconds after the answer
CALLER_CLIP = ("audio/S0150/BAC009S0150W0121.flac", 1.0)  # 其中有两个是内因的指标
AGENT_CLIP = ("audio/S0150/BAC009S0150W0124.flac", 6.0)  # 用居民部门储蓄上一年利息支出


def write_recording(path: Path) -> Path:
    """The call's stereo recording as its recorder writes it, 20 ms at a time: silent until
    the bridge (the fixture kept no audio), then the caller (left) and the agent (right)."""
    n = int((LEG_END_S + 1) * RATE)
    left, right = np.zeros(n, dtype=np.int16), np.zeros(n, dtype=np.int16)
    for channel, (rel, after) in ((left, CALLER_CLIP), (right, AGENT_CLIP)):
        pcm = np.frombuffer(load_clip("asr_zh_aishell", rel).pcm, dtype=np.int16)
        at = int((BRIDGE_S + after) * RATE)
        channel[at:at + len(pcm)] = pcm
    recorder = CallRecorder(path, RATE, key=None)
    for at in range(0, n, RATE // 50):
        recorder.add_caller(left[at:at + RATE // 50].tobytes())
        recorder.add_ivr(right[at:at + RATE // 50].tobytes())
        recorder.flush()
    recorder.close()
    return recorder.path


def seed(store: CallStore, recording: Path) -> str:
    """The fixture's call through the storage API, with the webhook and the agent."""
    call = json.loads(FIXTURE.read_text(encoding="utf-8"))["call"]
    cid, t0 = call["id"], call["answered_at"]
    store.call_started(cid, **{k: call[k] for k in (
        "sip_call_id", "caller", "callee", "started_at", "answered_at", "language",
        "dialplan", "dialplan_version", "profile")})
    for turn in call["turns"]:
        row = {k: v for k, v in turn.items() if k not in ("id", "call_id", "seq", "timings")}
        if turn["node"] == "topup_confirm":
            row["prompt"] = None  # the top-up's answer is the webhook step's
        store.add_turn(cid, turn["seq"], **row)
    for e in call["events"]:
        if e["type"] == "prompt" and e["data"]["node"] == "topup_done":
            store.add_event(cid, "webhook", {"node": "topup_done", "method": "POST",
                                             "url": "http://127.0.0.1:9/api/topup", "ok": True,
                                             "status": 200, "ms": 41}, ts=e["ts"] - 0.03)
        store.add_event(cid, e["type"], e["data"], ts=e["ts"])
    for dt, type_, data in ((BRIDGE_S - 1.5, "agent_answered", {"agent_id": "8001",
                                                                 "leg": "leg-1"}),
                            (BRIDGE_S, "agent_connected", {"agent_id": "8001",
                                                           "queue": "general", "wait_s": 7.2}),
                            (LEG_END_S, "agent_disconnected", {"agent_id": "8001",
                                                               "by": "caller"})):
        store.add_event(cid, type_, data, ts=t0 + dt)
    store.update_call(cid, escalated=1, transfer_target="queue:general", agent_id="8001",
                      recording_path=str(recording), peak_anger=call["peak_anger"])
    store.call_ended(cid, "caller_hangup")
    store.update_call(cid, ended_at=t0 + LEG_END_S + 0.5)
    return str(cid)


def transcribe_agent_leg(store: CallStore) -> None:
    """What the service's background task does for this call, with the real model."""
    from audio_models.model_store import resolve_asr_model
    from audio_models.whisper_asr import WhisperASR

    asr = WhisperASR(resolve_asr_model("base", MODEL_DIR), name="base", short_window_s=10.0)
    scheduler = InferenceScheduler(1)
    try:
        leg = AgentLegTranscriber(
            lambda call: background_recognizer(asr, "zh", "以下是普通话的句子。", scheduler),
            Redactor(True).redact_text, None, asyncio.to_thread)
        assert asyncio.run(transcribe_next_leg(store, leg, since=0.0)) is not None
    finally:
        scheduler.close()
        asr.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[ServedApp, str]]:
    store = CallStore(tmp_path / "ivr.sqlite")
    cid = seed(store, write_recording(tmp_path / "call.wav"))
    transcribe_agent_leg(store)
    assert transcript.agent_leg_state(store.db, cid)["status"] == "done"
    make_user(store, "sue", "supervisor", PASSWORD)
    store.close()
    app = serve_app(tmp_path / "ivr.sqlite", [], SECRET)
    yield app, cid
    app.close()


def test_the_call_page_shows_the_complete_transcript_in_order(
        served: tuple[ServedApp, str], chromium: Any, tmp_path: Path) -> None:
    """(`served` before `chromium`: Playwright's sync API marks this thread's event loop as
    running, and the agent leg is transcribed with `asyncio.run`.)"""
    from playwright.sync_api import expect

    app, cid = served
    context = chromium.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("response", lambda r: problems.append(f"HTTP {r.status} {r.url}")
            if r.status >= 400 else None)
    try:
        browser_sign_in(page, app.url, "sue", PASSWORD)
        page.goto(f"{app.url}/dash/calls/{cid}")
        lines = page.locator("#transcript .line")
        expect(lines.first).to_contain_text("欢迎致电星河通信")
        said = page.evaluate("() => [...document.querySelectorAll('#transcript .line')].map("
                             "(el) => [el.dataset.speaker, el.querySelector('.who').textContent,"
                             " el.querySelector('.said').textContent])")
        texts = [text for _, _, text in said]

        def at(fragment: str) -> int:
            return next(i for i, text in enumerate(texts) if fragment in text)

        # greeting (cut by the caller's key), menu, amount, read-back, confirmation, the
        # webhook's answer, the agent announcement, the hold message, then the agent leg
        order = [at("欢迎致电"), at("[keys 3]"), at("请说出或输入充值金额"), at("两千元"),
                 at("您要充值2000元"), at("[keys 1]"), at("充值成功"), at("[keys 0]"),
                 at("正在为您转接人工"), at("抱歉让您久等了")]
        assert order == sorted(order), said
        assert [who for who, _, _ in said[:2]] == ["ivr", "caller"]
        assert said[at("充值成功")][:2] == ["ivr", "IVR"]
        assert said[at("两千元")][:2] == ["caller", "Caller"]
        expect(lines.first).to_have_class("line ivr cut")  # the greeting was interrupted
        leg = said[at("抱歉让您久等了") + 1:]
        assert [who for who, _, _ in leg] == ["caller", "agent"], leg
        assert leg[1][1] == "Agent"
        assert "两个" in leg[0][2] and "部门" in leg[1][2], leg  # the recording, recognised
        expect(page.locator("#transcript .line.agent .meta")).to_contain_text(
            "from the recording")

        webhook = page.locator("#events tr[data-type=webhook]")
        expect(webhook).to_contain_text("topup_done")
        expect(webhook.locator("td.type")).to_have_text("webhook")
        assert page.evaluate("() => { const e = document.querySelector('.events');"
                             " return e.scrollWidth <= e.clientWidth; }")  # wraps, no cut
        expect(page.locator("#emotion")).not_to_contain_text("No data in this period")
        expect(page.locator("#emotion svg")).to_have_count(1)
        page.screenshot(path=str(tmp_path / "call_page.png"), full_page=True)
        assert problems == []
    finally:
        context.close()
