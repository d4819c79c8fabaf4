"""The supervisor live board: snapshot from the database (ordering, flags, transcript, node,
emotion), SSE delivering a new call, roles, and live listen over a WebSocket fed by a session's
audio tap (a stand-in with the tap API, and the real CallSession tap in a fake call)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestClient, TestServer

from ivr.storage.call_store import CallStore
from ivr.web.live import StereoPacker, add_live_routes, snapshot
from ivr.web.signin import add_auth_routes
from ivr.web.users import UserStore
from tests.unit.call_runner import Call, run_call
from tests.unit.fakes import tone

SECRET = b"live-board-test-secret-32-bytes!"


def active_calls(store: CallStore, now: float) -> None:
    """Three active calls: calm and long, angry, crisis; and one ended call."""
    store.call_started("calm", caller="1001", language="en-US", profile="en-US",
                       started_at=now - 300, answered_at=now - 300)
    store.add_event("calm", "prompt", {"node": "welcome", "text": "Welcome to the hotline."})
    store.add_event("calm", "dtmf", {"digit": "9"})
    store.add_event("calm", "listen", {"node": "main_menu", "language": "en-US"})
    store.call_started("angry", caller="1002", language="en-US", started_at=now - 60,
                       answered_at=now - 60)
    store.add_event("angry", "prompt", {"node": "main_menu", "text": "How can I help?"})
    store.add_event("angry", "utterance", {"text": "This is ridiculous!", "confidence": 0.8})
    store.add_event("angry", "emotion", {"anger": 0.2, "distress": 0.1, "label": "neutral"})
    store.add_event("angry", "emotion", {"anger": 0.81, "distress": 0.3, "label": "angry"})
    store.update_call("angry", peak_anger=0.81)
    store.add_turn("angry", 1, node="main_menu", input_mode="speech",
                   caller_text="This is ridiculous!", asr_confidence=0.8,
                   emotion={"anger": 0.81, "distress": 0.3})
    store.add_event("angry", "turn", {"seq": 1, "node": "main_menu", "next": "billing"})
    store.call_started("crisis", caller="1003", language="zh-CN", started_at=now - 30,
                       answered_at=now - 30)
    store.add_event("crisis", "transfer", {"target": "queue:urgent", "reason": "crisis"})
    store.call_started("done", caller="1004", started_at=now - 500)
    store.call_ended("done", "caller_hangup")


def test_snapshot_active_calls_flagged_first_with_node_transcript_emotion(
        tmp_path: Path) -> None:
    store = CallStore(tmp_path / "ivr.sqlite")
    now = time.time()
    active_calls(store, now)
    snap = snapshot(store, {"angry": object()}, now)
    store.close()
    ids = [c["id"] for c in snap["calls"]]
    assert ids == ["crisis", "angry", "calm"]  # critical, high, then unflagged
    crisis, angry, calm = snap["calls"]
    assert crisis["flags"][0]["code"] == "crisis" and crisis["flags"][0]["severity"] == "critical"
    assert "anger" in [f["code"] for f in angry["flags"]]
    assert all(f["reason"] for f in angry["flags"])
    assert calm["flags"] == []
    assert angry["node"] == "billing" and calm["node"] == "main_menu"
    assert angry["emotion"]["anger"] == 0.81 and angry["emotion"]["peak_anger"] == 0.81
    assert angry["emotion"]["distress"] == 0.3
    assert [(x["who"], x["text"]) for x in angry["transcript"]] == [
        ("ivr", "How can I help?"), ("caller", "This is ridiculous!")]
    assert [(x["who"], x["text"]) for x in calm["transcript"]] == [
        ("ivr", "Welcome to the hotline."), ("caller", "9")]
    assert 299 <= calm["duration_s"] <= 301
    assert angry["listenable"] and not calm["listenable"]


def test_stereo_packer_interleaves_and_fills_a_silent_side() -> None:
    packer = StereoPacker(8000)
    left = np.array([1, 2, 3], "<i2").tobytes()
    right = np.array([-1, -2], "<i2").tobytes()
    out = np.frombuffer(packer.push(left, right), "<i2")
    assert out.tolist() == [1, -1, 2, -2]
    alone = np.full(8000, 7, "<i2").tobytes()  # 1 s of caller audio, nothing heard
    out = np.frombuffer(packer.push(alone, b""), "<i2")
    assert len(out) == 2 * 8001 and out[1::2].tolist() == [0] * 8001


class TapSession:
    """A stand-in with the CallSession API live listen uses."""

    class Media:
        clock_rate = 8000

    def __init__(self) -> None:
        self.media = self.Media()
        self.hungup = asyncio.Event()
        self.taps: list[Callable[[list[bytes], list[bytes]], None]] = []

    def tap_audio(self, tap: Callable[[list[bytes], list[bytes]], None]) -> Callable[[], None]:
        self.taps.append(tap)
        return lambda: self.taps.remove(tap)


async def tap_and_receive(session: TapSession, ws: Any) -> np.ndarray:
    """Feed 40 ms of a constant caller and far side into the session's tap; the stereo PCM
    the listener's WebSocket receives (checked: left caller, right far side)."""
    caller = np.full(160, 1000, "<i2").tobytes()
    far = np.full(160, -2000, "<i2").tobytes()
    session.taps[0]([caller, caller], [far, far])
    msg = await ws.receive(timeout=5)
    assert msg.type == WSMsgType.BINARY
    pcm = np.frombuffer(msg.data, "<i2")
    assert set(pcm[0::2]) == {1000} and set(pcm[1::2]) == {-2000}
    return pcm


