"""One call through `CallSession` on fakes: the hotline dialplan, the real endpointer, the
real store and recorder; what the test_session_* modules (and a few others) drive.

`run_call` runs one scenario with `asyncio.run` under an overall timeout. Prompts 'play' at
`speed` x real time on loop timers (see tests/unit/fakes.py); the dialplan's 6 s no-input
timeout is cleared so that the settings' short `dialog.no_input_timeout_s` applies.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

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
)

HOTLINE = REPO_ROOT / "dialplans" / "hotline.yaml"
CALL_ID = "call-1"
CLIP = ("asr_en_misc", "audio/ljspeech/LJ001-0002.flac")  # "in being comparatively modern."

# The hotline's prompts, as the tests expect to hear them.
WELCOME_ZH = "欢迎致电星河通信客服热线。"
OFFER = "For English, press 9 or say English."
MENU_ZH = ("请问您需要办理什么业务？您可以说查话费、宽带报修、充值、咨询问题，或者转人工。"
           "也可以按键：查话费请按1，宽带报修请按2，充值请按3，咨询其他问题请按4，人工服务请按0。")
MENU_EN = ("How can I help you today? You can say check my bill, broadband fault, top up, a "
           "question, or agent. Or press 1 for billing, 2 for broadband, 3 to top up, 4 for "
           "other questions, or 0 for an agent.")
NO_INPUT_1_ZH = "不好意思，我没有听到您的声音。"
NO_INPUT_2_ZH = "还是没有听到，请您大声一点，或者直接按键。"
AGENT_EN = "Certainly. Connecting you to an agent, please hold."

# A keys-only dialplan: a two-key menu choice, a hangup and a SIP transfer.
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


ACCOUNT_SLOT = "slot: {name: account, type: digits, min_length: 8, max_length: 8}"


def hotline_variable_account(tmp_path: Path) -> Path:
    """The shipped hotline with an account of 6-12 digits (the shipped one is exactly 8), for
    behaviour only a variable length shows: a digit string that may go on, the interdigit
    timeout ending an entry shorter than the longest."""
    text = HOTLINE.read_text(encoding="utf-8")
    assert ACCOUNT_SLOT in text
    plan = tmp_path / "hotline_variable_account.yaml"
    plan.write_text(text.replace(ACCOUNT_SLOT, ACCOUNT_SLOT.replace(
        "min_length: 8, max_length: 8", "min_length: 6, max_length: 12")), encoding="utf-8")
    (tmp_path / "knowledge").symlink_to(HOTLINE.parent / "knowledge")
    return plan


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
             asr: FakeASR | None = None, language_detection: bool | None = None,
             **dialog: Any) -> Call:
    """Run one call through `scenario`, then wait for the session to finish. With `agents`,
    queue transfers go through the real handover (agents in the real store, their phones
    scripted in `control`). The disclosure is off unless `privacy` sets it
    (tests/unit/test_session_privacy.py covers it). `asr` replaces the FakeASR of
    `asr_script` (one that also scripts language detection, say); `language_detection`
    overrides the dialplan's."""
    settings = Settings(data_dir=tmp_path, dialog={"no_input_timeout_s": 0.3,
                                                   "interdigit_timeout_s": 0.3, **dialog},
                        agents=agents or [], escalation=escalation or {},
                        privacy={"disclosure": {}, **(privacy or {})})
    loaded = load_dialplan(plan_path)
    plan = loaded.plan.model_copy(deep=True)
    plan.defaults.timeout_s = None  # use settings.dialog.no_input_timeout_s
    if language_detection is not None:
        plan.language_detection = language_detection
    dialplan = LoadedDialplan(plan, loaded.path, loaded.version)

    async def main() -> Call:
        store = WatchedStore(settings.db_path)
        _STORES.append(store)
        media, prompts = FakeMedia(speed), FakePrompts()
        recognizer = asr if asr is not None else FakeASR(asr_script, asr_delay_s)
        ctl = control or FakeControl()
        directory = None
        if agents is not None:
            directory = AgentDirectory(store)
            directory.sync(agents)
        deps = SessionDeps(settings, dialplan, DialogEngine(plan), recognizer, prompts, store,
                           ctl, agents=directory)
        session = CallSession(CALL_ID, caller, "2000", media, deps, sip_call_id="sip-abc",
                              remote_uri=f"sip:{caller}@127.0.0.1")
        ctl.session = session
        media.set_notify(session.notify_audio)  # the server does this via call_soon_threadsafe
        call = Call(session, media, recognizer, prompts, ctl, store, settings)
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


def close_stores() -> None:
    """Close the stores of the calls `run_call` ran (the fixture in tests/unit/conftest.py
    calls it after each test: a test still reads its call's row after `run_call`)."""
    while _STORES:
        _STORES.pop().close()
