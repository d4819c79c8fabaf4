"""A call from answer to hang-up (CallSession on fakes, tests/unit/call_runner.py): the
greeting and the first audio, the caller hanging up mid-prompt with the recording kept, and
the IVR ending the call (maximum duration, service shutdown, a SIP transfer)."""

from __future__ import annotations

import asyncio
import time
import wave

import numpy as np

from audio_models.frames import AudioFrame, split_frames
from tests.unit.call_runner import (
    CALL_ID,
    KEYS_PLAN,
    MENU_ZH,
    OFFER,
    WELCOME_ZH,
    Call,
    run_call,
)


def _wav(path) -> tuple[tuple[int, int, int, int], np.ndarray]:
    with wave.open(str(path), "rb") as w:
        params = (w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes())
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2)
    return params, data


# ---------------------------------------------------------------- greeting
def test_greeting_prompts_in_order_and_first_audio(tmp_path):
    async def scenario(c: Call) -> None:
        await c.wait_event("listen", node="main_menu")
        await c.wait_event("prompt_end", node="main_menu")
        c.session.on_hangup("caller_hangup")

    c = run_call(tmp_path, scenario)
    assert c.prompts.requests == [(WELCOME_ZH, "zh-CN"), (OFFER, "en-US"), (MENU_ZH, "zh-CN")]
    # played one after the other, none interrupted
    assert [pb.audio for pb in c.media.playbacks] == [
        c.prompts.rendered[r] for r in c.prompts.requests]
    assert [pb.interrupted for pb in c.media.playbacks] == [False, False, False]
    starts = [pb.started_at for pb in c.media.playbacks]
    assert starts == sorted(starts)
    assert [e["node"] for e in c.events("prompt")] == [
        "welcome", "welcome_english_offer", "main_menu"]
    assert [e["language"] for e in c.events("prompt")] == ["zh-CN", "en-US", "zh-CN"]
    (first,) = c.events("first_audio")
    assert 0 <= first["answer_to_audio_ms"] < 500
    types = c.event_types()
    assert types[0] == "call_answered"
    assert types.index("first_audio") == types.index("prompt") + 1
    assert types[-1] == "call_ended"
    row = c.row()
    assert (row["status"], row["end_reason"], row["turn_count"]) == ("ended", "caller_hangup", 0)
    assert (row["caller"], row["callee"], row["sip_call_id"]) == ("1000", "2000", "sip-abc")
    assert row["dialplan"] == "xinghe-telecom-hotline"
    assert row["language"] == "zh-CN"
    assert c.control.hangups == []  # the caller hung up, not the IVR


# ---------------------------------------------------------------- caller hangs up
def test_caller_hangup_mid_prompt_keeps_recording(tmp_path):
    caller_pcm = np.full(16000 // 5, 1000, dtype="<i2").tobytes()  # 0.2 s, not speech

    async def scenario(c: Call) -> None:
        await c.wait_event("prompt", node="welcome")
        c.media.feed(split_frames(AudioFrame(caller_pcm, 16000, time.monotonic())))
        await asyncio.sleep(0.05)  # part of the 3.7 s (x2 speed) welcome prompt
        c.session.on_hangup("caller_hangup")

    c = run_call(tmp_path, scenario, speed=0.5)
    row = c.row()
    assert (row["status"], row["end_reason"], row["turn_count"]) == ("ended", "caller_hangup", 0)
    assert c.events("call_ended")[0]["reason"] == "caller_hangup"
    assert c.control.hangups == []
    assert not c.events("prompt", node="main_menu")  # the call ended before the menu

    path = c.settings.recordings_dir / f"{CALL_ID}.wav"
    assert row["recording_path"] == str(path)
    params, data = _wav(path)
    assert params[:3] == (2, 2, 16000)
    welcome = c.prompts.rendered[(WELCOME_ZH, "zh-CN")]
    n_ivr = params[3]
    assert len(caller_pcm) // 2 <= n_ivr < welcome.samples  # only part of the prompt
    assert (data[: len(caller_pcm) // 2, 0] == 1000).all()  # caller on the left
    assert not data[len(caller_pcm) // 2 :, 0].any()  # padded
    played = np.frombuffer(welcome.pcm, dtype="<i2")
    right = data[:, 1]
    sent = np.trim_zeros(right, "b")
    assert len(sent) > 0
    assert (sent == played[: len(sent)]).all()  # IVR on the right, from the start


# ---------------------------------------------------------------- IVR-side endings
def test_max_call_duration(tmp_path):
    async def scenario(c: Call) -> None:
        await c.wait_event("listen", node="main_menu")

    c = run_call(tmp_path, scenario, max_call_s=0.25)
    assert c.events("max_duration_reached") == [{"seconds": 0.25}]
    assert c.row()["end_reason"] == "max_duration"
    assert c.control.hangups == [CALL_ID]


def test_end_from_service(tmp_path):
    async def scenario(c: Call) -> None:
        await c.wait_event("listen", node="main_menu")
        c.session.end("service_shutdown")

    c = run_call(tmp_path, scenario)
    assert c.events("hangup_by_ivr") == [{"reason": "service_shutdown"}]
    assert c.row()["end_reason"] == "service_shutdown"
    assert c.control.hangups == [CALL_ID]


def test_sip_transfer_waits_for_the_endpoint(tmp_path):
    plan = tmp_path / "plan.yaml"
    plan.write_text(KEYS_PLAN, encoding="utf-8")

    async def scenario(c: Call) -> None:
        await c.wait_event("listen", node="menu")
        c.dtmf("3")
        await c.wait_event("transfer")
        await asyncio.sleep(0.05)
        assert c.control.transfers == [(CALL_ID, "sip:agent@127.0.0.1")]
        assert not c.task.done()  # waiting for the REFER to end the call
        c.session.on_hangup("transferred")

    c = run_call(tmp_path / "data", scenario, plan_path=plan)
    row = c.row()
    assert (row["end_reason"], row["escalated"], row["transfer_target"]) == (
        "transferred", 1, "sip:agent@127.0.0.1")
    assert c.control.hangups == []
