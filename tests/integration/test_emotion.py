"""Emotion over a real SIP call: one EmoDB actor (real, acted German speech) first speaks
neutrally, then angrily. The anger is detected against the caller's own neutral turn, the
hotline apologises and switches to its calmer menu (soothing mode), and a second angry turn
hands the call to an agent."""

from __future__ import annotations

from pathlib import Path

import pytest

from testkit.harness import IvrProcess, ScriptedCaller
from tests.audio_data import shared_file

pytestmark = pytest.mark.integration
EMODB = "emotion_emodb_de/audio"


def clip(name: str) -> Path:
    return shared_file(EMODB, name)


def test_angry_caller_gets_soothing_then_an_agent(ivr: IvrProcess, tmp_path: Path) -> None:
    with ScriptedCaller(ivr, tmp_path) as c:
        c.dial()
        c.wait("listen", node="main_menu")
        c.press("9")  # English prompts are shorter
        c.wait("prompt_end", node="main_menu", interrupted=False, timeout=60)
        c.say(clip("03a01Nc.flac"))  # neutral
        first = c.wait("emotion", timeout=40)
        c.wait("prompt_end", node="main_menu", interrupted=False, timeout=60)
        c.say(clip("03a01Wa.flac"))  # anger ("Wut")
        second = c.wait("emotion", timeout=40)
        c.wait("soothing", timeout=10)
        c.wait_until(lambda e: e["type"] == "prompt"  # the apology, then the calm menu
                     and e["data"]["text"].startswith("I understand."), timeout=40)
        c.wait("prompt_end", node="main_menu", interrupted=False, timeout=60)
        c.say(clip("03a02Wb.flac"))  # angry again
        c.wait("emotion_escalation", timeout=40)
        c.wait("queued", timeout=40)
        c.hangup()
        c.wait_closed(20)
    call = ivr.wait_call_ended(c.call_id)
    assert first["data"]["anger"] < 0.6 <= second["data"]["anger"], (first, second)
    assert second["data"]["prosody_anger"] > first["data"]["prosody_anger"]
    said = [e["data"]["text"] for e in call["events"] if e["type"] == "prompt"]
    assert any(t.startswith("I'm very sorry for the trouble") for t in said), said
    assert any(t.startswith("I understand. Let's take this one step") for t in said), said
    assert call["transfer_target"] == "queue:general" and call["escalated"] == 1
    assert call["end_reason"] == "caller_hangup"
    assert call["peak_anger"] >= 0.6
    emotions = [t["emotion"] for t in call["turns"] if t["emotion"]]
    assert len(emotions) >= 2 and all("arousal" in e for e in emotions)
    transfer = [e for e in call["events"] if e["type"] == "transfer"][0]
    assert transfer["data"]["reason"] == "caller_upset"
