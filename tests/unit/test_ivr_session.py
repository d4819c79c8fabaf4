"""CallSession end to end on fakes: hotline dialplan, real endpointer, real store and recorder.

Each scenario runs one call with `asyncio.run` under an overall timeout. Prompts 'play' at
`speed` x real time on loop timers (see tests/unit/fakes.py); the dialplan's 6 s no-input
timeout is cleared so that the settings' short `dialog.no_input_timeout_s` applies.
"""

from __future__ import annotations

import asyncio
import time
import wave
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from audio_models.frames import AudioFrame, concat, split_frames
from audio_models.resample import resample
from ivr.call.session import CallSession, SessionDeps
from ivr.config import REPO_ROOT, Settings
from ivr.dialplan.engine import DialogEngine
from ivr.dialplan.loader import LoadedDialplan, load_dialplan
from ivr.escalation.agents import AgentConfig, AgentDirectory
from ivr.storage.call_store import CallStore
from tests.audio_data import load_clip
from tests.unit.fakes import (
    FakeASR,
    FakeControl,
    FakeMedia,
    FakePrompts,
    WatchedStore,
    transcript,
)

HOTLINE = REPO_ROOT / "dialplans" / "hotline.yaml"
CALL_ID = "call-1"
CLIP = ("asr_en_misc", "audio/ljspeech/LJ001-0002.flac")  # "in being comparatively modern."

WELCOME_ZH = "欢迎致电星河通信客服热线。"
OFFER = "For English, press 9 or say English."
MENU_ZH = ("请问您需要办理什么业务？您可以说查话费、宽带报修、充值，或者转人工。"
           "也可以按键：查话费请按1，宽带报修请按2，充值请按3，人工服务请按0。")
MENU_EN = ("How can I help you today? You can say check my bill, broadband fault, top up, or "
           "agent. Or press 1 for billing, 2 for broadband, 3 to top up, or 0 for an agent.")
NO_INPUT_1_ZH = "不好意思，我没有听到您的声音。"
NO_INPUT_2_ZH = "还是没有听到，请您大声一点，或者直接按键。"
AGENT_EN = "Certainly. Connecting you to an agent, please hold."


@cache
def speech_clip() -> AudioFrame:
    """A real 8 kHz read-speech clip, resampled to the 16 kHz media clock."""
    return resample(load_clip(*CLIP), 16000)


def caller_audio(audio: AudioFrame, pad_s: float = 1.0) -> list[AudioFrame]:
    """20 ms frames of `audio` with `pad_s` of silence either side, stamped as if the media
    clock had just delivered them (the last frame ends now)."""
    silence = AudioFrame.silence(pad_s, audio.sample_rate)
    whole = concat([silence, audio, silence])
    return split_frames(AudioFrame(whole.pcm, whole.sample_rate,
                                   time.monotonic() - whole.duration))


WAIT_S = 5.0


@dataclass
class Call:
    session: CallSession
    media: FakeMedia
    asr: FakeASR
    prompts: FakePrompts
    control: FakeControl
    store: WatchedStore
    settings: Settings
    task: asyncio.Task[None] | None = None

    def row(self) -> dict[str, Any]:
        call = self.store.get_call(CALL_ID)
        assert call is not None
        return call

    def events(self, type_: str | None = None, **match: Any) -> list[dict[str, Any]]:
        return [e["data"] for e in self.row()["events"]
                if (type_ is None or e["type"] == type_)
                and all(e["data"].get(k) == v for k, v in match.items())]

    def event_types(self) -> list[str]:
        return [e["type"] for e in self.row()["events"]]

    async def wait_event(self, type_: str, count: int = 1, **match: Any) -> dict[str, Any]:
        """The `count`-th event of `type_` whose data has the `match` values (5 s at most)."""
        async with asyncio.timeout(WAIT_S):
            while len(found := self.events(type_, **match)) < count:
                self.store.changed.clear()
                await self.store.changed.wait()
        return found[count - 1]

    def dtmf(self, digits: str) -> None:
        for d in digits:
            self.session.on_dtmf(d, time.monotonic())

    def say(self, audio: AudioFrame) -> None:
        self.media.feed(caller_audio(audio))


def run_call(tmp_path, scenario: Callable[[Call], Awaitable[None]],
             asr_script: list[Any] | None = None, speed: float = 0.01,
             timeout: float = 20.0, plan_path: Path = HOTLINE,
             agents: list[AgentConfig] | None = None, escalation: dict[str, Any] | None = None,
             control: FakeControl | None = None, caller: str = "1000",
             privacy: dict[str, Any] | None = None, asr_delay_s: float = 0.0,
             **dialog: Any) -> Call:
    """Run one call through `scenario`, then wait for the session to finish. With `agents`,
    queue transfers go through the real handover (agents in the real store, their phones
    scripted in `control`). The disclosure is off unless `privacy` sets it
    (tests/unit/test_session_privacy.py covers it)."""
    settings = Settings(data_dir=tmp_path, dialog={"no_input_timeout_s": 0.3,
                                                   "interdigit_timeout_s": 0.3, **dialog},
                        agents=agents or [], escalation=escalation or {},
                        privacy={"disclosure": {}, **(privacy or {})})
    loaded = load_dialplan(plan_path)
    plan = loaded.plan.model_copy(deep=True)
    plan.defaults.timeout_s = None  # use settings.dialog.no_input_timeout_s
    dialplan = LoadedDialplan(plan, loaded.path, loaded.version)

    async def main() -> Call:
        store = WatchedStore(settings.db_path)
        _STORES.append(store)
        media, asr, prompts = (FakeMedia(speed), FakeASR(asr_script, asr_delay_s),
                               FakePrompts())
        ctl = control or FakeControl()
        directory = None
        if agents is not None:
            directory = AgentDirectory(store)
            directory.sync(agents)
        deps = SessionDeps(settings, dialplan, DialogEngine(plan), asr, prompts, store, ctl,
                           agents=directory)
        session = CallSession(CALL_ID, caller, "2000", media, deps, sip_call_id="sip-abc",
                              remote_uri=f"sip:{caller}@127.0.0.1")
        ctl.session = session
        media.set_notify(session.notify_audio)  # the server does this via call_soon_threadsafe
        call = Call(session, media, asr, prompts, ctl, store, settings)
        call.task = asyncio.get_running_loop().create_task(session.run())
        try:
            async with asyncio.timeout(timeout):
                await scenario(call)
                await call.task
        finally:
            if not call.task.done():
                call.task.cancel()
                await asyncio.gather(call.task, return_exceptions=True)
        return call

    return asyncio.run(main())