Client = TestClient[web.Request, web.Application]
Body = Callable[[Client, CallStore, dict[str, Any], dict[str, str]], Awaitable[None]]


def run(tmp_path: Path, body: Body) -> None:
    """`body(client, store, sessions, tokens)` against the live routes with sign-in, one API
    token per role, and `sessions` as this process's sessions."""
    async def main() -> None:
        store = CallStore(tmp_path / "ivr.sqlite")
        users = UserStore(store)
        tokens = {role: users.add_token(role, role) for role in ("supervisor", "admin", "agent")}
        sessions: dict[str, Any] = {}
        app = web.Application()
        add_auth_routes(app, store, SECRET)
        add_live_routes(app, store, lambda: sessions).poll_s = 0.05
        try:
            async with TestClient(TestServer(app)) as client:
                await body(client, store, sessions, tokens)
        finally:
            store.close()

    asyncio.run(main())


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_roles_supervisors_and_admins_only(tmp_path: Path) -> None:
    async def body(client: Client, store: CallStore, sessions: dict[str, Any],
                   tokens: dict[str, str]) -> None:
        for path in ("/dash/api/live", "/dash/api/live/events", "/dash/api/live/x/listen"):
            assert (await client.get(path)).status == 401
            assert (await client.get(path, headers=bearer(tokens["agent"]))).status == 403
        page = await client.get("/dash/live", allow_redirects=False)
        assert page.status == 303 and page.headers["Location"].startswith("/login?next=/dash/live")
        page = await client.get("/dash/live", headers=bearer(tokens["supervisor"]))
        assert page.status == 200 and "live.js" in await page.text()
        assert "default-src 'self'" in page.headers["Content-Security-Policy"]
        got = await client.get("/dash/api/live", headers=bearer(tokens["admin"]))
        assert got.status == 200 and (await got.json())["calls"] == []
        assert (await client.get("/dash/live/live.js")).status == 200

    run(tmp_path, body)


def test_sse_delivers_a_new_active_call(tmp_path: Path) -> None:
    async def body(client: Client, store: CallStore, sessions: dict[str, Any],
                   tokens: dict[str, str]) -> None:
        resp = await client.get("/dash/api/live/events", headers=bearer(tokens["supervisor"]))
        assert resp.headers["Content-Type"].startswith("text/event-stream")

        async def next_snapshot() -> dict[str, Any]:
            event = None
            while True:
                line = (await resp.content.readline()).decode().rstrip("\n")
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event == "snapshot":
                    return json.loads(line[6:])

        async with asyncio.timeout(5):
            assert (await next_snapshot())["calls"] == []
            store.call_started("c1", caller="1002", language="en-US")  # another worker's call
            store.add_event("c1", "utterance", {"text": "I want my money back"})
            snap = await next_snapshot()
        assert [c["id"] for c in snap["calls"]] == ["c1"]
        assert snap["calls"][0]["transcript"][0]["text"] == "I want my money back"
        resp.close()

    run(tmp_path, body)


