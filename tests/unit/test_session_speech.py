"""What the caller says, or does not (CallSession on fakes, tests/unit/call_runner.py): real
speech cut by the real endpointer barging in and recognised, a slow recognition, silence and
its reprompts, an ASR error, a hallucinated stock phrase and low-confidence speech."""

from __future__ import annotations

import time

import pytest

from audio_models.frames import AudioFrame, split_frames
from tests.unit.call_runner import (
    AGENT_EN,
    CALL_ID,
    MENU_EN,
    MENU_ZH,
    NO_INPUT_1_ZH,
    NO_INPUT_2_ZH,
    Call,
    run_call,
    speech_clip,
)
from tests.unit.fakes import transcript


# ---------------------------------------------------------------- real speech
def test_speech_barge_in_to_agent_transfer(tmp_path):
    clip = speech_clip()

    async def scenario(c: Call) -> None:
        await c.wait_event("listen", node="main_menu")
        c.dtmf("9")
        await c.wait_event("prompt", node="main_menu", language="en-US")
        c.say(clip)  # while the English menu is playing

    said = "Waiting to speak with a representative."
    c = run_call(tmp_path, scenario, asr_script=[transcript(said, "en", 0.9, 0.02)], speed=0.05)

    (barge,) = c.events("barge_in", cause="speech")
    assert barge["node"] == "main_menu"
    assert barge["latency_ms"] >= 0
    menu = c.media.playback_of(c.prompts.rendered[(MENU_EN, "en-US")])
    assert menu.interrupted is True
    assert c.events("prompt_end", node="main_menu", interrupted=True)

    # one recognition, in English, of the utterance the real endpointer cut
    assert c.asr.languages == ["en"]
    audio, _, initial_prompt = c.asr.calls[0]
    assert initial_prompt is None
    assert audio.sample_rate == 16000
    assert clip.duration < audio.duration < clip.duration + 1.0

    turns = c.row()["turns"]
    assert len(turns) == 2
    t = turns[1]
    assert (t["node"], t["language"], t["input_mode"]) == ("main_menu", "en-US", "speech")
    assert (t["caller_text"], t["outcome"], t["intent"]) == (said, "match", "agent")
    assert (t["asr_confidence"], t["no_speech_prob"], t["asr_seconds"]) == (0.9, 0.02, 0.125)
    assert t["speech_end"] - t["speech_start"] == pytest.approx(clip.duration, abs=0.3)
    assert t["speech_start"] < t["speech_end"] < t["asr_done"]
    assert t["prompt"] == AGENT_EN

    row = c.row()
    assert row["end_reason"] == "transfer:queue:general"
    assert (row["escalated"], row["transfer_target"]) == (1, "queue:general")
    assert row["status"] == "ended"
    assert c.events("transfer") == [{"target": "queue:general", "reason": "caller_request"}]
    assert c.control.transfers == []  # a queue, not a SIP URI: announced, then ended
    assert c.control.hangups == [CALL_ID]
    agent = c.media.playback_of(c.prompts.rendered[(AGENT_EN, "en-US")])
    assert agent.interrupted is False  # the announcement played out before the hangup
    utterance = c.events("utterance")[0]
    assert (utterance["text"], utterance["confidence"], utterance["asr_ms"]) == (said, 0.9, 125)


def test_a_slow_recognition_is_not_taken_for_silence(tmp_path):
    """On a busy machine the recognition of an utterance can take longer than the no-input
    timeout (0.3 s here, 1 s for the ASR): the turn is the caller's speech, not no input."""
    clip = speech_clip()

    async def scenario(c: Call) -> None:
        await c.wait_event("listen", node="main_menu")
        c.dtmf("9")
        await c.wait_event("prompt", node="main_menu", language="en-US")
        c.say(clip)

    said = "Waiting to speak with a representative."
    c = run_call(tmp_path, scenario, asr_script=[transcript(said, "en", 0.9, 0.02)],
                 speed=0.05, asr_delay_s=1.0)
    assert c.events("no_input") == []
    t = c.row()["turns"][1]
    assert (t["input_mode"], t["outcome"], t["intent"]) == ("speech", "match", "agent")
    assert t["asr_done"] - t["speech_end"] > 0.9  # it did wait for the slow recognition