_STORES: list[CallStore] = []


@pytest.fixture(autouse=True)
def _close_stores():
    yield
    while _STORES:
        _STORES.pop().close()


def _wav(path) -> tuple[tuple[int, int, int, int], np.ndarray]:
    with wave.open(str(path), "rb") as w:
        params = (w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes())
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2)
    return params, data


# ---------------------------------------------------------------- (a) greeting
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


# ---------------------------------------------------------------- (b) keys
def test_dtmf_english_then_bill_then_goodbye(tmp_path):
    async def scenario(c: Call) -> None:
        await c.wait_event("listen", node="main_menu")
        c.dtmf("9")  # barge-in over the greeting
        await c.wait_event("listen", node="main_menu", language="en-US")
        c.dtmf("1")
        await c.wait_event("listen", node="anything_else")
        await c.wait_event("prompt_end", node="anything_else")
        c.dtmf("2")

    c = run_call(tmp_path, scenario)
    turns = c.row()["turns"]
    assert [(t["seq"], t["node"], t["input_mode"], t["dtmf"], t["outcome"], t["intent"])
            for t in turns] == [
        (1, "main_menu", "dtmf", "9", "match", "english"),
        (2, "main_menu", "dtmf", "1", "match", "bill_enquiry"),
        (3, "anything_else", "dtmf", "2", "match", "deny"),
    ]
    assert [t["language"] for t in turns] == ["zh-CN", "en-US", "en-US"]
    assert turns[1]["prompt"] == (
        "Your bill for this month is 98 yuan, and your current balance is 58 yuan 20.\n"
        "Is there anything else I can help you with? Say yes or press 1, or say no or press 2.")
    assert all(t["reply_first_audio"] is not None for t in turns)
    assert turns[0]["reply_first_audio"] >= turns[0]["created_at"] - 1
    row = c.row()
    assert row["language"] == "en-US"
    assert (row["status"], row["end_reason"], row["turn_count"]) == ("ended", "completed", 3)
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
    async def scenario(c: Call) -> None:
        await c.wait_event("prompt", node="welcome")
        c.dtmf("9")  # acted on, but the queued prompts are not cut
        await c.wait_event("prompt_end", count=2, node="main_menu")
        c.session.on_hangup("caller_hangup")

    c = run_call(tmp_path, scenario, barge_in=False)
    assert c.media.clears == 0
    assert c.events("barge_in") == []
    assert [(e["node"], e["language"], e["barge_in"]) for e in c.events("prompt")] == [
        ("welcome", "zh-CN", False), ("welcome_english_offer", "en-US", False),
        ("main_menu", "zh-CN", False), ("main_menu", "en-US", False)]
    assert [pb.interrupted for pb in c.media.playbacks] == [False] * 4
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
    assert ("已为您登记宽带报修，账号12345678。维修人员将在二十四小时内与您联系。", "zh-CN") in \
        c.prompts.requests


def test_dtmf_digits_end_after_interdigit_timeout(tmp_path):
    async def scenario(c: Call) -> None:
        await c.wait_event("listen", node="main_menu")
        c.dtmf("2")
        await c.wait_event("listen", node="broadband_account")
        await c.wait_event("prompt_end", node="broadband_account")
        c.dtmf("654321")  # no '#': the 0.3 s interdigit timeout ends the entry
        await c.wait_event("turn", count=2)
        c.session.on_hangup("caller_hangup")

    c = run_call(tmp_path, scenario)
    second = c.row()["turns"][1]
    assert (second["dtmf"], second["outcome"], second["slots"]) == (
        "654321", "match", {"account": "654321"})


# ---------------------------------------------------------------- (c) real speech
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


# ---------------------------------------------------------------- (d) silence
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


# ---------------------------------------------------------------- (e) caller hangs up
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


# ---------------------------------------------------------------- (f) ASR failure
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


# ---------------------------------------------------------------- (g) hallucination
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


KEYS_PLAN = """\
name: keys
languages: [en-US]
default_language: en-US
start: menu
nodes:
  menu:
    menu:
      prompt: Press 1 2 for sales, or 3 for an agent.
      choices:
        - {dtmf: "12", goto: sales}
        - {dtmf: "3", goto: agent}
  sales:
    hangup: {say: Sales it is., reason: sales}
  agent:
    transfer: {target: "sip:agent@127.0.0.1", reason: caller_request}
"""


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
