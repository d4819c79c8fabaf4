"""Emotion over a real SIP call: one EmoDB actor (real, acted German speech) first speaks
neutrally twice, then angrily. First turns are judged against calm speakers of the call's
language (English here: LJ Speech), so a German actor's anger reads angry only once the
caller's own calm turns make the baseline (two turns; against the English prior alone 4 of
this actor's 14 anger clips read angry, see issue 18's cross-language anger). The anger is
detected against the caller's own neutral turns, the hotline apologises and switches to its
calmer menu (soothing mode), and the call is handed to an agent (the menu's third miss)."""

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
        c.say(clip("03a02Nc.flac"))  # neutral again
        c.wait("emotion", timeout=40)
        c.wait("prompt_end", node="main_menu", interrupted=False, timeout=60)
        c.say(clip("03a01Wa.flac"))  # anger ("Wut")
        second = c.wait("emotion", timeout=40)
        c.wait("soothing", timeout=10)
        c.wait_until(lambda e: e["type"] == "prompt"  # the apology, then the agent
                     and e["data"]["text"].startswith("I'm very sorry"), timeout=40)
        c.wait("queued", timeout=40)
        c.hangup()
        c.wait_closed(20)
    call = ivr.wait_call_ended(c.call_id)
    assert first["data"]["anger"] < 0.6 <= second["data"]["anger"], (first, second)
    assert second["data"]["prosody_anger"] > first["data"]["prosody_anger"]
    said = [e["data"]["text"] for e in call["events"] if e["type"] == "prompt"]
    assert any(t.startswith("I'm very sorry for the trouble") for t in said), said
    assert call["transfer_target"] == "queue:general" and call["escalated"] == 1
    assert call["end_reason"] == "caller_hangup"
    assert call["peak_anger"] >= 0.6
    emotions = [t["emotion"] for t in call["turns"] if t["emotion"]]
    assert len(emotions) >= 3 and all("arousal" in e for e in emotions)
