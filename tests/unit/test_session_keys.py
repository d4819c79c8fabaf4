"""Keys pressed during a call (CallSession on fakes, tests/unit/call_runner.py): menu choices
and barge-in by DTMF, digits gathered up to '#' or the interdigit timeout, multi-key menu
choices, and the timestamps of the turns they make."""

from __future__ import annotations

import asyncio
import time

from tests.unit.call_runner import CALL_ID, KEYS_PLAN, Call, hotline_variable_account, run_call


def test_dtmf_english_then_bill_then_goodbye(tmp_path):
    async def scenario(c: Call) -> None:
        await c.wait_event("listen", node="main_menu")
        c.dtmf("9")  # barge-in over the greeting
        await c.wait_event("listen", node="main_menu", language="en-US")
        c.dtmf("1")
        await c.wait_event("listen", node="anything_else")
        await c.wait_event("prompt_end", node="anything_else")
        c.dtmf("2")
        await c.wait_event("listen", node="satisfaction")
        c.dtmf("5")  # the survey after a contained call

    c = run_call(tmp_path, scenario)
    turns = c.row()["turns"]
    assert [(t["seq"], t["node"], t["input_mode"], t["dtmf"], t["outcome"], t["intent"])
            for t in turns] == [
        (1, "main_menu", "dtmf", "9", "match", "english"),
        (2, "main_menu", "dtmf", "1", "match", "bill_enquiry"),
        (3, "anything_else", "dtmf", "2", "match", "deny"),
        (4, "satisfaction", "dtmf", "5", "match", None),
    ]
    assert [t["language"] for t in turns] == ["zh-CN", "en-US", "en-US", "en-US"]
    assert turns[1]["prompt"] == (
        "Your bill for this month is 98 yuan, and your current balance is 58 yuan 20.\n"
        "Is there anything else I can help you with? Say yes or press 1, or say no or press 2.")
    assert all(t["reply_first_audio"] is not None for t in turns)
    assert turns[0]["reply_first_audio"] >= turns[0]["created_at"] - 1
    row = c.row()
    assert row["language"] == "en-US"
    assert (row["status"], row["end_reason"], row["turn_count"]) == ("ended", "completed", 4)
    assert c.control.hangups == [CALL_ID]
    assert c.events("language") == [{"language": "en-US", "profile": "en-US"}]
    assert c.events("hangup_by_ivr") == [{"reason": "completed"}]
    assert c.events("barge_in", cause="dtmf")[0]["node"] == "welcome"
    # the goodbye was played completely before the IVR hung up
    goodbye = c.prompts.rendered[("Thank you for calling Xinghe Telecom. Goodbye.", "en-US")]
    assert c.media.playback_of(goodbye).interrupted is False
    assert c.prompts.requests[-1] == ("Thank you for calling Xinghe Telecom. Goodbye.", "en-US")


def test_timestamps_follow_a_step_of_the_system_clock(tmp_path, monkeypatch):
    """The system clock was stepped (NTP) an hour forward after the service started: a new
    call's timestamps agree with the wall clock the store uses, not with the old one."""
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 3600.0)

    async def scenario(c: Call) -> None:
        await c.wait_event("listen", node="main_menu")
        c.dtmf("9")
        await c.wait_event("listen", node="main_menu", language="en-US")
        c.session.on_hangup("caller_hangup")

    c = run_call(tmp_path, scenario)
    row = c.row()
    assert abs(row["answered_at"] - (real_time() + 3600.0)) < 60
    turn = row["turns"][0]
    assert turn["created_at"] - 1 <= turn["reply_first_audio"] <= turn["created_at"] + 60


def test_barge_in_disabled_by_settings(tmp_path):
    """No prompt is interrupted; a key is acted on, and the prompts still queued that it made
    obsolete (the offer and the Mandarin menu) are cut when the one playing has ended."""
    async def scenario(c: Call) -> None:
        await c.wait_event("listen", node="main_menu")
        assert c.session._playout.protected and len(c.media.playbacks) == 3
        c.dtmf("9")
        await c.wait_event("prompt_end", node="main_menu", interrupted=False)
        c.session.on_hangup("caller_hangup")

    c = run_call(tmp_path, scenario, barge_in=False, speed=0.2)
    assert c.events("barge_in") == [{"cause": "dtmf", "node": "welcome_english_offer",
                                     "latency_ms": None, "deferred": True}]
    played = [(e["node"], e["language"]) for e in c.events("prompt")]
    assert played[0] == ("welcome", "zh-CN") and played[-1] == ("main_menu", "en-US")
    welcome, offer, menu_zh, menu_en = c.media.playbacks
    assert not welcome.interrupted and not menu_en.interrupted
    # cut as the welcome ended (the offer had just been started by the media clock)
    assert offer.interrupted and menu_zh.interrupted and menu_zh.started_at is None
    (turn,) = c.row()["turns"]
    assert (turn["dtmf"], turn["intent"]) == ("9", "english")


def test_dtmf_digits_collected_for_gather(tmp_path):
    async def scenario(c: Call) -> None:
        await c.wait_event("listen", node="main_menu")
        c.dtmf("2")
        await c.wait_event("listen", node="broadband_account")
        c.dtmf("12345678#")
        await c.wait_event("listen", node="anything_else")
        c.dtmf("3")  # no such key at anything_else
        await c.wait_event("turn", count=3)
        c.session.on_hangup("caller_hangup")

    c = run_call(tmp_path, scenario)
    turns = c.row()["turns"]
    assert [(t["node"], t["dtmf"], t["outcome"]) for t in turns] == [
        ("main_menu", "2", "match"),
        ("broadband_account", "12345678", "match"),
        ("anything_else", "3", "no_match"),
    ]
    assert turns[1]["slots"] == {"account": "12345678"}
    said = "已为您登记宽带报修，账号幺二三四五六七八。维修人员将在二十四小时内与您联系。"
    assert (said, "zh-CN") in c.prompts.requests


def test_dtmf_digits_end_after_interdigit_timeout(tmp_path):
    async def scenario(c: Call) -> None:
        await c.wait_event("listen", node="main_menu")
        c.dtmf("2")
        await c.wait_event("listen", node="broadband_account")
        await c.wait_event("prompt_end", node="broadband_account")
        c.dtmf("654321")  # no '#': the 0.3 s interdigit timeout ends the entry
        await c.wait_event("turn", count=2)
        c.session.on_hangup("caller_hangup")

    c = run_call(tmp_path, scenario, plan_path=hotline_variable_account(tmp_path))
    second = c.row()["turns"][1]
    assert (second["dtmf"], second["outcome"], second["slots"]) == (
        "654321", "match", {"account": "654321"})


def test_multi_key_menu_choice(tmp_path):
    plan = tmp_path / "plan.yaml"
    plan.write_text(KEYS_PLAN, encoding="utf-8")

    async def scenario(c: Call) -> None:
        await c.wait_event("listen", node="menu")
        await c.wait_event("prompt_end", node="menu")
        c.dtmf("12")
        await c.wait_event("turn")
        await asyncio.sleep(0.05)
        c.session.on_hangup("caller_hangup")

    c = run_call(tmp_path / "data", scenario, plan_path=plan)
    first = c.row()["turns"][0]
    assert (first["dtmf"], first["outcome"]) == ("12", "match")
