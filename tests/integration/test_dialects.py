"""Dialect- and language-aware recognition over real SIP calls with real human speech:
Mandarin read speech (AISHELL-1, speaker S0150) fills a slot and picks an intent, and an
English caller who never pressed 9 is detected and answered in English."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from testkit.harness import ASTERISK_SOUNDS, REPO, IvrProcess, ScriptedCaller
from tests.audio_data import shared_file
from tests.integration.conftest import heard as heard_phrase
from tests.integration.conftest import heard_text

pytestmark = pytest.mark.integration
AISHELL = "asr_zh_aishell/audio/S0150"


def clip(name: str) -> Path:
    return shared_file(AISHELL, name)


def test_real_mandarin_amount_fills_the_top_up_slot(ivr: IvrProcess, tmp_path: Path) -> None:
    # "赔了两千元医药费" (paid two thousand yuan in medical fees): the amount is 2000
    with ScriptedCaller(ivr, tmp_path) as c:
        c.dial()
        c.wait("listen", node="main_menu")
        c.press("3")
        c.wait("prompt_end", node="topup_amount", interrupted=False, timeout=40)
        c.say(clip("BAC009S0150W0455.flac"))
        turn = c.wait("turn", node="topup_amount", timeout=40)
        c.wait("prompt", node="topup_confirm", timeout=20)
        c.hangup()
        c.wait_closed(20)
    call = ivr.wait_call_ended(c.call_id)
    spoken = [t for t in call["turns"] if t["input_mode"] == "speech"][0]
    assert "两千" in spoken["caller_text"] or "2000" in spoken["caller_text"], spoken
    assert spoken["slots"] == {"amount": 2000}, (turn, spoken)
    assert "两千元" in spoken["prompt"]  # the read-back question says the amount (say-as money)
    assert call["profile"] == "zh-CN"


def test_english_caller_is_detected_without_pressing_9(ivr: IvrProcess, tmp_path: Path,
                                                       listener_asr: Any) -> None:
    with ScriptedCaller(ivr, tmp_path) as c:
        c.dial()
        c.wait("listen", node="main_menu")
        c.wait("prompt_end", node="main_menu", timeout=60)  # the Mandarin menu
        # "Waiting to speak with a representative", in English, on the Mandarin menu
        c.say(ASTERISK_SOUNDS / "queue-callswaiting.wav")
        c.wait("queued", timeout=60)  # no agent on the embedded defaults: nobody to wait for
        c.wait("prompt", node="handover", timeout=30)  # the callback offer, after the reply
        c.hangup()
        c.wait_closed(20)
        heard = c.recordings()[0]
    call = ivr.wait_call_ended(c.call_id)
    detected = [e for e in call["events"] if e["type"] == "language_detected"]
    assert len(detected) == 1 and detected[0]["data"]["language"] == "en"
    assert detected[0]["data"]["same_pass"] is True  # no separate detection pass
    assert call["profile"] == "en-US" and call["language"] == "en-US"
    speech = [t for t in call["turns"] if t["input_mode"] == "speech"][0]
    assert "representative" in speech["caller_text"].lower() and speech["intent"] == "agent"
    # the reply, then the callback offer cut short by the hang-up: the last seconds suffice
    tail = heard_text(listener_asr, heard, last_s=10)
    assert heard_phrase(tail, "certainly connecting you to an agent"), tail


def test_real_mandarin_request_reaches_the_right_intent(tmp_path: Path) -> None:
    """A Mandarin caller's first utterance on a Mandarin-first line that also speaks English:
    the language is identified from the recognition's own encoder pass (no extra pass), the
    request reaches its intent, and a calm reader is not soothed."""
    # "其手机市场份额锐减" (its share of the phone market fell sharply): the phones desk
    plan = REPO / "benchmarks" / "dialplans" / "news_desk.yaml"
    ivr = IvrProcess(tmp_path / "data", "--dialplan", str(plan)).start()
    try:
        with ScriptedCaller(ivr, tmp_path / "caller") as c:
            c.dial()
            c.wait("prompt_end", node="topic", interrupted=False, timeout=30)
            c.say(clip("BAC009S0150W0271.flac"))
            c.wait_closed(60)
        call = ivr.wait_call_ended(c.call_id)
    finally:
        assert ivr.stop() == 0, ivr.log()[-3000:]
    speech = [t for t in call["turns"] if t["input_mode"] == "speech"][0]
    assert "手机" in speech["caller_text"], speech
    assert speech["intent"] == "phones" and call["end_reason"] == "phones"
    detected = [e["data"] for e in call["events"] if e["type"] == "language_detected"]
    assert detected == [{"language": "zh", "probability": detected[0]["probability"],
                         "profile": "zh-CN", "same_pass": True}]
    assert not [e for e in call["events"] if e["type"] == "soothing"]
