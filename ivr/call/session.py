"""One answered phone call: the call driver's `CallIO` on SIP media, wiring the call's stages.

Each stage owns one job; the session builds them, hands each only the callbacks and facts it
needs (no stage holds the session: the driver and `ivr.escalation.handover` use it through
`CallIO` and its public methods) and answers the driver's hooks:

    media --notify--> AudioPump --caller frames--> Listening (Hearing) --inputs--> InputQueue
                      AudioPump --both directions--> CallRecording, taps (live listen, voicemail)
    CallDriver --TurnTaking.take(InputQueue)--> answers --CallRecord.turn--> the store
    CallDriver --say--> Playout --> media; Listening --barge_in--> Playout

- `ivr.call.audio_pump`: the media's buffers to the listener, the recording and the taps;
- `ivr.call.listening` / `ivr.call.hearing`: endpointing, early and final recognition,
  emotion, language and dialect detection; `ivr.call.turn_taking`: whole answers;
- `ivr.call.playout`: prompts, barge-in, first-audio and reply timing;
- `ivr.call.call_record`: events and turns, redacted; `ivr.call.sensitive_input`: masking and
  the recording's pauses while a secret is taken; `ivr.call.recording`: the recording;
- `ivr.call.handover_summary`: the agent's summary; `ivr.escalation.handover`: queues and agents.

The session keeps the call's lifecycle (its tasks, time limit, hang-up, the call row), its
language, webhooks and transfers; what the hand-over asks of a call is its mixin
`ivr.call.session_handover.HandoverHooks`.

Threads: the SIP thread and pjmedia's clock thread only hand things over with
`loop.call_soon_threadsafe` (`notify_audio`, `on_dtmf`, `on_hangup`, a playback's start and
end); the session and its stages run on the service's event loop, model inference in the
engines' executors. The session owns every task of its call, the stages' too (`_spawn`), and
cancels and awaits them when the call ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import aiohttp

from ivr.call import caller_history, transfers
from ivr.call import events as ev
from ivr.call.audio_pump import AudioPump
from ivr.call.call_record import CallRecord
from ivr.call.deps import SessionDeps
from ivr.call.driver import CallDriver
from ivr.call.handover_summary import HandoverSummary
from ivr.call.hearing import Hearing
from ivr.call.inputs import CallerHungUp, InputQueue, KeyPressed
from ivr.call.listening import Listening
from ivr.call.playout import Playout
from ivr.call.protocols import MediaChannel
from ivr.call.recording import CallRecording
from ivr.call.sensitive_input import SensitiveInput
from ivr.call.session_handover import HandoverHooks
from ivr.call.turn_taking import TurnRules, TurnTaking
from ivr.call.webhooks import perform
from ivr.dialplan.actions import (
    BookCallback,
    DialogEvent,
    Listen,
    MessageRecorded,
    RecordMessage,
    Say,
    SetLanguage,
    Transfer,
    Webhook,
    WebhookResult,
)
from ivr.dialplan.engine import Step
from ivr.files import file_in
from ivr.privacy import Redactor

__all__ = ["CallSession", "SessionDeps"]

log = logging.getLogger("ivr.call")


class CallSession(HandoverHooks):
    """The conversation of one answered call (see the module docstring)."""

    def __init__(self, call_id: str, caller: str, callee: str, media: MediaChannel,
                 deps: SessionDeps, *, answered_at: float | None = None,
                 sip_call_id: str = "", remote_uri: str = "") -> None:
        self.call_id = call_id
        self.caller = caller
        self.media = media
        # every write of this call goes through the redactor, with the call's secrets
        self._record = CallRecord(call_id, deps.store, Redactor(deps.settings.privacy.redact),
                                  deps.engine.sensitive_slots())
        deps = replace(deps, store=self._record.store)
        self.deps = deps
        self.settings = deps.settings
        self.answered_at = answered_at or time.monotonic()
        self.language = deps.dialplan.plan.default_language
        self.profile_id: str | None = self.language  # the caller's language/dialect profile
        self.node = deps.dialplan.plan.start
        # Monotonic -> UNIX time, fixed for the call: its intervals stay exact, and a step
        # of the system clock (NTP) between calls does not shift later calls' timestamps.
        self._mono_to_wall = time.time() - time.monotonic()
        self._hungup = asyncio.Event()
        self._hangup_reason = ""
        self._tasks: set[asyncio.Task[Any]] = set()
        self._ended = False
        self._limit: asyncio.Timeout | None = None  # the call's max duration
        # the stages
        self._turns = TurnTaking(TurnRules.from_settings(deps.settings), self.event,
                                 ignored=lambda: self._playout.withdraw_deferred(
                                     still_listening=not self._listening.idle))
        self.inputs = InputQueue(self._quiet, lambda item: self.emit(ev.InputDropped(
            kind=item.KIND)), self._pause_for_secret)
        self._playout = Playout(deps, media, emit=self.emit, answered_at=self.answered_at,
                                wall=self.wall, hungup=self._hungup, settled=self.inputs.settled,
                                profile=lambda: self.profile_id,
                                pause_recording=lambda node: self._recording.pause(node))
        self._hearing = Hearing(call_id, deps, emit=self.emit, spawn=self._spawn,
                                language=lambda: (self.language, self.profile_id))
        self.tracker = self._hearing.tracker
        self._listening = Listening(
            call_id, deps, media.clock_rate, self._hearing, emit=self.emit, spawn=self._spawn,
            put=self.inputs.put, settled=self.inputs.settled, barge_in=self._playout.barge_in,
            protected=lambda: self._playout.protected,
            secret=lambda: self._secrets.taking, facts=self.facts,
            voice_for=self._playout.voice_for, wall=self.wall)
        self._recording = CallRecording(
            file_in(self.settings.recordings_dir, f"{call_id}.wav"), media.clock_rate,
            self.emit, lambda: self._pump.drain())
        self._secrets = SensitiveInput(self._recording)
        self._pump = AudioPump(call_id, media, self._recording, hear=self._listening.push,
                               emit=self.emit, failed=lambda: self._end_by_ivr("internal_error"))
        self._summary = HandoverSummary(call_id, caller, deps, emit=self.emit, spawn=self._spawn)
        if self.settings.recording.enabled and not deps.engine.asks_consent():
            self._recording.start()
        self._driver = CallDriver(deps.engine, self, self._turns, variables=caller_history.of(self),
                                  disclosure=self.settings.privacy.disclosure, cpu=deps.cpu,
                                  disclosure_order=self.settings.privacy.disclosure_languages)
        deps.store.call_started(
            call_id, sip_call_id=sip_call_id, caller=caller, callee=callee,
            remote_uri=remote_uri, answered_at=self.wall(self.answered_at), language=self.language,
            profile=self.profile_id,
            dialplan=deps.dialplan.plan.name, dialplan_version=deps.dialplan.version,
            **self._recording.describe(),
        )
        self.emit(ev.CallAnswered(caller=caller, callee=callee,
                                  dialplan=f"{deps.dialplan.plan.name}@{deps.dialplan.version}"))

    # ------------------------------------------------------------ from other threads
    def notify_audio(self) -> None:
        """Called (via call_soon_threadsafe) when caller audio is waiting."""
        self._pump.notify()

    def on_dtmf(self, digit: str, timestamp: float) -> None:
        if not self._turns.key(digit, time.monotonic()):
            return  # a '#' ending a complete answer: no barge-in on the read-back, no input
        self.emit(ev.Dtmf(digit=self._secrets.key(digit)))
        self._playout.barge_in("dtmf")
        self.inputs.put(KeyPressed(digit, timestamp))

    def on_hangup(self, reason: str) -> None:
        if not self._hungup.is_set():
            self._hangup_reason = self._hangup_reason or reason  # the IVR's own reason wins
            self._hungup.set()
            self.inputs.put(CallerHungUp(reason))

    # ------------------------------------------------------------ lifecycle
    async def run(self) -> None:
        audio = self._spawn(self._pump.run(), "audio")
        try:
            async with asyncio.timeout(self.settings.dialog.max_call_s) as self._limit:
                await self._driver.run()
        except TimeoutError:
            self.emit(ev.MaxDurationReached(seconds=self.settings.dialog.max_call_s))
            self._end_by_ivr("max_duration")
        except Exception as e:  # one call's failure must not take the service down
            log.exception("call=%s dialog failed", self.call_id)
            self.emit(ev.Error(where="dialog", error=repr(e)))
            self._end_by_ivr("internal_error")
        finally:
            if not self._hungup.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._hungup.wait(), 5)
            audio.cancel()
            for t in list(self._tasks):
                t.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            self._finish()

    def _finish(self) -> None:
        if self._ended:
            return
        self._ended = True
        try:
            self._pump.drain(final=True)
        except Exception:  # noqa: BLE001 - the call row is closed whatever happened
            log.exception("call=%s last audio lost", self.call_id)
        self._recording.close()
        reason = self._hangup_reason or "unknown"
        self.deps.store.call_ended(self.call_id, reason, language=self.language,
                                   profile=self.profile_id)
        self.emit(ev.CallEnded(reason=reason, cpu_ms=self.deps.cpu.as_ms(),
                               duration_s=round(time.monotonic() - self.answered_at, 2)))

    def wall(self, mono: float | None) -> float | None:
        """A monotonic timestamp of this call as UNIX time."""
        return None if mono is None else mono + self._mono_to_wall

    def _spawn(self, coro: Any, name: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=f"{self.call_id}:{name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _quiet(self) -> bool:
        """No prompt playing, the caller not speaking, no utterance being recognised."""
        return not self._playout.busy and self._listening.idle

    def _pause_for_secret(self) -> None:
        """A sensitive answer is awaited: the recording pauses once earlier prompts played."""
        self._secrets.awaited(self._turns.listen, self._playout.secret_prompts_only)

    def end(self, reason: str) -> None:
        """Hang the call up from the IVR side (e.g. service shutdown)."""
        self.emit(ev.HangupByIvr(reason=reason))
        self._end_by_ivr(reason)

    def _end_by_ivr(self, reason: str) -> None:
        if not self._hungup.is_set():
            self._hangup_reason = reason
            self.deps.control.hangup(self.call_id)

    # ------------------------------------------------------------ events
    def event(self, type_: str, **data: Any) -> None:
        """Store and log an event named by its type (`CallIO.event`; the call's own: `emit`)."""
        self._record.event(type_, **data)

    def emit(self, event: ev.CallEvent) -> None:
        """Store and log a typed event (`ivr.call.events`), redacted with the call's secrets."""
        self._record.emit(event)

    # ------------------------------------------------------------ CallIO: the driver's hooks
    @property
    def hung_up(self) -> bool:
        return self._hungup.is_set()

    def facts(self) -> dict[str, Any]:
        """What the engine may not fetch itself: the time, the caller's emotion and the
        profile detected from their speech."""
        return {"now": datetime.now(UTC), "emotion": self.tracker.facts(),
                "profile": self._hearing.detected}

    async def say(self, say: Say, sensitive: bool = False) -> None:
        await self._playout.say(say, sensitive)

    async def wait_playout(self) -> None:
        await self._playout.wait()

    def consented(self, answer: bool | None) -> None:
        if answer and self.settings.recording.enabled:
            path = self._recording.start()
            self.deps.store.update_call(self.call_id, recording_path=str(path))
            self.emit(ev.RecordingConsented())

    def stepped(self, step: Step) -> None:
        self.node = step.state.node

    def listening(self, listen: Listen | None, step: Step | None) -> None:
        """A sensitive answer is stored masked and the recording paused until it is taken."""
        if listen is not None:
            self._secrets.asked(listen)
            self._listening.answering = (listen, step) if step is not None else None
            return
        self._listening.answering = None
        self._secrets.answered()

    def set_language(self, action: SetLanguage) -> None:
        self.language, self.profile_id = action.language, action.profile
        self._hearing.language_set()  # the caller chose, or detection decided
        self.deps.store.update_call(self.call_id, language=action.language,
                                    profile=action.profile)
        self.emit(ev.Language(language=action.language, profile=action.profile))

    def turn(self, before: Step, answer: tuple[DialogEvent, dict[str, Any]], new: Step) -> None:
        """Store the turn (the caller's input masked when it was a secret)."""
        turn_id = self._record.turn(before, answer, new, secret=self._secrets.last)
        self._playout.turn_started(turn_id, replies=any(isinstance(a, Say) for a in new.actions))
        self.stepped(new)

    async def webhook(self, hook: Webhook) -> WebhookResult:
        started = time.monotonic()
        if self.deps.http is not None:
            result = await perform(hook, self.deps.http)
        else:
            async with aiohttp.ClientSession() as client:
                result = await perform(hook, client)
        self.emit(ev.Webhook(node=hook.node, method=hook.method, url=hook.url, ok=result.ok,
                             status=result.status, error=result.error or None,
                             ms=round((time.monotonic() - started) * 1000)))
        return result

    async def transfer(self, action: Transfer, step: Step) -> DialogEvent | None:
        return await transfers.transfer(self, action, step)

    async def book_callback(self, action: BookCallback) -> None:
        transfers.callback(self, action)

    async def record_message(self, action: RecordMessage) -> MessageRecorded:
        return await transfers.voicemail(self, action)
