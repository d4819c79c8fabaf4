"""Escalation to a live agent, end to end: two real softphones (a baresip caller and a baresip
agent in auto-answer) and the real `ivr serve` on loopback, with one agent configured.

- The caller asks for a person with real speech; the agent's phone rings with the call's
  context in SIP headers; the agent hears the spoken summary (whisper), then the caller; the
  caller hears the agent; the summary is in the API.
- The agent signs out on the agent desktop: the caller waits in the queue (hold messages
  with their position), then books a callback on a number they key in.
- A crisis phrase goes to the urgent queue; three failures in a row escalate.

What each side heard is checked by transcribing baresip's own recordings with whisper-base.
"""

from __future__ import annotations

import http.cookiejar
import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import soundfile as sf

from telephony.softphone import Baresip, prepare_caller_wav
from testkit.harness import ASTERISK_SOUNDS, IvrProcess, ScriptedCaller
from tests.audio_data import shared_file
from tests.integration.conftest import _require_tools, heard, heard_text

pytestmark = pytest.mark.integration

# "Waiting to speak with a representative"
REPRESENTATIVE = ASTERISK_SOUNDS / "queue-callswaiting.wav"
LJ = ("asr_en_misc", "audio", "ljspeech")
AGENT_SAYS = (*LJ, "LJ001-0013.flac")  # "than in the same operations with ugly ones."
CALLER_SAYS = (*LJ, "LJ001-0002.flac")  # "in being comparatively modern."
PASSWORD = "desk-pass-8001"


class Agent:
    """The agent: a baresip phone in auto-answer, and the agent desktop over HTTP."""

    def __init__(self, work: Path) -> None:
        self.phone = Baresip(auto_answer=True, user="8001", record_dir=work / "agent-rec",
                             sip_trace=True)
        self.work = work
        self.ivr: IvrProcess | None = None
        self._desk = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def desk(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        assert self.ivr is not None
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.ivr.http_port}{path}", data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"}, method="POST")
        with self._desk.open(req, timeout=10) as resp:
            return json.loads(resp.read() or b"{}")

    def speak(self, clip: Path) -> None:
        self.phone.switch_source(prepare_caller_wav(clip, self.work / "agent-says.wav", 0.2, 120))


@pytest.fixture(scope="module")
def hotline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[IvrProcess, Agent]]:
    _require_tools()
    if not REPRESENTATIVE.exists():
        pytest.skip("asterisk-core-sounds-en-wav is not installed (run scripts/setup)")
    from ivr.web.auth import hash_password

    work = tmp_path_factory.mktemp("escalation")
    agent = Agent(work)
    agent.phone.start()
    config = work / "ivr.yaml"
    config.write_text(json.dumps({
        "agents": [{"id": "8001", "name": "Li", "uri": agent.phone.uri,
                    "queues": ["general", "urgent"], "password_hash": hash_password(PASSWORD)}],
        "escalation": {"ring_timeout_s": 10, "max_wait_s": 6, "hold_message_every_s": 4},
    }))
    ivr = IvrProcess(work / "data", "--config", str(config)).start()
    agent.ivr = ivr
    try:
        yield ivr, agent
    finally:
        agent.phone.stop()
        code = ivr.stop()
        assert code == 0, ivr.log()[-3000:]


def _types(call: dict[str, Any]) -> list[str]:
    return [e["type"] for e in call["events"]]


def _event(call: dict[str, Any], type_: str) -> dict[str, Any]:
    return next(e["data"] for e in call["events"] if e["type"] == type_)


def _speech_wav(text: str, path: Path) -> Path:
    """The caller's words for the crisis test, spoken by the Piper voice."""
    from audio_models.tts_piper import PiperTTS

    audio = PiperTTS().synthesize_sync(text)
    import numpy as np

    sf.write(str(path), np.frombuffer(audio.pcm, "<i2"), audio.sample_rate)
    return path