def test_listen_streams_both_directions_and_closes_when_the_call_ends(tmp_path: Path) -> None:
    async def body(client: Client, store: CallStore, sessions: dict[str, Any],
                   tokens: dict[str, str]) -> None:
        store.call_started("c1", caller="1002")
        store.call_started("elsewhere", caller="1003")
        session = sessions["c1"] = TapSession()
        headers = bearer(tokens["supervisor"])
        assert (await client.get("/dash/api/live/nope/listen", headers=headers)).status == 404
        assert (await client.get("/dash/api/live/elsewhere/listen", headers=headers)).status == 409
        evil = {**headers, "Origin": "https://evil.example"}
        assert (await client.get("/dash/api/live/c1/listen", headers=evil)).status == 403
        ws = await client.ws_connect("/dash/api/live/c1/listen", headers=headers)
        fmt = await ws.receive_json(timeout=5)
        assert fmt["sample_rate"] == 8000 and fmt["channels"] == 2
        assert len(session.taps) == 1
        pcm = await tap_and_receive(session, ws)
        assert len(pcm) == 640
        for _ in range(1000):  # a stalled listener: the tap drops, never blocks or raises
            session.taps[0]([pcm[0::2].tobytes()], [pcm[1::2].tobytes()])
        session.hungup.set()
        end = None
        async with asyncio.timeout(5):
            while end is None:
                msg = await ws.receive()
                if msg.type == WSMsgType.TEXT:
                    end = json.loads(msg.data)
        assert end["type"] == "end" and end["reason"] == "call ended"
        assert (await ws.receive(timeout=5)).type in (WSMsgType.CLOSE, WSMsgType.CLOSED)
        await asyncio.sleep(0.05)
        assert session.taps == []
        audit = list(store.db.query("select * from audit_log where action = 'listen_live'"))
        assert [(a["user"], a["call_id"]) for a in audit] == [("supervisor", "c1")]

    run(tmp_path, body)


def test_session_audio_tap_hands_over_caller_and_ivr_audio(tmp_path: Path) -> None:
    got: list[tuple[int, int]] = []

    async def scenario(c: Call) -> None:
        remove = c.session.tap_audio(lambda caller, far: got.append(
            (sum(map(len, caller)), sum(map(len, far)))))
        await c.wait_event("listen", node="main_menu")
        c.say(tone(0.3))
        await asyncio.sleep(0.2)
        remove()
        before = len(got)
        c.say(tone(0.3))
        await asyncio.sleep(0.1)
        assert len(got) == before  # removed: no more calls
        c.session.on_hangup("caller_hangup")

    run_call(tmp_path, scenario)
    assert sum(a for a, _ in got) > 0 and sum(b for _, b in got) > 0


def test_streams_end_when_the_app_shuts_down(tmp_path: Path) -> None:
    async def main() -> None:
        store = CallStore(tmp_path / "ivr.sqlite")
        token = UserStore(store).add_token("sup", "supervisor")
        session = TapSession()
        store.call_started("c1", caller="1002")
        app = web.Application()
        add_auth_routes(app, store, SECRET)
        board = add_live_routes(app, store, lambda: {"c1": session})
        client = TestClient(TestServer(app))
        await client.start_server()
        sse = await client.get("/dash/api/live/events", headers=bearer(token))
        ws = await client.ws_connect("/dash/api/live/c1/listen", headers=bearer(token))
        await ws.receive_json(timeout=5)
        assert len(board.tasks) == 2
        async with asyncio.timeout(5):  # neither stream holds the shutdown up
            await client.close()
        assert board.tasks == set() and session.taps == []
        sse.close()
        store.close()

    asyncio.run(main())
