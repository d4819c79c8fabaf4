"""The supervisor live board in a real browser against a real `ivr serve`: a supervisor signs
in, a real SIP call (baresip) appears with its transcript, is flagged when the caller speaks
angrily (EmoDB: the same actor neutral, then angry), and live listen delivers the call's audio
over the WebSocket."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ivr.storage.call_store import CallStore
from testkit.harness import IvrProcess, ScriptedCaller
from tests.integration.test_emotion import clip
from tests.web_helpers import browser_sign_in, make_user

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO / "docs" / "screenshots" / "live_board.png"
PASSWORD = "supervisor-pass-1"


@pytest.fixture
def ivr(tmp_path: Path) -> Iterator[IvrProcess]:
    """`ivr serve` with a supervisor user created in its database before start."""
    if shutil.which("baresip") is None:
        pytest.skip("baresip is not installed (run scripts/setup)")
    data = tmp_path / "ivr-data"
    data.mkdir()
    store = CallStore(data / "ivr.sqlite")
    make_user(store, "sup", "supervisor", PASSWORD)
    store.close()
    proc = IvrProcess(data).start()
    try:
        yield proc
    finally:
        code = proc.stop()
        assert code == 0, f"ivr serve exited with {code}:\n{proc.log()[-3000:]}"


def listen_stats(page: Any, done: Callable[[dict[str, Any]], bool],
                 timeout: float = 15.0) -> dict[str, Any]:
    """Poll the page's live-listen counters until `done(stats)` (the page's CSP forbids the
    eval that `wait_for_function` needs)."""
    deadline = time.monotonic() + timeout
    while True:
        stats: dict[str, Any] = page.evaluate("() => window.liveListenStats")
        if done(stats):
            return stats
        assert time.monotonic() < deadline, f"live listen stalled: {stats}"
        page.wait_for_timeout(200)


def poll(page: Any, done: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "condition not met in time"
        page.wait_for_timeout(100)


def test_supervisor_sees_a_live_call_flagged_angry_and_listens(
        chromium: Any, ivr: IvrProcess, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    base = f"http://127.0.0.1:{ivr.http_port}"
    context = chromium.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("console", lambda m: problems.append(f"console: {m.text}")
            if m.type == "error" else None)
    try:
        browser_sign_in(page, base, "sup", PASSWORD)
        page.goto(f"{base}/dash/live")
        expect(page.locator("#conn")).to_have_text("live", timeout=10_000)
        expect(page.locator("#empty")).to_be_visible()
        with ScriptedCaller(ivr, tmp_path) as c:
            c.dial()
            row = page.locator(f'tr[data-call-id="{c.call_id}"]')
            expect(row).to_be_visible(timeout=15_000)
            c.wait("listen", node="main_menu")
            c.press("9")  # English
            c.wait("prompt_end", node="main_menu", interrupted=False, timeout=60)
            expect(row.locator("td.node")).to_have_text("main_menu", timeout=10_000)
            expect(row.locator(".ivr-line").first).to_be_visible()
            expect(row.locator(".caller-line")).to_contain_text(["9"])
            expect(row.locator(".flag[data-code=anger]")).to_have_count(0)
            c.say(clip("03a01Nc.flac"))  # neutral
            c.wait("emotion", timeout=40)
            c.wait("prompt_end", node="main_menu", interrupted=False, timeout=60)
            c.say(clip("03a02Nc.flac"))  # neutral again: the caller's own calm level (first
            c.wait("emotion", timeout=40)  # turns are judged against English calm speakers)
            c.wait("prompt_end", node="main_menu", interrupted=False, timeout=60)
            c.say(clip("03a01Wa.flac"))  # anger ("Wut")
            angry = c.wait("emotion", timeout=40)
            assert angry["data"]["anger"] >= 0.6, angry
            flag = row.locator(".flag[data-code=anger]")
            expect(flag).to_be_visible(timeout=10_000)
            expect(flag).to_contain_text("anger")
            expect(row).to_have_class("sev-high flagged")
            # the board keeps the last 8 lines: the caller's latest among the IVR's replies
            expect(row.locator(".caller-line")).not_to_have_count(0)

            row.locator("button.listen-btn").click()
            expect(page.locator("#listen")).to_be_visible()
            stats = listen_stats(page, lambda s: s["bytes"] > 32000)
            assert stats["format"]["channels"] == 2 and stats["format"]["sample_rate"] >= 8000
            assert stats["messages"] > 5
            shot = SCREENSHOT if os.environ.get("DASH_SCREENSHOTS") else tmp_path / "live.png"
            shot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shot))
            page.click("#stop")
            expect(page.locator("#listen")).to_be_hidden()
            c.hangup()
            c.wait_closed(20)
        expect(row).to_have_count(0, timeout=15_000)  # ended: off the board
        expect(page.locator("#empty")).to_be_visible()

        # the finished call: its page, the recording played, marked reviewed
        ivr.wait_call_ended(c.call_id, 30)
        page.goto(f"{base}/dash/calls/{c.call_id}")
        expect(page.locator(".turn").first).to_be_visible(timeout=10_000)
        expect(page.locator("#flags")).to_contain_text("anger")
        audio = page.locator("#audio")
        poll(page, lambda: audio.evaluate("a => a.readyState") >= 1)
        assert audio.evaluate("a => a.duration") > 10  # the whole call was recorded
        audio.evaluate("a => a.play()")
        poll(page, lambda: audio.evaluate("a => a.currentTime") > 0.5)
        audio.evaluate("a => a.pause()")
        page.check("#reviewed")
        page.fill("#note", "Angry caller; check the bill wording.")
        page.click("#save-review")
        expect(page.locator("#review-status")).to_contain_text("Saved by sup")
        # the same request without its CSRF token is refused (the console reports that 403)
        before = len(problems)
        status = page.evaluate(
            """async (id) => (await fetch(`/dash/api/calls/${id}/review`, {method: "POST",
                 headers: {"Content-Type": "application/json"},
                 body: JSON.stringify({reviewed: false})})).status""", c.call_id)
        assert status == 403
        page.wait_for_timeout(200)
        del problems[before:]
    finally:
        context.close()
    assert problems == []
    health = ivr.api("/api/health")  # the service is still healthy after the listener left
    assert health["status"] == "ok"
    store = CallStore(ivr.data_dir / "ivr.sqlite")
    try:
        actions = {r["action"] for r in store.db.query(
            "select action from audit_log where call_id = ?", [c.call_id])}
        review = store.db.execute("select reviewed, reviewed_by from reviews where call_id = ?",
                                  [c.call_id]).fetchone()
    finally:
        store.close()
    assert {"listen_live", "view_call", "view_transcript", "play_recording",
            "review_call"} <= actions, actions
    assert tuple(review) == (1, "sup")
