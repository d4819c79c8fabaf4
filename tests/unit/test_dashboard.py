"""Supervisor dashboard over aiohttp's TestClient: filters, recordings with Range, reviews,
agents limited to their own calls, metrics JSON, /metrics text and the audit log."""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from aiohttp.test_utils import TestClient, TestServer

from ivr.storage.call_store import CallStore, open_store
from ivr.web.api import build_app
from tests.web_helpers import make_user, sign_in

TOKEN = "dash-test-token"
PASSWORD = "password-123"
NOW = time.time()
RATE = 16000


def seed(store: CallStore, recording: Path) -> None:
    """A crisis call with a recording (agent 8001), a quiet Sichuan call (agent 8002) and a
    call with three failed turns in a row."""
    left = (0.5 * np.sin(np.arange(RATE) * 2 * np.pi * 440 / RATE)).astype(np.float32)
    right = (0.25 * np.sin(np.arange(RATE) * 2 * np.pi * 220 / RATE)).astype(np.float32)
    sf.write(str(recording), np.stack([left, right], axis=1), RATE, subtype="PCM_16")
    t = NOW - 3600
    store.call_started("c-crisis", caller="13800138000", started_at=t, answered_at=t + 0.5,
                       language="zh-CN", profile="zh-CN", agent_id="8001",
                       recording_path=str(recording))
    store.add_turn("c-crisis", 1, node="menu", prompt="请问您需要什么帮助？", input_mode="speech",
                   caller_text="我不想活了", outcome="match", intent="self_harm",
                   asr_confidence=0.9, speech_start=t + 2, speech_end=t + 3,
                   reply_first_audio=t + 3.6, emotion={"anger": 0.2, "distress": 0.8})
    store.add_event("c-crisis", "first_audio", {"answer_to_audio_ms": 420})
    store.add_event("c-crisis", "transfer", {"target": "queue:urgent", "reason": "crisis"})
    store.add_event("c-crisis", "escalation_summary", {"intent": "self_harm",
                                                       "text": "危机：来电者表示轻生"})
    store.update_call("c-crisis", escalated=1, transfer_target="queue:urgent")
    store.call_ended("c-crisis", "transferred:8001")
    store.call_started("c-quiet", caller="13900000000", started_at=t + 60, answered_at=t + 61,
                       profile="zh-sichuan", agent_id="8002")
    store.add_turn("c-quiet", 1, node="menu", input_mode="speech", caller_text="查一下话费",
                   outcome="match", intent="bill", asr_confidence=0.95,
                   emotion={"anger": 0.1, "distress": 0.0})
    store.call_ended("c-quiet", "caller_hangup")
    store.call_started("c-fail", caller="13700000000", started_at=NOW - 10 * 86400,
                       profile="zh-sichuan")
    for seq, outcome in enumerate(["no_match", "no_input", "no_match"], 1):
        store.add_turn("c-fail", seq, node="menu", input_mode="speech", outcome=outcome,
                       asr_confidence=0.8)
    store.call_ended("c-fail", "caller_hangup")


@pytest.fixture
def store(tmp_path: Path, db_url: str | None) -> Iterator[CallStore]:
    s = open_store(db_url, tmp_path / "ivr.sqlite")
    seed(s, tmp_path / "c-crisis.wav")
    make_user(s, "sue", "supervisor", PASSWORD)
    make_user(s, "ann", "agent", PASSWORD, agent_id="8002")
    yield s
    s.close()


