"""Latency levers on a real call: baresip says a real recorded English request to the real
`ivr serve` (embedded defaults: speculative recognition at pauses on). The request is
understood, and its recognition began during the end-of-speech silence, not after it."""

from __future__ import annotations

import pytest

from testkit.harness import ASTERISK_SOUNDS, IvrProcess, ScriptedCaller

pytestmark = pytest.mark.integration

REQUEST = ASTERISK_SOUNDS / "info-about-last-call.wav"  # "Information about your last call."
END_SILENCE_MS = 700  # vad.end_silence_ms default


def test_request_recognised_while_the_end_silence_runs(ivr: IvrProcess, tmp_path) -> None:
    if not REQUEST.exists():
        pytest.skip("asterisk-core-sounds-en-wav is not installed (run scripts/setup)")
    with ScriptedCaller(ivr, tmp_path) as c:
        c.dial()
        c.wait("prompt_end", node="welcome_english_offer", interrupted=False)
        c.press("9")
        c.wait("prompt_end", node="main_menu", interrupted=False, timeout=40)
        c.say(REQUEST)
        c.wait("turn", timeout=40)
        c.hangup()
        c.wait_closed(20)
        call = ivr.wait_call_ended(c.call_id, 30)
    (turn,) = [t for t in call["turns"] if t["input_mode"] == "speech"]
    assert turn["intent"] == "bill_enquiry", turn["caller_text"]
    (utt,) = [e["data"] for e in call["events"] if e["type"] == "utterance"]
    assert utt["early"] is True  # the pause's recognition was the result
    timings = turn["timings"]
    # recognition started before the end of speech was declared (speech_end + end silence),
    # whatever the machine's load made it cost
    started_ms = timings["eos_to_asr_ms"] - timings["asr_ms"]
    assert started_ms < END_SILENCE_MS, timings
