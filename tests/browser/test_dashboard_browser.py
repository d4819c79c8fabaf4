"""The supervisor dashboard in a real browser: sign in, filter the call list by flag, open a
call with a recording of real speech, play it while the transcript follows, mark it reviewed;
an agent is refused another agent's call; a wrong password is refused.

With DASH_SCREENSHOTS=1 the call list, call page and metrics page are saved into
`docs/screenshots/` (1280x800)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from ivr.storage.call_store import CallStore
from tests.audio_data import load_clip
from tests.browser.conftest import ServedApp, serve_app
from tests.web_helpers import browser_sign_in, make_user

SECRET = b"dashboard-browser-secret-32-byte"
PASSWORD = "sup-口令-123"
RATE = 16000
CLIPS = ("audio/S0150/BAC009S0150W0416.flac", "audio/S0150/BAC009S0150W0121.flac",
         "audio/S0150/BAC009S0150W0122.flac")
TURN_STARTS = (0.3, 2.8)  # seconds into the recording when the caller speaks
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def speech(rel: str) -> np.ndarray:
    """A real AISHELL clip as float32 at 16 kHz (linear interpolation from its own rate)."""
    frame = load_clip("asr_zh_aishell", rel)
    pcm = np.frombuffer(frame.pcm, dtype=np.int16).astype(np.float32) / 32768
    n = round(len(pcm) * RATE / frame.sample_rate)
    return np.interp(np.linspace(0, len(pcm) - 1, n), np.arange(len(pcm)), pcm).astype(
        np.float32)


def write_recording(path: Path) -> None:
    """Stereo like the recorder: caller left (two utterances), IVR right (a prompt)."""
    stereo = np.zeros((RATE * 9, 2), dtype=np.float32)
    for rel, start in zip(CLIPS[:2], TURN_STARTS, strict=True):
        clip = speech(rel)
        at = round(start * RATE)
        stereo[at:at + len(clip), 0] = clip[:len(stereo) - at]
    prompt = speech(CLIPS[2])[: RATE * 2]
    stereo[round(6.9 * RATE):round(6.9 * RATE) + len(prompt), 1] = prompt
    sf.write(str(path), stereo, RATE, subtype="PCM_16")


def seed(store: CallStore, recording: Path) -> None:
    """The reviewed call (agent 8001, angry, escalated, recorded) and a week of other calls."""
    now = time.time()
    t = now - 1800
    store.call_started("call-rec", caller="13800138000", started_at=t, answered_at=t,
                       language="zh-CN", profile="zh-CN", agent_id="8001",
                       recording_path=str(recording), dialplan="hotline")
    store.add_turn("call-rec", 1, node="menu", prompt="您好，请问有什么可以帮您？",
                   input_mode="speech", caller_text="娱乐频道", outcome="match",
                   intent="tv_channel", asr_confidence=0.91, speech_start=t + 0.3,
                   speech_end=t + 2.5, asr_done=t + 2.8, reply_first_audio=t + 3.1,
                   emotion={"anger": 0.4, "distress": 0.1, "label": "neutral"})
    store.add_turn("call-rec", 2, node="tv_fault", prompt="请描述您遇到的问题。",
                   input_mode="speech", caller_text="其中有两个是内因的指标", outcome="match",
                   intent="agent", asr_confidence=0.82, speech_start=t + 2.8,
                   speech_end=t + 6.9, asr_done=t + 7.2, reply_first_audio=t + 7.5,
                   emotion={"anger": 0.78, "distress": 0.3, "label": "angry"})
    store.add_event("call-rec", "first_audio", {"answer_to_audio_ms": 380}, ts=t + 0.38)
    store.add_event("call-rec", "transfer", {"target": "queue:general",
                                             "reason": "caller_request"}, ts=t + 7.0)
    store.add_event("call-rec", "escalation_summary",
                    {"text": "来电者投诉电视频道故障，情绪激动。"}, ts=t + 7.1)
    store.update_call("call-rec", escalated=1, transfer_target="queue:general", peak_anger=0.78)
    store.call_ended("call-rec", "transferred:8001")
    store.update_call("call-rec", ended_at=t + 95)
    rng = np.random.default_rng(7)
    intents = ["bill", "broadband_fault", "tv_channel", "agent", "plan_change"]
    dialects = ["zh-CN", "zh-sichuan", "zh-cantonese", "zh-CN"]
    for i in range(24):
        s = now - 6.5 * 86400 + i * 0.27 * 86400
        cid = f"hist-{i}"
        store.call_started(cid, caller=f"1390000{i:04d}", started_at=s, answered_at=s + 0.5,
                           profile=dialects[i % 4], agent_id="8002" if i % 3 == 0 else None)
        anger = float(rng.uniform(0.05, 0.7))
        store.add_turn(cid, 1, node="menu", input_mode="speech", caller_text="查询",
                       outcome="match", intent=intents[i % 5],
                       asr_confidence=float(rng.uniform(0.55, 0.98)), speech_end=s + 4,
                       reply_first_audio=s + 4 + float(rng.uniform(0.4, 1.2)),
                       emotion={"anger": anger, "distress": 0.1})
        store.add_event(cid, "first_audio", {"answer_to_audio_ms": int(rng.integers(300, 700))})
        if i % 4 == 1:
            store.update_call(cid, escalated=1, transfer_target="queue:general")
            store.add_event(cid, "transfer", {"target": "queue:general",
                                              "reason": ["caller_request", "anger",
                                                         "repeated_failure"][i // 4 % 3]})
        store.call_ended(cid, "caller_hangup")
        store.update_call(cid, ended_at=s + 60 + 10 * i)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServedApp]:
    store = CallStore(tmp_path / "ivr.sqlite")
    write_recording(tmp_path / "call-rec.wav")
    seed(store, tmp_path / "call-rec.wav")
    make_user(store, "sue", "supervisor", PASSWORD)
    make_user(store, "ann", "agent", PASSWORD, agent_id="8002")
    store.close()
    app = serve_app(tmp_path / "ivr.sqlite", [], SECRET)
    yield app
    app.close()


def shot(page: Any, name: str, tmp_path: Path) -> None:
    folder = SHOTS if os.environ.get("DASH_SCREENSHOTS") else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / name))



def wait_js(page: Any, expression: str, timeout: float = 10.0) -> None:
    """Poll `expression` in the page until it is true (the pages' CSP forbids the eval that
    `wait_for_function` needs; `evaluate` goes through the debugging protocol)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(f"() => Boolean({expression})"):
        assert time.monotonic() < deadline, f"not true in {timeout} s: {expression}"
        page.wait_for_timeout(100)