def run(store: CallStore, body: Callable[[TestClient], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        app = build_app(store, TOKEN, lambda: {})
        async with TestClient(TestServer(app)) as client:
            async with asyncio.timeout(20):
                return await body(client)

    return asyncio.run(main())


def audit_rows(store: CallStore) -> list[tuple[str, str, str | None]]:
    return [(r["user"], r["action"], r["call_id"]) for r in store.db.query(
        "select * from audit_log where action not in ('sign_in', 'sign_out') order by id")]


async def ids(client: TestClient, query: str = "") -> list[str]:
    resp = await client.get("/dash/api/calls" + query)
    assert resp.status == 200, await resp.text()
    return [c["id"] for c in (await resp.json())["calls"]]


def test_list_filters(store: CallStore) -> None:
    async def body(client: TestClient) -> None:
        await sign_in(client, "sue", PASSWORD)
        assert await ids(client) == ["c-quiet", "c-crisis", "c-fail"]
        assert await ids(client, "?flag=crisis") == ["c-crisis"]
        assert await ids(client, "?flag=distress") == ["c-crisis"]
        assert await ids(client, "?flag=repeated_failure") == ["c-fail"]
        assert await ids(client, "?dialect=zh-sichuan") == ["c-quiet", "c-fail"]
        assert await ids(client, "?escalated=1") == ["c-crisis"]
        assert await ids(client, "?escalated=0") == ["c-quiet", "c-fail"]
        assert await ids(client, "?intent=bill") == ["c-quiet"]
        assert await ids(client, "?agent=8001") == ["c-crisis"]
        assert await ids(client, "?q=话费") == ["c-quiet"]
        assert await ids(client, "?q=137000") == ["c-fail"]
        assert await ids(client, "?q=%25") == []
        assert await ids(client, f"?from={NOW - 86400}&to={NOW}") == ["c-quiet", "c-crisis"]
        page = await (await client.get("/dash/api/calls?limit=1&offset=1")).json()
        assert [c["id"] for c in page["calls"]] == ["c-crisis"] and page["total"] == 3
        assert page["calls"][0]["flags"][0] == {
            "code": "crisis", "reason": "transferred for a crisis phrase", "severity": "critical"}
        assert (await client.get("/dash/api/calls?limit=x")).status == 400

    run(store, body)


def test_call_page_data_is_audited(store: CallStore) -> None:
    async def body(client: TestClient) -> None:
        await sign_in(client, "sue", PASSWORD)
        resp = await client.get("/dash/api/calls/c-crisis")
        call = await resp.json()
        assert resp.status == 200
        assert [f["code"] for f in call["flags"]] == ["crisis", "distress", "escalation"]
        assert call["summary"]["text"] == "危机：来电者表示轻生"
        assert call["turns"][0]["timings"]["eos_to_reply_audio_ms"] == 600
        assert call["has_recording"] is True and "recording_path" not in call
        assert (await client.get("/dash/api/calls/nope")).status == 404

    run(store, body)
    assert audit_rows(store) == [("sue", "view_call", "c-crisis"),
                                 ("sue", "view_transcript", "c-crisis")]


def test_recording_channels_and_ranges(store: CallStore) -> None:
    stereo, _ = sf.read(store.get_call("c-crisis")["recording_path"], dtype="int16")

    async def body(client: TestClient) -> None:
        await sign_in(client, "sue", PASSWORD)
        url = "/dash/api/calls/c-crisis/recording"
        for channel, expected in [("caller", stereo[:, 0]), ("ivr", stereo[:, 1])]:
            resp = await client.get(f"{url}?channel={channel}")
            assert resp.status == 200 and resp.headers["Content-Type"] == "audio/wav"
            assert resp.headers["Accept-Ranges"] == "bytes"
            mono, rate = sf.read(io.BytesIO(await resp.read()), dtype="int16")
            assert rate == RATE and mono.ndim == 1
            assert np.abs(mono.astype(int) - expected).max() <= 1
        full = await (await client.get(url)).read()  # mixed by default
        mixed, _ = sf.read(io.BytesIO(full), dtype="int16")
        assert np.abs(mixed.astype(int) - stereo.sum(axis=1)).max() <= 2
        part = await client.get(url, headers={"Range": "bytes=100-199"})
        assert part.status == 206
        assert part.headers["Content-Range"] == f"bytes 100-199/{len(full)}"
        assert await part.read() == full[100:200]
        tail = await client.get(url, headers={"Range": "bytes=-10"})
        assert tail.status == 206 and await tail.read() == full[-10:]
        bad = await client.get(url, headers={"Range": f"bytes={len(full)}-"})
        assert bad.status == 416 and bad.headers["Content-Range"] == f"bytes */{len(full)}"
        assert (await client.get(f"{url}?channel=left")).status == 400
        missing = await client.get("/dash/api/calls/c-quiet/recording")
        assert missing.status == 404

    run(store, body)
    plays = [r for r in audit_rows(store) if r[1] == "play_recording"]
    assert len(plays) == 3  # caller, ivr and mixed; seeks (ranges past byte 0) are not


def test_review_is_stored_and_needs_csrf(store: CallStore) -> None:
    async def body(client: TestClient) -> None:
        csrf = await sign_in(client, "sue", PASSWORD)
        url = "/dash/api/calls/c-crisis/review"
        review = {"reviewed": True, "note": "Handled well", "tags": ["crisis", " coaching "]}
        assert (await client.post(url, json=review)).status == 403
        resp = await client.post(url, json=review, headers={"X-CSRF-Token": csrf})
        saved = await resp.json()
        assert resp.status == 200, saved
        assert saved["reviewed_by"] == "sue" and saved["tags"] == ["coaching", "crisis"]
        call = await (await client.get("/dash/api/calls/c-crisis")).json()
        assert call["review"]["note"] == "Handled well" and call["review"]["reviewed"] == 1
        assert await ids(client, "?reviewed=1") == ["c-crisis"]
        assert await ids(client, "?reviewed=0") == ["c-quiet", "c-fail"]
        bad = await client.post(url, json={"tags": "x"}, headers={"X-CSRF-Token": csrf})
        assert bad.status == 400

    run(store, body)
    assert ("sue", "review_call", "c-crisis") in audit_rows(store)
    row = next(store.db.query("select detail from audit_log where action = 'review_call'"))
    assert json.loads(row["detail"]) == {"reviewed": True, "tags": ["coaching", "crisis"]}


def test_agent_sees_only_own_calls_and_no_metrics(store: CallStore) -> None:
    async def body(client: TestClient) -> None:
        csrf = await sign_in(client, "ann", PASSWORD)
        assert await ids(client) == ["c-quiet"]
        assert await ids(client, "?agent=8001") == []
        assert (await client.get("/dash/api/calls/c-quiet")).status == 200
        assert (await client.get("/dash/api/calls/c-crisis")).status == 403
        assert (await client.get("/dash/api/calls/c-crisis/recording")).status == 403
        assert (await client.get("/dash/api/metrics")).status == 403
        resp = await client.post("/dash/api/calls/c-quiet/review", json={"reviewed": True},
                                 headers={"X-CSRF-Token": csrf})
        assert resp.status == 403

    run(store, body)
    assert ("ann", "view_call", "c-crisis") not in audit_rows(store)


def test_metrics_json_and_prometheus(store: CallStore) -> None:
    async def body(client: TestClient) -> None:
        assert (await client.get("/dash/api/metrics")).status == 401
        assert (await client.get("/metrics")).status == 401
        text = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert text.status == 200 and text.content_type == "text/plain"
        body_text = await text.text()
        assert 'ivr_escalations_total{reason="crisis"} 1' in body_text
        assert 'ivr_calls_total{end_reason="caller_hangup"} 2' in body_text
        assert "ivr_eos_to_reply_seconds_count 1" in body_text
        await sign_in(client, "sue", PASSWORD)
        resp = await client.get(f"/dash/api/metrics?from={NOW - 86400}&to={NOW}")
        m = await resp.json()
        assert resp.status == 200
        assert (m["calls"], m["contained"], m["escalated"]) == (2, 1, 1)
        assert m["escalation_reasons"] == {"crisis": 1}
        assert m["dialect_mix"] == {"zh-CN": 1, "zh-sichuan": 1}
        assert (await client.get("/dash/api/metrics?from=x")).status == 400
        assert (await client.get(f"/dash/api/metrics?from={NOW}&to={NOW - 1}")).status == 400

    run(store, body)


def test_pages_need_sign_in(store: CallStore) -> None:
    async def body(client: TestClient) -> None:
        resp = await client.get("/dash/calls", allow_redirects=False)
        assert resp.status == 303 and resp.headers["Location"].startswith("/login?next=")
        await sign_in(client, "sue", PASSWORD)
        resp = await client.get("/dash", allow_redirects=False)
        assert resp.status == 303 and resp.headers["Location"] == "/dash/calls"
        for path in ("/dash/calls", "/dash/calls/c-crisis", "/dash/metrics"):
            page = await client.get(path)
            assert page.status == 200 and "dash_common.js" in await page.text()
        js = await client.get("/dash/static/dash_call.js")
        assert js.status == 200 and "timeupdate" in await js.text()

    run(store, body)