@pytest.fixture(scope="module")
def agent_call(hotline: tuple[IvrProcess, Agent],
               tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """English caller says 'Waiting to speak with a representative'; the agent answers,
    hears the whisper, then both talk; the caller hangs up."""
    ivr, agent = hotline
    work = tmp_path_factory.mktemp("agent-call")
    with ScriptedCaller(ivr, work) as c:
        c.dial()
        c.wait("prompt_end", node="welcome_english_offer", interrupted=False)
        c.press("9")
        c.wait("prompt_end", node="main_menu", interrupted=False, timeout=40)
        c.say(REPRESENTATIVE)
        ringing = c.wait("agent_ringing", timeout=60)
        connected = c.wait("agent_connected", timeout=40)  # after the whisper
        time.sleep(0.5)
        agent.speak(shared_file(*AGENT_SAYS))
        time.sleep(4.0)
        c.say(shared_file(*CALLER_SAYS))
        time.sleep(4.5)
        c.hangup()
        c.wait_closed(20)
        heard_by_caller = c.recordings()[0]
    agent.phone.wait_event("CALL_CLOSED", 20)
    call = ivr.wait_call_ended(c.call_id, 30)
    return {"call": call, "ringing": ringing, "connected": connected,
            "caller_heard": heard_by_caller, "agent_heard": agent.phone.recordings()[0],
            "summary": ivr.api(f"/api/calls/{c.call_id}/summary"),
            "agent_log": agent.phone.log_text(), "ivr": ivr}


def test_agent_leg_carries_the_context_in_sip_headers(agent_call: dict[str, Any]) -> None:
    call, ivr = agent_call["call"], agent_call["ivr"]
    log = agent_call["agent_log"]
    assert f"X-IVR-Call-ID: {call['id']}" in log
    assert (f"X-IVR-Summary-URL: http://127.0.0.1:{ivr.http_port}/api/calls/{call['id']}"
            "/summary") in log
    assert "X-IVR-Queue: general" in log and "X-IVR-Reason: caller_request" in log
    assert agent_call["ringing"]["data"]["agent_id"] == "8001"


def test_summary_names_intent_and_reason(agent_call: dict[str, Any]) -> None:
    call, summary = agent_call["call"], agent_call["summary"]
    assert (summary["intent"], summary["escalation_reason"]) == ("agent", "caller_request")
    assert summary["language"] == "en-US"
    assert any("representative" in u.lower() for u in summary["key_utterances"])
    stored = _event(call, "escalation_summary")
    assert stored["intent"] == "agent" and stored["whisper"]
    assert (call["agent_id"], call["escalated"], call["end_reason"]) == (
        "8001", 1, "caller_hangup")
    assert 0 <= call["queue_wait_s"] < 30
    types = _types(call)
    assert types.index("transfer") < types.index("queued") < types.index("agent_ringing") \
        < types.index("whisper") < types.index("agent_connected")


def test_agent_hears_the_whisper_then_the_caller(agent_call: dict[str, Any],
                                                  listener_asr) -> None:
    whisper = _event(agent_call["call"], "whisper")["text"]
    text = heard_text(listener_asr, agent_call["agent_heard"])
    first = " ".join(whisper.lower().replace(",", " ").split()[:3])  # e.g. "speak to an"
    assert heard(text, first), (whisper, text)
    assert heard(text, "comparatively modern"), text
    assert text.find(first.split()[0]) < text.find("modern"), text  # the whisper came first


def test_caller_hears_the_agent(agent_call: dict[str, Any], listener_asr) -> None:
    text = heard_text(listener_asr, agent_call["caller_heard"])
    assert heard(text, "certainly connecting you to an agent"), text
    # (the agent's sentence ends the recording: its last words may be cut, "ugly ones" was
    # once heard as "ubly1")
    assert heard(text, "in the same operations with"), text


def test_agent_leg_is_in_the_call_recording(agent_call: dict[str, Any], listener_asr) -> None:
    from audio_models.frames import AudioFrame

    path = Path(agent_call["call"]["recording_path"])
    data, rate = sf.read(str(path), dtype="int16", always_2d=True)
    assert data.shape[1] == 2  # caller left, IVR and agent right
    right = data[:, 1].copy()
    tail = right[-int(rate * 9):]  # the bridged part: the agent's words are in it
    got = listener_asr.transcribe_sync(AudioFrame(tail.tobytes(), rate), "en").text.lower()
    assert "ugly" in got or "operations" in got, got


def test_no_agent_queue_messages_then_callback(hotline: tuple[IvrProcess, Agent],
                                               agent_call: dict[str, Any],
                                               tmp_path: Path) -> None:
    ivr, agent = hotline
    me = agent.desk("/desk/login", {"agent": "8001", "password": PASSWORD})
    assert me
    agent.desk("/desk/api/status", {"status": "offline"})  # the only agent signs out
    try:
        with ScriptedCaller(ivr, tmp_path) as c:
            c.dial()
            c.wait("listen", node="main_menu", timeout=40)
            c.press("0")
            queued = c.wait("queued", timeout=40)
            hold = c.wait("hold_message", timeout=20)
            c.wait("queue_timeout", timeout=30)
            c.wait("listen", node="handover", timeout=30)  # the callback offer
            c.press("1")
            c.wait("listen", node="handover", timeout=40)  # "enter the number"
            c.press("13800138000#")
            c.wait("listen", node="handover", timeout=40)  # the number read back
            c.press("1")
            booked = c.wait("callback_requested", timeout=30)
            c.wait_closed(40)
        call = ivr.wait_call_ended(c.call_id, 30)
    finally:
        agent.desk("/desk/api/status", {"status": "available"})
    assert queued["data"]["queue"] == "general"
    assert (hold["data"]["queue"], hold["data"]["position"]) == ("general", 1)
    assert booked["data"]["number"] == "138****8000"  # events are redacted; the request is not
    callbacks = ivr.api("/api/callbacks")["callbacks"]
    mine = [cb for cb in callbacks if cb["call_id"] == c.call_id]
    assert len(mine) == 1
    assert (mine[0]["kind"], mine[0]["number"], mine[0]["queue"], mine[0]["reason"]) == (
        "callback", "13800138000", "general", "caller_request")
    assert call["end_reason"] == "callback_requested"
    assert "agent_ringing" not in _types(call)


def test_crisis_phrase_goes_to_the_urgent_queue(hotline: tuple[IvrProcess, Agent],
                                                agent_call: dict[str, Any],
                                                tmp_path: Path) -> None:
    ivr, agent = hotline
    words = _speech_wav("I have chest pain and I can't breathe.", tmp_path / "crisis.wav")
    with ScriptedCaller(ivr, tmp_path) as c:
        c.dial()
        c.wait("prompt_end", node="welcome_english_offer", interrupted=False)
        c.press("9")
        c.wait("prompt_end", node="main_menu", interrupted=False, timeout=40)
        c.say(words)
        transfer = c.wait("transfer", timeout=60)
        c.wait("agent_connected", timeout=60)
        c.hangup()
        c.wait_closed(20)
    agent.phone.wait_event("CALL_CLOSED", 20)
    call = ivr.wait_call_ended(c.call_id, 30)
    assert transfer["data"] == {"target": "queue:urgent", "reason": "crisis"}
    assert _event(call, "queued")["queue"] == "urgent"
    assert "X-IVR-Queue: urgent" in agent.phone.log_text()
    summary = _event(call, "escalation_summary")
    assert summary["escalation_reason"] == "crisis"
    assert summary["whisper"].startswith("URGENT")


def test_three_failures_escalate_to_an_agent(hotline: tuple[IvrProcess, Agent],
                                             agent_call: dict[str, Any],
                                             tmp_path: Path) -> None:
    ivr, agent = hotline
    with ScriptedCaller(ivr, tmp_path) as c:
        c.dial()
        for _ in range(3):  # 7 is not a menu key
            c.wait("listen", node="main_menu", timeout=60)
            c.press("7")
            c.wait("turn", outcome="no_match", timeout=20)
        c.wait("agent_connected", timeout=60)
        c.hangup()
        c.wait_closed(20)
    agent.phone.wait_event("CALL_CLOSED", 20)
    call = ivr.wait_call_ended(c.call_id, 30)
    assert _event(call, "transfer") == {"target": "queue:general",
                                        "reason": "repeated_failure"}
    assert _event(call, "escalation_summary")["failures"] == 3
    assert call["agent_id"] == "8001"
