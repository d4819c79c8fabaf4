"""The complete call transcript (`ivr.storage.transcript`) over a real CallStore: prompts
played (greeting, menu cut by the caller, a webhook's answer after a turn that stored no
prompt, hold messages), caller turns and hand-over answers, agent-leg lines, in time order;
personal numbers masked as stored; the agent-leg rows, their claim by one worker, their
deletion with the call; the summary's use of it; the API's `transcript`."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiohttp.test_utils import TestClient, TestServer

from ivr.call import events as ev
from ivr.call.call_record import CallRecord
from ivr.escalation.summary import summarise
from ivr.privacy import Redactor
from ivr.storage import transcript
from ivr.storage.call_store import CallStore, open_store
from ivr.web.api import build_app

T0 = 1_790_000_000.0
TOKEN = "transcript-token"


def seed(store: CallStore) -> None:
    """A balance enquiry by webhook, then an escalation bridged to agent 8001."""
    s = store
    s.call_started("c1", caller="13800138000", started_at=T0, answered_at=T0,
                   language="zh-CN", agent_id="8001", recording_path="/nowhere.wav")
    ts = T0
    for dt, type_, data in [
        (0.2, "prompt", {"node": "welcome", "language": "zh-CN", "text": "您好，欢迎致电。",
                         "barge_in": False}),
        (3.0, "prompt_end", {"node": "welcome", "interrupted": False}),
        (3.1, "prompt", {"node": "main_menu", "language": "zh-CN",
                         "text": "查余额请按1，转人工请按0。", "barge_in": True}),
        (4.5, "prompt_end", {"node": "main_menu", "interrupted": True}),
        (6.4, "webhook", {"node": "balance", "method": "GET", "url": "http://x", "ok": True,
                          "ms": 120}),
        (6.6, "prompt", {"node": "balance_said", "language": "zh-CN",
                         "text": "您的余额是52元。", "barge_in": True}),
        (8.0, "prompt_end", {"node": "balance_said", "interrupted": False}),
        (12.0, "prompt", {"node": "agent", "language": "zh-CN", "text": "正在为您转接人工。",
                          "barge_in": False}),
        (14.0, "prompt", {"node": "handover", "language": "zh-CN",
                          "text": "请继续等待请按2。", "barge_in": True}),
        (15.0, "handover_input", {"mode": "dtmf", "text": "2"}),
        (18.0, "agent_connected", {"agent_id": "8001", "queue": "general", "wait_s": 6.0}),
        (40.0, "agent_disconnected", {"agent_id": "8001", "by": "caller"}),
    ]:
        s.add_event("c1", type_, data, ts=ts + dt)
    # the caller spoke over the menu (speech start 4.4 s); the webhook's answer is played by
    # the step after the turn, so the turn itself stored no prompt
    s.add_turn("c1", 1, node="main_menu", caller_text="查一下余额", input_mode="speech",
               outcome="match", intent="balance", speech_start=T0 + 4.4, created_at=T0 + 6.2)
    s.add_turn("c1", 2, node="balance_said", dtmf="0", input_mode="dtmf", outcome="match",
               intent="agent", created_at=T0 + 11.9, prompt="正在为您转接人工。")
    s.call_ended("c1", "caller_hangup")
    s.update_call("c1", ended_at=T0 + 40.0)


@pytest.fixture
def store(tmp_path, db_url):
    s = open_store(db_url, tmp_path / "ivr.sqlite")  # SQLite and PostgreSQL
    seed(s)
    yield s
    s.close()


def test_every_prompt_and_turn_in_time_order_with_who_spoke(store: CallStore) -> None:
    transcript.save_agent_leg(store.db, "c1", [
        {"ts": T0 + 19.0, "end_ts": T0 + 21.0, "speaker": "agent", "text": "您好，我是8001号。"},
        {"ts": T0 + 22.0, "end_ts": T0 + 24.0, "speaker": "caller", "text": "我的卡被锁了。"},
    ], "done")
    call = store.get_call("c1")
    assert call is not None
    lines = transcript.build(call, transcript.agent_leg_lines(store.db, "c1"))
    assert [(line.speaker, line.text) for line in lines] == [
        ("ivr", "您好，欢迎致电。"), ("ivr", "查余额请按1，转人工请按0。"),
        ("caller", "查一下余额"), ("ivr", "您的余额是52元。"), ("caller", "[keys 0]"),
        ("ivr", "正在为您转接人工。"),
        ("ivr", "请继续等待请按2。"), ("caller", "2"), ("agent", "您好，我是8001号。"),
        ("caller", "我的卡被锁了。")]
    assert [line.interrupted for line in lines][:3] == [False, True, False]
    assert [line.kind for line in lines][-3:] == ["handover_input", "agent_leg", "agent_leg"]
    assert lines[2].seq == 1 and lines[2].node == "main_menu"
    as_json = transcript.for_call(store.db, call)
    assert as_json[0]["offset_s"] == 0.2 and as_json[-1]["offset_s"] == 22.0
    assert transcript.text_lines(lines)[1] == "IVR: 查余额请按1，转人工请按0。 [interrupted]"


def test_recorded_audio_prompts_and_bad_rows_do_not_break_it() -> None:
    call = {"answered_at": T0, "turns": [{"seq": 1, "caller_text": "hi"}, "junk"],
            "events": [{"ts": T0 + 1, "type": "prompt", "data": {"node": "a",
                                                                 "text": "file:/x.wav"}},
                       {"ts": None, "type": "prompt", "data": {"text": "no time"}},
                       {"ts": T0 + 2, "type": "prompt", "data": "not a dict"},
                       {"ts": T0 + 3, "type": "prompt_end", "data": {"node": "zz"}}]}
    lines = transcript.build(call)
    assert [(line.speaker, line.text) for line in lines] == [("ivr", "[recorded audio]")]


def test_a_call_without_prompt_events_shows_its_turns_stored_prompts() -> None:
    call = {"answered_at": T0, "events": [], "turns": [
        {"seq": 2, "caller_text": "不是", "speech_start": T0 + 9, "prompt": "好的。\n再见。",
         "reply_first_audio": T0 + 11},
        {"seq": 1, "dtmf": "1", "created_at": T0 + 4, "prompt": "请说出金额。"}]}
    lines = transcript.build(call)
    assert [(line.speaker, line.text, line.kind) for line in lines] == [
        ("caller", "[keys 1]", "turn"), ("ivr", "请说出金额。", "stored_prompt"),
        ("caller", "不是", "turn"), ("ivr", "好的。", "stored_prompt"),
        ("ivr", "再见。", "stored_prompt")]
    assert transcript.with_played_prompts(call)[0]["prompt"] == "请说出金额。"


def test_a_read_back_is_stored_and_shown_masked(tmp_path) -> None:
    store = CallStore(tmp_path / "m.sqlite")
    try:
        store.call_started("c2", answered_at=time.time())
        record = CallRecord("c2", store, Redactor(True), {"card"})
        record.emit(ev.Prompt(node="confirm", language="zh-CN",
                              text="您的卡号是6222021234567890128，对吗？", barge_in=True))
        call = store.get_call("c2")
        assert call is not None
        [line] = transcript.build(call)
        assert "6222021234567890128" not in line.text and "0128" in line.text
    finally:
        store.close()


def test_the_summary_sees_the_webhook_answer_the_turn_lacked(store: CallStore) -> None:
    call = store.get_call("c1")
    assert call is not None and call["turns"][0]["prompt"] is None
    turns = transcript.with_played_prompts(call)
    assert turns[0]["prompt"] == "您的余额是52元。"
    assert turns[1]["prompt"] == "正在为您转接人工。"  # stored: kept, no hold message added
    summary = summarise(call, [], None)
    assert summary.steps[0].said == "您的余额是52元。"


def test_pending_legs_are_claimed_once_and_forgotten_with_the_call(store: CallStore) -> None:
    assert [c["id"] for c in transcript.pending_agent_legs(store.db)] == ["c1"]
    assert transcript.claim_agent_leg(store.db, "c1", "w1")
    assert not transcript.claim_agent_leg(store.db, "c1", "w2")  # another worker has it
    assert transcript.pending_agent_legs(store.db) == []
    assert transcript.claim_agent_leg(store.db, "c1", "w2", stale_s=-1)  # w1 died
    transcript.save_agent_leg(store.db, "c1", [
        {"ts": T0 + 19, "speaker": "agent", "text": "x" * 5000},
        {"ts": T0 + 20, "speaker": "nobody", "text": "dropped"}], "done")
    assert transcript.agent_leg_state(store.db, "c1")["status"] == "done"
    [row] = transcript.agent_leg_lines(store.db, "c1")
    assert len(row["text"]) == transcript.MAX_LINE_CHARS
    assert not transcript.claim_agent_leg(store.db, "c1", "w3")  # done is done
    assert transcript.forget_orphans(store.db) == 0
    store.db.execute("delete from events where call_id = 'c1'")
    store.db.execute("delete from turns where call_id = 'c1'")
    store.db.execute("delete from calls where id = 'c1'")  # as `ivr forget` does
    assert transcript.forget_orphans(store.db) == 1
    assert transcript.agent_leg_lines(store.db, "c1") == []
    assert transcript.agent_leg_state(store.db, "c1") is None


def test_old_agent_lines_follow_the_transcripts_retention(store: CallStore) -> None:
    transcript.save_agent_leg(store.db, "c1", [{"ts": T0 + 19, "speaker": "agent",
                                                "text": "old"}], "done")
    assert transcript.forget_orphans(store.db, time.time() - 3600) == 0
    assert transcript.forget_orphans(store.db, time.time() + 1) == 1


def test_the_api_returns_the_transcript(store: CallStore) -> None:
    async def main() -> dict:
        app = build_app(store, TOKEN, lambda: {})
        async with TestClient(TestServer(app)) as client:
            resp = await client.get("/api/calls/c1",
                                    headers={"Authorization": f"Bearer {TOKEN}"})
            assert resp.status == 200
            return await resp.json()

    call = asyncio.run(main())
    assert [line["speaker"] for line in call["transcript"]][:4] == [
        "ivr", "ivr", "caller", "ivr"]
    assert call["transcript"][3]["text"] == "您的余额是52元。"
    assert call["agent_transcript"] is None  # not transcribed yet


class _Leg:
    """A transcriber that says what it was given (the real one: test_agent_transcript)."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def transcribe(self, call: dict) -> tuple[list[dict], str, str | None]:
        self.calls.append(call["id"])
        return [{"ts": T0 + 19, "speaker": "agent", "text": "您好"}], "done", None


def test_the_service_task_transcribes_each_ended_leg_once(store: CallStore) -> None:
    from ivr.service_tasks import transcribe_next_leg

    leg = _Leg()
    assert asyncio.run(transcribe_next_leg(store, leg, since=0.0)) == "c1"
    assert asyncio.run(transcribe_next_leg(store, leg, since=0.0)) is None
    assert leg.calls == ["c1"]
    assert [r["text"] for r in transcript.agent_leg_lines(store.db, "c1")] == ["您好"]
    store.call_started("c3", agent_id="8002", recording_path="/x.wav")  # still active
    assert asyncio.run(transcribe_next_leg(store, leg, since=0.0)) is None
    store.call_ended("c3", "caller_hangup")
    assert asyncio.run(transcribe_next_leg(store, leg, since=time.time() + 60)) is None
    assert asyncio.run(transcribe_next_leg(store, leg, since=0.0)) == "c3"
