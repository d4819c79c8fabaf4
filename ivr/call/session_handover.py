"""What the hand-over asks of a call (`ivr.escalation.handover`, `.callbacks`, `ivr.call.transfers`,
live listen): announce and ask, the agent's summary, taps on the call's audio, the agent's
leg, and how the call ends.

A mixin of `CallSession`, kept apart from the session's own lifecycle and the dialogue's hooks
(`CallIO`) because its callers are the other side of the call: each method hands the request
to the stage that owns it (`Playout`, `AudioPump`, `HandoverSummary`, the `CallDriver`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from audio_models.frames import AudioFrame
from ivr.call import events as ev
from ivr.call.audio_pump import AudioPump, AudioTap
from ivr.call.inputs import CallerAction, InputQueue
from ivr.call.protocols import MediaChannel, play_and_wait
from ivr.dialplan.actions import Listen, Say
from ivr.dialplan.engine import Step

if TYPE_CHECKING:
    from ivr.call.driver import CallDriver
    from ivr.call.handover_summary import HandoverSummary
    from ivr.call.playout import Playout
    from ivr.config import Settings

__all__ = ["HandoverHooks"]


class HandoverHooks:
    """Mixin: the hand-over's side of `CallSession` (see the module docstring)."""

    media: MediaChannel
    language: str
    settings: Settings
    inputs: InputQueue
    emit: Callable[[ev.CallEvent], None]
    _end_by_ivr: Callable[[str], None]
    _hungup: asyncio.Event
    _hangup_reason: str
    _limit: asyncio.Timeout | None
    _summary: HandoverSummary
    _playout: Playout
    _driver: CallDriver
    _pump: AudioPump

    @property
    def hungup(self) -> asyncio.Event:
        return self._hungup

    def summary_base_url(self) -> str:
        http = self.settings.http
        return (self.settings.escalation.public_url or f"http://{http.host}:{http.port}").rstrip(
            "/")

    def summary_data(self) -> dict[str, Any] | None:
        return self._summary.data

    def whisper_text(self) -> str | None:
        return (self._summary.data or {}).get("whisper")

    @property
    def end_reason(self) -> str:
        return self._hangup_reason

    def set_end_reason(self, reason: str) -> None:
        self._hangup_reason = reason

    def make_summary(self) -> None:
        """The agent's summary of the call so far (`summary_data`)."""
        self._summary.make(self.language)

    def hang_up(self, reason: str, step: Step | None = None) -> None:
        self._end_by_ivr(reason)

    async def announce(self, text: str, barge_in: bool = False) -> None:
        """Say `text` in the call's language and wait until it has played."""
        await self._playout.say(Say(text, self.language, barge_in, "handover"))
        await self._playout.wait()

    async def announce_audio(self, audio: AudioFrame) -> None:
        """Play raw audio (a beep) and wait until it has played."""
        await play_and_wait(self.media, audio, self._hungup, grace_s=2)

    async def ask(self, text: str, max_digits: int = 1, digits: bool = False) -> Any:
        """Prompt (interruptible by keys or speech), then the caller's answer: a
        `CallerInput`, `NoInput` or `Unintelligible`; None if they hung up."""
        self.drain_inputs()
        await self._playout.say(Say(text, self.language, True, "handover"))
        result = await self._driver.listen(Listen("handover", self.language, None,
                                                  max_digits=max_digits, digits_slot=digits),
                                           None)
        if result is None:
            return None
        event, info = result
        self.emit(ev.HandoverInput(mode=info.get("input_mode"),
                                   text=info.get("caller_text") or info.get("dtmf")))
        return event

    def drain_inputs(self) -> None:
        self.inputs.drain()

    async def next_input(self, wait_s: float) -> CallerAction | None:
        """The next caller input, or None after `wait_s` seconds without one."""
        return await self.inputs.next(max(0.0, wait_s))

    def tap_caller(self, tap: Any) -> Any:
        """Also hand every caller frame to `tap(frame)`; returns the function that stops it."""
        return self._pump.tap_caller(tap)

    def tap_audio(self, tap: AudioTap) -> Callable[[], None]:
        """Also hand each batch of audio to `tap(caller_pcm, far_pcm)`: the caller's frames and
        what the caller heard (prompts, the agent), 16-bit mono PCM at `media.clock_rate`.
        It runs on the event loop: it must not block (live listen queues and drops).
        Returns the function that stops it."""
        return self._pump.tap_audio(tap)

    def voice_for(self, language: str) -> str:
        """The TTS language: a Cantonese caller hears Mandarin prompts in the Cantonese voice."""
        return self._playout.voice_for(language)

    def attach_agent(self, media: MediaChannel) -> None:
        """The agent's leg: its audio goes into the call's recording (right channel)."""
        self._pump.attach_agent(media)

    def detach_agent(self) -> None:
        self._pump.detach_agent()

    def bridged(self, talking: bool = True) -> None:
        """Caller and agent talk: no recognition, no time limit (False: the agent left first
        and the caller stays for a survey: recognise again)."""
        self._pump.bridged = talking
        if talking and self._limit is not None:
            self._limit.reschedule(None)