def test_supervisor_reviews_a_recorded_call(chromium: Any, served: ServedApp,
                                            tmp_path: Path) -> None:
    from playwright.sync_api import expect

    context = chromium.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("response", lambda r: problems.append(f"HTTP {r.status} {r.url}")
            if r.status >= 400 else None)
    try:
        page.goto(f"{served.url}/dash/calls")
        assert "/login" in page.url  # signed out: the sign-in page first
        page.fill("#username", "sue")
        page.fill("#password", "not-the-password")
        page.click("#login-submit")
        expect(page.locator("#login-error")).to_be_visible()
        browser_sign_in(page, served.url, "sue", PASSWORD)
        page.goto(f"{served.url}/dash/calls")
        expect(page.locator("#status")).to_have_text("25 calls")
        expect(page.locator("#nav a")).to_have_text(["Live", "Calls", "Metrics"])
        page.select_option("select[name=flag]", "anger")
        page.click("#filters button[type=submit]")
        expect(page.locator("#status")).to_contain_text("call")
        rows = page.locator("#rows tr")
        expect(rows.first).to_contain_text("13800138000")
        assert "flag=anger" in page.url
        shot(page, "dash_calls.png", tmp_path)

        page.select_option("select[name=flag]", "")
        page.fill("input[name=q]", "内因")
        page.click("#filters button[type=submit]")
        expect(page.locator("#status")).to_have_text("1 call")
        rows.first.click()
        page.wait_for_url("**/dash/calls/call-rec")
        expect(page.locator("#flags")).to_contain_text("anger")
        expect(page.locator("#summary")).to_contain_text("情绪激动")
        expect(page.locator(".turn")).to_have_count(2)
        expect(page.locator("#emotion svg path")).to_have_count(2)
        audio = page.locator("#audio")
        wait_js(page, "document.getElementById('audio').readyState >= 1")
        assert abs(audio.evaluate("a => a.duration") - 9.0) < 0.05
        page.locator("[data-channel=caller]").click()
        expect(page.locator("[data-channel=caller]")).to_have_class("secondary on")
        wait_js(page, "document.getElementById('audio').readyState >= 1")
        audio.evaluate("a => a.play()")
        wait_js(page, "document.getElementById('audio').currentTime > 0.6", 5)
        expect(page.locator(".turn.active")).to_have_attribute("data-i", "0")
        wait_js(page, "document.getElementById('audio').currentTime > 3.0", 8)
        expect(page.locator(".turn.active")).to_have_attribute("data-i", "1")
        audio.evaluate("a => a.pause()")
        page.locator(".turn").first.click()  # a turn seeks the player back to it
        expect(page.locator(".turn.active")).to_have_attribute("data-i", "0")
        assert abs(audio.evaluate("a => a.currentTime") - 0.3) < 0.1

        page.check("#reviewed")
        page.fill("#note", "Agent calmed the caller; coach on the greeting.")
        page.fill("#tags", "anger, coaching")
        page.click("#save-review")
        expect(page.locator("#review-status")).to_contain_text("Saved by sue")
        page.evaluate("window.scrollTo(0, 0)")
        shot(page, "dash_call.png", tmp_path)

        page.goto(f"{served.url}/dash/calls?reviewed=1")
        expect(page.locator("#status")).to_have_text("1 call")
        expect(page.locator("#rows")).to_contain_text("reviewed")

        page.goto(f"{served.url}/dash/metrics")
        expect(page.locator(".kpi").first).to_contain_text("25")
        expect(page.locator("#trend svg path")).to_have_count(2)
        expect(page.locator("#intents svg rect")).to_have_count(5)
        expect(page.locator("#kpis")).to_contain_text("First-contact resolution")
        expect(page.locator("#outcomes")).to_contain_text("%)")  # each outcome with its rate
        shot(page, "dash_metrics.png", tmp_path)

        page.click("#signout")
        page.wait_for_url("**/login")
    finally:
        context.close()
    assert problems == [f"HTTP 401 {served.url}/login"]  # the wrong password only


def test_agent_cannot_open_another_agents_call(chromium: Any, served: ServedApp) -> None:
    from playwright.sync_api import expect

    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        browser_sign_in(page, served.url, "ann", PASSWORD)
        page.goto(f"{served.url}/dash/calls")
        expect(page.locator("#status")).to_have_text("8 calls")  # only the calls ann took
        expect(page.locator("#nav a")).to_have_text(["Live", "Calls"])
        api = page.request.get(f"{served.url}/dash/api/calls/call-rec")
        assert api.status == 403
        page.goto(f"{served.url}/dash/calls/call-rec")
        expect(page.locator("#error")).to_have_text("not your call")
        assert page.request.get(f"{served.url}/dash/api/metrics").status == 403
    finally:
        context.close()