# ---------------------------------------------------------------- silence
def test_silence_gives_no_input_reprompts_then_escalates(tmp_path):
    async def scenario(c: Call) -> None:
        await c.wait_event("listen", node="main_menu")
        c.media.feed(split_frames(AudioFrame.silence(1.0, 16000, time.monotonic())))

    c = run_call(tmp_path, scenario)
    turns = c.row()["turns"]
    assert [(t["node"], t["input_mode"], t["outcome"]) for t in turns] == [
        ("main_menu", "none", "no_input")] * 3
    assert turns[0]["prompt"] == f"{NO_INPUT_1_ZH}\n{MENU_ZH}"
    assert turns[1]["prompt"] == f"{NO_INPUT_2_ZH}\n{MENU_ZH}"
    assert c.prompts.requests[3:6] == [(NO_INPUT_1_ZH, "zh-CN"), (MENU_ZH, "zh-CN"),
                                       (NO_INPUT_2_ZH, "zh-CN")]
    assert c.prompts.requests[-1] == ("抱歉没能帮到您，正在为您转接人工客服，请稍候。", "zh-CN")
    assert c.events("no_input") == [{"node": "main_menu", "timeout_s": 0.3}] * 3
    assert c.asr.calls == []  # silence never reached the recogniser
    row = c.row()
    assert (row["end_reason"], row["escalated"]) == ("transfer:queue:general", 1)
    assert c.events("transfer") == [{"target": "queue:general", "reason": "repeated_failure"}]


# ---------------------------------------------------------------- ASR failure
def test_asr_error_is_logged_and_the_call_goes_on(tmp_path):
    async def scenario(c: Call) -> None:
        await c.wait_event("listen", node="main_menu")
        await c.wait_event("prompt_end", node="main_menu")
        c.say(speech_clip())
        await c.wait_event("error")
        await c.wait_event("turn")  # the dialogue carries on: no input -> reprompt
        await c.wait_event("listen", count=2)
        c.dtmf("1")
        await c.wait_event("turn", count=2)
        c.session.on_hangup("caller_hangup")

    c = run_call(tmp_path, scenario, asr_script=[RuntimeError("model crashed")])
    assert c.events("error") == [{"where": "asr", "error": "model crashed"}]
    assert c.asr.languages == ["zh"]
    assert c.asr.calls[0][2] == "以下是普通话的句子。"  # the zh initial prompt
    turns = c.row()["turns"]
    assert [(t["input_mode"], t["outcome"]) for t in turns] == [("none", "no_input"),
                                                              ("dtmf", "match")]
    assert turns[1]["intent"] == "bill_enquiry"
    assert c.events("utterance")[0]["text"] == ""
    row = c.row()
    assert row["end_reason"] == "caller_hangup"  # not internal_error
    assert not c.events("error", where="dialog")


# ---------------------------------------------------------------- hallucination
def test_hallucinated_thank_you_is_ignored(tmp_path):
    async def scenario(c: Call) -> None:
        await c.wait_event("listen", node="main_menu")
        await c.wait_event("prompt_end", node="main_menu")
        c.say(speech_clip())
        await c.wait_event("speech_ignored")
        await c.wait_event("turn")
        c.session.on_hangup("caller_hangup")

    c = run_call(tmp_path, scenario,
                 asr_script=[transcript("Thank you.", "zh", confidence=0.6, no_speech_prob=0.9)])
    assert c.events("speech_ignored") == [
        {"text": "Thank you.", "why": "stock phrase", "no_speech_prob": 0.9}]
    turns = c.row()["turns"]
    assert [(t["input_mode"], t["outcome"], t["caller_text"]) for t in turns] == [
        ("none", "no_input", None)]
    assert c.row()["end_reason"] == "caller_hangup"


def test_low_confidence_speech_is_unintelligible(tmp_path):
    async def scenario(c: Call) -> None:
        await c.wait_event("listen", node="main_menu")
        await c.wait_event("prompt_end", node="main_menu")
        c.say(speech_clip())
        await c.wait_event("turn")
        c.session.on_hangup("caller_hangup")

    c = run_call(tmp_path, scenario, asr_script=[transcript("我想查", "zh", confidence=0.1)])
    (turn,) = c.row()["turns"]
    assert (turn["input_mode"], turn["caller_text"], turn["outcome"]) == (
        "speech", "我想查", "unintelligible")
    assert turn["prompt"].startswith("抱歉，我没有听懂。\n")


# ---------------------------------------------------------------- a digit string
def test_a_spoken_digit_string_is_recognised_in_whispers_full_window(tmp_path):
    """Where the question collects digits the recogniser is asked for Whisper's full encoder
    window (a short one lost digits of spoken account numbers); a request is not."""
    async def scenario(c: Call) -> None:
        await c.wait_event("listen", node="main_menu")
        await c.wait_event("prompt_end", node="main_menu")
        c.say(speech_clip())  # "报修宽带"
        await c.wait_event("listen", node="broadband_account")
        await c.wait_event("prompt_end", node="broadband_account")
        c.say(speech_clip())  # the account number
        await c.wait_event("turn", count=2)
        c.session.on_hangup("caller_hangup")

    c = run_call(tmp_path, scenario, asr_script=[transcript("宽带坏了", "zh"),
                                                 transcript("12345678", "zh")])
    assert c.asr.full_windows[0] is False and c.asr.full_windows[-1] is True
    turns = c.row()["turns"]
    assert [t["node"] for t in turns] == ["main_menu", "broadband_account"]
    assert turns[1]["slots"] == {"account": "12345678"}
