"""One call's conversation: audio in -> VAD -> ASR -> dialogue engine -> prompts out.

A `CallSession` owns every task of its call and cancels and awaits them when the call ends.
Threads: the SIP thread and pjmedia's clock thread only hand things over with
`loop.call_soon_threadsafe`; everything here runs on the service's event loop, and model
inference runs in the engines' own executors.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import aiohttp

from audio_models.frames import AudioFrame
from audio_models.inference import FINAL, SPECULATIVE, DeadlineMissed
from audio_models.protocols import SpeechEnded, SpeechStarted, Transcript
from audio_models.vad import Endpointer, SpeechPaused, SpeechResumed
from ivr.agents import AgentDirectory
from ivr.call.driver import CallDriver
from ivr.call.inputs import (
    CallerAction,
    CallerHungUp,
    InputQueue,
    KeyPressed,
    SpeechBegan,
    SpeechHeard,
)
from ivr.call.turn_taking import TurnRules, TurnTaking
from ivr.call_io import (
    CallControl,
    MediaChannel,
    PromptSource,
    SpeechRecognizer,
    first_of,
    play_and_wait,
)
from ivr.call_recording import CallRecording
from ivr.chinese_text import to_simplified
from ivr.config import Settings
from ivr.dialplan.actions import (
    CallerInput,
    DialogEvent,
    Listen,
    Say,
    SetLanguage,
    Transfer,
    Webhook,
    WebhookResult,
)
from ivr.dialplan.engine import DialogEngine, Step
from ivr.dialplan.loader import LoadedDialplan
from ivr.emotion import EmotionPolicy, EmotionTracker
from ivr.files import file_in
from ivr.handover import Handover
from ivr.input_rules import judge_speech
from ivr.privacy import SECRET_MASK, Redactor
from ivr.privacy.store import RedactingStore
from ivr.profiles import LanguageProfile, detect_dialect
from ivr.recognizers import Recognition, Recognizers
from ivr.storage import CallStore
from ivr.summary import render_text, summarise
from ivr.understanding import extract_digits
from ivr.webhooks import perform

AudioTap = Callable[[list[bytes], list[bytes]], None]  # (caller PCM frames, far-side frames)

log = logging.getLogger("ivr.call")

FINAL_ASR_DEADLINE_S = 2.0  # a final recognition's deadline after the end of speech (EDF order)


@dataclass
class SessionDeps:
    settings: Settings
    dialplan: LoadedDialplan
    engine: DialogEngine
    asr: SpeechRecognizer
    prompts: PromptSource
    store: CallStore
    control: CallControl
    http: aiohttp.ClientSession | None = None  # for webhooks; one per process
    recognizers: Recognizers | None = None  # per-profile models; None: `asr` for all
    emotion_model: Any = None  # audio_models.emotion.EmotionModel; None: words only
    agents: AgentDirectory | None = None  # live agents; None: queues cannot be reached


@dataclass
class _Heard:
    """What recognition of one utterance produced, before the call acts on it."""

    transcript: Transcript
    prosody: dict[str, Any] | None
    profile: LanguageProfile
    detected: bool  # this pass ran language detection: dialect detection follows


@dataclass
class _Speculation:
    """Recognition started at a pause, before the end of speech was certain."""

    pause: SpeechPaused
    task: asyncio.Task[_Heard]

    def covers(self, ev: SpeechEnded) -> bool:
        """True when `ev` is the paused utterance with no voice since (same audio but silence)."""
        return (not ev.truncated and ev.speech_start == self.pause.speech_start
                and ev.speech_end == self.pause.speech_end)


@dataclass
class _Playing:
    say: Say
    playback: Any

    barge_default: bool = True
    sensitive: bool = False  # asks for a sensitive value: the recording pauses when it starts

    @property
    def barge_in(self) -> bool:
        return self.barge_default if self.say.barge_in is None else self.say.barge_in


@dataclass
class _TurnTiming:
    turn_id: int | None = None
    waiting_first_audio: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class CallSession:
    """The conversation of one answered call."""

    def __init__(self, call_id: str, caller: str, callee: str, media: MediaChannel,
                 deps: SessionDeps, *, answered_at: float | None = None,
                 sip_call_id: str = "", remote_uri: str = "") -> None:
        self.call_id = call_id
        self.caller = caller
        self.media = media
        # every write of this call goes through the redactor, with the call's secrets
        self._store = RedactingStore(deps.store, Redactor(deps.settings.privacy.redact))
        deps = replace(deps, store=self._store)
        self.deps = deps
        self._sensitive_slots = deps.engine.sensitive_slots()
        self._sensitive: str | None = None  # the node of the sensitive input being taken
        self._last_sensitive = False  # the input being handled answered a sensitive prompt
        self.settings = deps.settings
        self.answered_at = answered_at or time.monotonic()
        self.language = deps.dialplan.plan.default_language
        self.profile_id: str | None = self.language  # the caller's language/dialect profile
        self._profile_fixed = False  # chosen by the caller or detected: no more detection
        self._detected: str | None = None  # a profile detected, for the engine to adopt
        self.node = deps.dialplan.plan.start
        e = deps.settings.emotion
        self.tracker = EmotionTracker(EmotionPolicy(
            angry=e.angry_threshold, soothing=e.soothing_threshold,
            escalate_turns=e.escalate_turns, prosody_weight=e.prosody_weight,
            dissatisfied_turns=e.dissatisfied_turns,
            sensitivity=deps.dialplan.plan.emotion.sensitivity))
        self._baseline = deps.emotion_model.new_baseline() if deps.emotion_model else None
        self._turns = TurnTaking(TurnRules.from_settings(deps.settings), self.event)
        self.inputs = InputQueue(self._quiet, self._input_dropped, self._pause_for_secret)
        self._audio_ready = asyncio.Event()
        self._hungup = asyncio.Event()
        self._hangup_reason = ""
        self._tasks: set[asyncio.Task[Any]] = set()
        self._asr_lock = asyncio.Lock()
        self._playing: list[_Playing] = []
        self._idle = asyncio.Event()
        self._idle.set()
        self._barge_protected = False
        # Monotonic -> UNIX time, fixed for the call: its intervals stay exact, and a step
        # of the system clock (NTP) between calls does not shift later calls' timestamps.
        self._mono_to_wall = time.time() - time.monotonic()
        self._speaking_since: float | None = None
        self._recognising = 0  # utterances ended, not yet recognised: no-input waits
        self._seq = 0
        self._turn = _TurnTiming()
        self._first_audio_logged = False
        self._ended = False
        self._limit: asyncio.Timeout | None = None  # the call's max duration
        self._summary: dict[str, Any] | None = None  # the escalation summary, once made
        self._agent_media: MediaChannel | None = None  # the agent's leg, while connected
        self._agent_pending: list[bytes] = []  # agent audio not yet mixed into the recording
        self._bridged = False  # caller and agent talk: no more recognition
        self._taps: list[Any] = []  # extra consumers of caller audio (voicemail)
        self._audio_taps: list[AudioTap] = []  # both directions (live listen)
        vad = self.settings.vad
        self._endpointer = Endpointer(vad.endpointer_config(), sample_rate=media.clock_rate,
                                      early_silence_ms=vad.early_silence_ms)
        self._speculation: _Speculation | None = None  # recognition begun at a pause
        self._listening: tuple[Listen, Step] | None = None  # what the caller is answering
        self._step: Step | None = None  # the dialogue's current step
        self._recording = CallRecording(
            file_in(self.settings.recordings_dir, f"{call_id}.wav"), media.clock_rate,
            self.event, self._drain_audio)
        if self.settings.recording.enabled and deps.dialplan.plan.consent is None:
            self._recording.start()
        self._driver = CallDriver(deps.engine, self, self._turns, variables={"caller": caller},
                                  disclosure=self.settings.privacy.disclosure)
        deps.store.call_started(
            call_id, sip_call_id=sip_call_id, caller=caller, callee=callee,
            remote_uri=remote_uri, answered_at=self.wall(self.answered_at), language=self.language,
            profile=self.profile_id,
            dialplan=deps.dialplan.plan.name, dialplan_version=deps.dialplan.version,
            **self._recording.describe(),
        )
        self.event("call_answered", caller=caller, callee=callee,
                   dialplan=f"{deps.dialplan.plan.name}@{deps.dialplan.version}")

    # ------------------------------------------------------------ from other threads
    def notify_audio(self) -> None:
        """Called (via call_soon_threadsafe) when caller audio is waiting."""
        self._audio_ready.set()

    def on_dtmf(self, digit: str, timestamp: float) -> None:
        if not self._turns.key(digit, time.monotonic()):
            return  # a '#' ending a complete answer: no barge-in on the read-back, no input
        if self._sensitive is not None:
            self._recording.pause(self._sensitive)
        self.event("dtmf", digit="*" if self._sensitive is not None else digit)
        self._barge_in("dtmf")
        self.inputs.put(KeyPressed(digit, timestamp))

    def on_hangup(self, reason: str) -> None:
        if not self._hungup.is_set():
            self._hangup_reason = self._hangup_reason or reason  # the IVR's own reason wins
            self._hungup.set()
            self.inputs.put(CallerHungUp(reason))

    # ------------------------------------------------------------ lifecycle
    async def run(self) -> None:
        audio = self._spawn(self._audio_loop(), "audio")
        try:
            async with asyncio.timeout(self.settings.dialog.max_call_s) as self._limit:
                await self._driver.run()
        except TimeoutError:
            self.event("max_duration_reached", seconds=self.settings.dialog.max_call_s)
            self._end_by_ivr("max_duration")
        except Exception as e:  # one call's failure must not take the service down
            log.exception("call=%s dialog failed", self.call_id)
            self.event("error", where="dialog", error=repr(e))
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
            self._drain_audio(final=True)
        except Exception:  # noqa: BLE001 - the call row is closed whatever happened
            log.exception("call=%s last audio lost", self.call_id)
        self._recording.close()
        reason = self._hangup_reason or "unknown"
        self.deps.store.call_ended(self.call_id, reason, language=self.language,
                                   profile=self.profile_id)
        self.event("call_ended", reason=reason,
                   duration_s=round(time.monotonic() - self.answered_at, 2))

    def wall(self, mono: float | None) -> float | None:
        """A monotonic timestamp of this call as UNIX time."""
        return None if mono is None else mono + self._mono_to_wall

    def _spawn(self, coro: Any, name: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=f"{self.call_id}:{name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _input_dropped(self, item: Any) -> None:
        self.event("input_dropped", kind=item.KIND)

    def _quiet(self) -> bool:
        """No prompt playing, the caller not speaking, no utterance being recognised."""
        return not self._playing and self._speaking_since is None and not self._recognising

    def _pause_for_secret(self) -> None:
        """A sensitive answer is awaited: the recording pauses once earlier prompts played."""
        listen = self._turns.listen
        if listen is not None and listen.sensitive and not any(
                not p.sensitive for p in self._playing):
            self._recording.pause(listen.node)

    def end(self, reason: str) -> None:
        """Hang the call up from the IVR side (e.g. service shutdown)."""
        self.event("hangup_by_ivr", reason=reason)
        self._end_by_ivr(reason)

    def _end_by_ivr(self, reason: str) -> None:
        if not self._hungup.is_set():
            self._hangup_reason = reason
            self.deps.control.hangup(self.call_id)

    # ------------------------------------------------------------ events and logs
    def event(self, type_: str, **data: Any) -> None:
        data = self._store.redact(data)  # the log line and the stored event alike
        detail = " ".join(f"{k}={_fmt(v)}" for k, v in data.items())
        log.info("call=%s %s %s", self.call_id, type_, detail)
        try:
            self._store.store.add_event(self.call_id, type_, data)
        except Exception as e:  # storage trouble is logged, the call goes on
            log.error("call=%s cannot store event %s: %s", self.call_id, type_, e)

    def emit(self, event: Any) -> None:
        """Store and log a typed event (`ivr.call.events`)."""
        self.event(event.TYPE, **event.data())

    # ------------------------------------------------------------ personal data
    def _remember_secrets(self, new: Step, info: dict[str, Any]) -> None:
        """Values of sensitive slots become the call's secrets (memory only); the input of a
        sensitive prompt is stored masked."""
        u = new.understanding
        values = dict(u.slots) if u else {}
        if new.state.confirming is not None:
            values.setdefault(new.state.confirming[0], new.state.confirming[1])
        for name in self._sensitive_slots:
            for value in (values.get(name), new.state.variables.get(name)):
                self._store.add_secret(value)
        if self._last_sensitive:
            keys = info.get("dtmf") or ""
            if len(keys) >= 4:
                self._store.add_secret(keys)
            for key in ("caller_text", "dtmf"):
                if info.get(key):
                    info[key] = SECRET_MASK

    # ------------------------------------------------------------ CallIO: the driver's hooks
    @property
    def hung_up(self) -> bool:
        return self._hungup.is_set()

    def facts(self) -> dict[str, Any]:
        """What the engine may not fetch itself: the time, the caller's emotion and the
        profile detected from their speech."""
        return {"now": datetime.now(UTC), "emotion": self.tracker.facts(),
                "profile": self._detected}

    async def say(self, say: Say, sensitive: bool = False) -> None:
        await self._say(say, sensitive)

    async def wait_playout(self) -> None:
        await self._wait_playout()

    def consented(self, answer: bool | None) -> None:
        if answer and self.settings.recording.enabled:
            path = self._recording.start()
            self.deps.store.update_call(self.call_id, recording_path=str(path))
            self.event("recording_consented")

    def stepped(self, step: Step) -> None:
        self._step = step
        self.node = step.state.node

    def listening(self, listen: Listen | None, step: Step | None) -> None:
        """A sensitive answer is stored masked and the recording paused until it is taken."""
        if listen is not None:
            self._last_sensitive = listen.sensitive  # the next turn stores its input masked
            self._sensitive = listen.node if listen.sensitive else None
            self._listening = (listen, step) if step is not None else None
            return
        self._listening = None
        if self._sensitive is not None:
            self._sensitive = None
            self._recording.resume()

    def set_language(self, action: SetLanguage) -> None:
        self.language, self.profile_id = action.language, action.profile
        self._profile_fixed = True  # the caller chose, or detection decided
        self._detected = None  # adopted (or overruled by the caller's choice)
        self.deps.store.update_call(self.call_id, language=action.language,
                                    profile=action.profile)
        self.event("language", language=action.language, profile=action.profile)

    def turn(self, before: Step, answer: tuple[DialogEvent, dict[str, Any]], new: Step) -> None:
        """Store the turn (the caller's input masked when it was a secret)."""
        info = dict(answer[1])
        u = new.understanding
        self._remember_secrets(new, info)
        self._seq += 1
        says = [a.text for a in new.actions if isinstance(a, Say)]
        row = {
            "node": before.state.node, "language": before.state.language,
            "prompt": "\n".join(says) or None,
            "outcome": u.outcome if u else None, "intent": u.intent if u else None,
            "intent_score": round(u.score, 3) if u else None, "slots": u.slots if u else None,
            **info,
        }
        turn_id = self.deps.store.add_turn(self.call_id, self._seq, **row)
        self._turn = _TurnTiming(turn_id, waiting_first_audio=bool(says))
        self.event("turn", seq=self._seq, node=before.state.node, outcome=row["outcome"],
                   intent=row["intent"], score=row["intent_score"], slots=row["slots"],
                   text=info.get("caller_text") or info.get("dtmf"), next=new.state.node)
        self.stepped(new)

    async def webhook(self, hook: Webhook) -> WebhookResult:
        return await self._webhook(hook)

    async def transfer(self, action: Transfer, step: Step) -> None:
        await self._transfer(action)

    async def _webhook(self, hook: Webhook) -> WebhookResult:
        started = time.monotonic()
        if self.deps.http is not None:
            result = await perform(hook, self.deps.http)
        else:
            async with aiohttp.ClientSession() as client:
                result = await perform(hook, client)
        self.event("webhook", node=hook.node, method=hook.method, url=hook.url, ok=result.ok,
                   status=result.status, error=result.error or None,
                   ms=round((time.monotonic() - started) * 1000))
        return result

    async def _transfer(self, action: Transfer) -> None:
        self.deps.store.update_call(self.call_id, escalated=1, transfer_target=action.target)
        self.event("transfer", target=action.target, reason=action.reason)
        self._summarise()
        if action.target.startswith("queue:") and self.deps.agents is not None:
            topic = (self._summary or {}).get("intent")
            await Handover(self, self.deps.agents).run(action.target[6:], action.reason, topic)
        elif action.target.startswith("sip:"):
            self.deps.control.transfer(self.call_id, action.target,
                                       {"X-IVR-Call-ID": self.call_id,
                                        "X-IVR-Summary-URL": self._summary_url()})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._hungup.wait(), 30)
            self._hangup_reason = self._hangup_reason or f"transferred:{action.target}"
        else:
            self.event("transfer_unavailable", target=action.target,
                       detail="no agent directory; call ended after announcement")
            self._end_by_ivr(f"transfer:{action.target}")

    def _summarise(self) -> None:
        """The agent's summary (who, what, tried, feeling, why), stored with the call; the
        optional LLM version follows in the background."""
        try:
            call = self.deps.store.get_call(self.call_id) or {}
            history = self.deps.store.list_calls(limit=50, caller=self.caller)
            summary = summarise(call, history, self.deps.dialplan.plan)
            self._summary = {**summary.as_dict(), "text": render_text(summary, self.language),
                             "whisper": render_text(summary, self.language, whisper=True)}
            self.event("escalation_summary", **self._summary)
        except Exception as e:  # a summary failure must not block the handover
            log.exception("call=%s summary failed", self.call_id)
            self.event("error", where="summary", error=str(e))
            return
        if self.settings.escalation.llm.base_url and self.deps.http is not None:
            self._spawn(self._llm_summary(call, summary), "llm_summary")

    async def _llm_summary(self, call: dict[str, Any], summary: Any) -> None:
        from ivr.summary_llm import llm_text

        assert self.deps.http is not None
        started = time.monotonic()
        text = await llm_text(call, summary, self.settings.escalation.llm, self.deps.http)
        ms = round((time.monotonic() - started) * 1000)
        if text:
            self.event("escalation_summary_llm", text=text, ms=ms)
        else:
            self.event("llm_summary_failed", ms=ms, detail="deterministic summary kept")

    def _summary_url(self) -> str:
        return f"{self.summary_base_url()}/api/calls/{self.call_id}/summary"

    # ------------------------------------------------------------ for the handover
    @property
    def hungup(self) -> asyncio.Event:
        return self._hungup

    def summary_base_url(self) -> str:
        http = self.settings.http
        return (self.settings.escalation.public_url or f"http://{http.host}:{http.port}").rstrip(
            "/")

    def summary_data(self) -> dict[str, Any] | None:
        return self._summary

    def whisper_text(self) -> str | None:
        return (self._summary or {}).get("whisper")

    def set_end_reason(self, reason: str) -> None:
        self._hangup_reason = reason

    def hang_up(self, reason: str, step: Step | None = None) -> None:
        self._end_by_ivr(reason)

    async def announce(self, text: str, barge_in: bool = False) -> None:
        """Say `text` in the call's language and wait until it has played."""
        await self._say(Say(text, self.language, barge_in, "handover"))
        await self._wait_playout()

    async def announce_audio(self, audio: AudioFrame) -> None:
        """Play raw audio (a beep) and wait until it has played."""
        await play_and_wait(self.media, audio, self._hungup, grace_s=2)

    async def ask(self, text: str, max_digits: int = 1, digits: bool = False) -> Any:
        """Prompt (interruptible by keys or speech), then the caller's answer: a
        `CallerInput`, `NoInput` or `Unintelligible`; None if they hung up."""
        self.drain_inputs()
        await self._say(Say(text, self.language, True, "handover"))
        result = await self._driver.listen(Listen("handover", self.language, None,
                                                  max_digits=max_digits, digits_slot=digits),
                                           None)
        if result is None:
            return None
        event, info = result
        self.event("handover_input", mode=info.get("input_mode"),
                   text=info.get("caller_text") or info.get("dtmf"))
        return event

    def drain_inputs(self) -> None:
        self.inputs.drain()

    async def next_input(self, wait_s: float) -> CallerAction | None:
        """The next caller input, or None after `wait_s` seconds without one."""
        return await self.inputs.next(max(0.0, wait_s))

    def tap_caller(self, tap: Any) -> Any:
        """Also hand every caller frame to `tap(frame)`; returns the function that stops it."""
        self._taps.append(tap)
        return lambda: self._taps.remove(tap) if tap in self._taps else None

    def tap_audio(self, tap: AudioTap) -> Callable[[], None]:
        """Also hand each batch of audio to `tap(caller_pcm, far_pcm)`: the caller's frames and
        what the caller heard (prompts, the agent), 16-bit mono PCM at `media.clock_rate`.
        It runs on the event loop: it must not block (live listen queues and drops).
        Returns the function that stops it."""
        self._audio_taps.append(tap)
        return lambda: self._audio_taps.remove(tap) if tap in self._audio_taps else None

    def voice_for(self, language: str) -> str:
        """The TTS language: a Cantonese caller hears Mandarin prompts in the Cantonese voice."""
        profile = self.deps.engine.profiles.get(self.profile_id or "")
        if profile and profile.tts_voice == "yue" and language.startswith("zh"):
            return "yue"
        return language

    def attach_agent(self, media: MediaChannel) -> None:
        """The agent's leg: its audio goes into the call's recording (right channel)."""
        self._agent_media = media
        set_notify = getattr(media, "set_notify", None)
        if set_notify is not None:
            loop = asyncio.get_running_loop()
            set_notify(lambda: loop.call_soon_threadsafe(self.notify_audio))

    def detach_agent(self) -> None:
        media, self._agent_media = self._agent_media, None
        self._bridged = False
        if media is not None and (set_notify := getattr(media, "set_notify", None)):
            set_notify(None)
        self._drain_audio(final=True)

    def bridged(self) -> None:
        """Caller and agent are talking: stop recognising, lift the call's time limit."""
        self._bridged = True
        if self._limit is not None:
            self._limit.reschedule(None)

    # ------------------------------------------------------------ output
    async def _say(self, say: Say, sensitive: bool = False) -> None:
        try:
            if say.text.startswith("file:"):
                path = self.deps.dialplan.base_dir / say.text[5:].strip()
                audio = await self.deps.prompts.get_file(path)
            else:
                audio = await self.deps.prompts.get(say.text, self.voice_for(say.language),
                                                    private=say.private)
        except Exception as e:
            self.event("error", where="tts", text=say.text, error=str(e))
            return
        entry = _Playing(say, None, self.settings.dialog.barge_in, sensitive)
        turn = self._turn
        loop = asyncio.get_running_loop()

        def started(pb: Any) -> None:
            loop.call_soon_threadsafe(self._playback_started, pb, turn, entry)

        def done(pb: Any) -> None:
            loop.call_soon_threadsafe(self._playback_done, entry)

        self._playing.append(entry)
        self._idle.clear()
        entry.playback = self.media.play(audio, on_start=started, on_done=done)

    def _playback_started(self, playback: Any, turn: _TurnTiming, entry: _Playing) -> None:
        started = playback.started_at
        if entry.sensitive:
            self._recording.pause(entry.say.node)
        self.event("prompt", node=entry.say.node, language=entry.say.language,
                   text=entry.say.text[:80], barge_in=entry.barge_in)
        if not self._first_audio_logged:
            self._first_audio_logged = True
            self.event("first_audio", answer_to_audio_ms=round(
                (started - self.answered_at) * 1000))
        if turn.waiting_first_audio and turn.turn_id is not None:
            turn.waiting_first_audio = False
            self.deps.store.update_turn(turn.turn_id, reply_first_audio=self.wall(started))

    def _playback_done(self, entry: _Playing) -> None:
        if entry.playback is not None and entry.playback.started_at is not None:
            self.event("prompt_end", node=entry.say.node,
                       interrupted=bool(entry.playback.interrupted))
        with contextlib.suppress(ValueError):
            self._playing.remove(entry)
        if not self._playing:
            self._idle.set()

    async def _wait_playout(self) -> None:
        """Until every queued prompt has played (or the caller hung up)."""
        await first_of(self._idle, self._hungup)

    def _barge_in(self, cause: str, onset: float | None = None) -> None:
        """Stop bargeable prompts; `onset` is when the caller's speech began (monotonic)."""
        if self._playing and self._playing[0].barge_in:
            self.media.clear()
            latency = None if onset is None else round((time.monotonic() - onset) * 1000)
            self.event("barge_in", cause=cause, node=self._playing[0].say.node,
                       latency_ms=latency)

    # ------------------------------------------------------------ audio
    async def _audio_loop(self) -> None:
        while True:
            await self._audio_ready.wait()
            self._audio_ready.clear()
            try:
                self._drain_audio()
            except Exception as e:  # never a deaf call that nobody ends
                log.exception("call=%s audio loop failed", self.call_id)
                self.event("error", where="audio", error=repr(e))
                self._end_by_ivr("internal_error")
                return

    def _drain_audio(self, final: bool = False) -> None:
        frames: list[AudioFrame] = self.media.read_frames()
        agent = self._agent_media.read_frames() if self._agent_media is not None else []
        recording = self._recording.active
        far: list[bytes] = []  # what the caller heard: the IVR's audio with the agent's
        if recording or self._audio_taps:
            self._agent_pending += [f.pcm for f in agent]
            del self._agent_pending[:-AGENT_BACKLOG]  # bounded: a stalled clock cannot grow it
            far = [_mix(pcm, self._agent_pending.pop(0)) if self._agent_pending else pcm
                   for pcm in self.media.read_sent()]
        if recording:
            self._recording.write((f.pcm for f in frames), far)
        for tap in list(self._taps):
            for f in frames:
                tap(f)
        if self._audio_taps and (frames or far):
            caller = [f.pcm for f in frames]
            for audio_tap in list(self._audio_taps):
                audio_tap(caller, far)
        if final or self._bridged:
            return
        for f in frames:
            for ev in self._endpointer.push_frame(f):
                if isinstance(ev, SpeechStarted):
                    self._on_speech_started(ev)
                elif isinstance(ev, SpeechEnded):
                    self._on_speech_ended(ev)
                elif isinstance(ev, SpeechPaused):
                    self._on_speech_paused(ev)
                elif isinstance(ev, SpeechResumed):
                    self._drop_speculation("speech_resumed")

    def _on_speech_started(self, ev: SpeechStarted) -> None:
        self._speaking_since = ev.timestamp
        self._barge_protected = bool(self._playing) and not self._playing[0].barge_in
        if not self._barge_protected:
            self._barge_in("speech", ev.timestamp)
            self.inputs.put(SpeechBegan(ev.timestamp))

    def _on_speech_ended(self, ev: SpeechEnded) -> None:
        self._speaking_since = None
        if self._barge_protected:
            self.event("speech_during_protected_prompt", seconds=round(ev.audio.duration, 2))
            return
        self._recognising += 1
        self._spawn(self._recognize(ev), "asr")

    def _profile(self) -> LanguageProfile:
        profiles = self.deps.engine.profiles
        return profiles.get(self.profile_id or "") or profiles.get(self.language) or (
            LanguageProfile(self.language, self.language.split("-")[0], self.language,
                            self.language.split("-")[0]))

    def _recognition(self, profile: LanguageProfile) -> Recognition:
        if self.deps.recognizers is not None:
            vocabulary = self.deps.engine.vocabulary(profile.prompt_language)
            return self.deps.recognizers.for_profile(profile, vocabulary)
        return Recognition(self.deps.asr, profile.whisper_language,  # type: ignore[arg-type]
                           profile.initial_prompt or None)

    # ------------------------------------------------------------ speculative recognition
    def _detection_pending(self) -> bool:
        return (self.deps.dialplan.plan.language_detection and not self._profile_fixed
                and self._detected is None)

    def _on_speech_paused(self, ev: SpeechPaused) -> None:
        """The caller paused: recognise what they said so far while the end-of-speech silence
        runs (in the ASR executor). Not while language detection is pending (its result
        changes the call) nor over a prompt that cannot be interrupted."""
        if self._barge_protected or self._detection_pending():
            return
        self._drop_speculation("new_pause")
        task = self._spawn(self._hear(ev), "asr_early")
        spec = _Speculation(ev, task)
        self._speculation = spec
        task.add_done_callback(lambda _t: self._speculation_done(spec))

    def _drop_speculation(self, why: str) -> None:
        """Speech resumed (or a new pause came): the early result is of the wrong audio."""
        spec, self._speculation = self._speculation, None
        if spec is not None and not spec.task.done():
            spec.task.cancel()  # a queued recognition never runs; a running one is ignored
        if spec is not None:
            self.event("asr_early_discarded", why=why)

    def _speculation_done(self, spec: _Speculation) -> None:
        """An early result arrived while the caller is still silent: when it is a complete
        answer to the current question, end the utterance now instead of waiting for the rest
        of the end-of-speech silence (adaptive end of speech)."""
        if self._speculation is not spec or spec.task.cancelled() or spec.task.exception():
            return
        if not self._endpointer.in_speech:
            return
        heard = spec.task.result()
        peek = self._peek(heard)
        if peek is None:
            return
        if not self._complete(heard, peek):
            listen = self._listening[0] if self._listening else None
            if self.settings.tts.prerender_replies and listen and not listen.sensitive:
                # (never for a sensitive answer: a guess would put its value in the cache)
                self._spawn(self._prerender(peek), "prerender")
            return
        ended = self._endpointer.commit()
        if ended is not None and spec.covers(ended):
            self.event("early_commit", silence_ms=round((ended.detected_at - ended.speech_end)
                                                       * 1000))
            self._on_speech_ended(ended)
        elif ended is not None:  # cannot happen: the endpointer's utterance moved on
            self._on_speech_ended(ended)

    def _peek(self, heard: _Heard) -> Step | None:
        """What the engine would do with an early transcript (the state is not changed);
        None when it is no usable speech or nothing is being asked."""
        t = heard.transcript
        if self._listening is None or t.is_empty or judge_speech(
                t, self.settings.asr.min_confidence,
                self.settings.asr.max_no_speech_prob) != "speech":
            return None
        step = self._listening[1]
        try:
            return self.deps.engine.step(step.state, CallerInput("speech", t.text, t.confidence),
                                         self.facts())
        except Exception:  # a peek only: the real step reports any error
            log.exception("call=%s early peek failed", self.call_id)
            return None

    def _complete(self, heard: _Heard, peek: Step) -> bool:
        """A confident, complete answer to what is being asked: an intent or slot the engine
        matches with at least `dialog.early_commit_score` (a digit string of the expected
        length, a yes/no, a menu choice)."""
        threshold = self.settings.dialog.early_commit_score
        if threshold <= 0 or self._listening is None:
            return False
        listen, t = self._listening[0], heard.transcript
        if listen.digits_slot and len(extract_digits(t.text, t.language)) < listen.max_digits:
            return False  # maybe more digits to come
        u = peek.understanding
        return u is not None and u.outcome == "match" and u.score >= threshold

    async def _prerender(self, peek: Step) -> None:
        """Render the replies the early transcript leads to (values filled in), so that the
        reply starts from the prompt cache if the caller says no more."""
        for say in (a for a in peek.actions if isinstance(a, Say)):
            if say.text.startswith("file:"):
                continue
            try:
                await self.deps.prompts.get(say.text, self.voice_for(say.language),
                                            private=say.private)
            except Exception as e:  # the real reply reports the error
                log.warning("call=%s cannot pre-render %r: %s", self.call_id, say.text[:40], e)

    async def _hear(self, ev: SpeechEnded | SpeechPaused) -> _Heard:
        """Recognise `ev`'s audio (with prosody alongside); no effect on the call yet."""
        async with self._asr_lock:  # utterances of one call are recognised in order
            profile = self._profile()
            detect = self._detection_pending()
            if detect:
                profile = await self._detect_language(ev, profile)
            rec = self._recognition(profile)
            prosody = self._spawn(self._prosody(ev), "emotion")  # alongside recognition
            try:
                transcript = await rec.asr.recognize(ev.audio, rec.language, rec.prompt,
                                                     **self._urgency(ev))
            except DeadlineMissed:
                raise  # speculative work the machine had no time for: recognised again at EOS
            except Exception as e:
                self.event("error", where="asr", error=str(e))
                transcript = Transcript("", rec.language, 0.0, -10.0, 1.0, ev.audio.duration, 0.0)
            return _Heard(transcript, await prosody, profile, detect)

    def _urgency(self, ev: SpeechEnded | SpeechPaused) -> dict[str, Any]:
        """Scheduling of a recognition: a speculative pass is useful only until the
        end-of-speech silence would end the utterance anyway; a final one is ordered by how
        long the caller has been waiting (see audio_models/inference.py)."""
        if isinstance(ev, SpeechPaused):
            return {"priority": SPECULATIVE,
                    "deadline": ev.speech_end + self.settings.vad.end_silence_ms / 1000}
        return {"priority": FINAL, "deadline": ev.speech_end + FINAL_ASR_DEADLINE_S}

    async def _recognize(self, ev: SpeechEnded) -> None:
        try:
            await self._recognize_utterance(ev)
        finally:
            self._recognising -= 1

    async def _recognize_utterance(self, ev: SpeechEnded) -> None:
        spec, self._speculation = self._speculation, None
        heard: _Heard | None = None
        if spec is not None and spec.covers(ev):
            try:
                heard = await spec.task
            except DeadlineMissed:
                self.event("asr_early_discarded", why="machine_busy")
            except Exception as e:  # asyncio.CancelledError is not an Exception: it propagates
                self.event("error", where="asr_early", error=repr(e))
        elif spec is not None:
            spec.task.cancel()
        early = heard is not None
        if heard is None:
            heard = await self._hear(ev)
        transcript = heard.transcript
        if heard.detected:
            self._detect_dialect(transcript.text, heard.profile)
        emotion = self._fuse(heard.prosody, transcript)
        done = time.monotonic()
        said = SECRET_MASK if self._sensitive is not None and transcript.text else transcript.text
        self.event("utterance", text=said, confidence=round(transcript.confidence, 3),
                   audio_s=round(ev.audio.duration, 2),
                   asr_ms=round(transcript.processing_time * 1000),
                   eos_to_asr_ms=round((done - ev.speech_end) * 1000), early=early)
        self.inputs.put(SpeechHeard(transcript, {
            "speech_start": self.wall(ev.speech_start), "speech_end": self.wall(ev.speech_end),
            "asr_done": self.wall(done), "asr_seconds": round(transcript.processing_time, 3),
            "emotion": emotion}))

    async def _prosody(self, ev: SpeechEnded | SpeechPaused) -> dict[str, Any] | None:
        """How the caller sounded (prosody model, off the event loop), or None."""
        model, baseline = self.deps.emotion_model, self._baseline
        if model is None or baseline is None or not self.settings.emotion.enabled:
            return None
        try:
            est = await asyncio.to_thread(model.analyse, ev.audio, baseline)
        except Exception as e:  # a model failure costs the estimate, not the call
            self.event("error", where="emotion", error=str(e))
            return None
        if not est.reliable:
            return None
        return {"anger": est.anger, "distress": est.distress, "arousal": est.arousal,
                "label": est.label, "ms": round(est.processing_time * 1000, 1)}

    def _fuse(self, prosody: dict[str, Any] | None, t: Transcript) -> dict[str, Any] | None:
        if not self.settings.emotion.enabled or t.is_empty:
            return None
        was_soothing = self.tracker.soothing
        turn = self.tracker.add(prosody, t.text)
        data = turn.as_dict()
        if prosody is not None:
            data["prosody_ms"] = prosody["ms"]
        self.event("emotion", **data)
        peak = max(x.anger for x in self.tracker.turns)
        self.deps.store.update_call(self.call_id, peak_anger=round(peak, 3))
        if self.tracker.soothing and not was_soothing:
            self.event("soothing", anger=data["anger"], distress=data["distress"])
        if self.tracker.escalate:
            self.event("emotion_escalation", angry_turns=self.tracker.facts()["angry_turns"])
        return data

    async def _detect_language(self, ev: SpeechEnded | SpeechPaused, current: LanguageProfile
                               ) -> LanguageProfile:
        """First utterance: one language-detection pass; a confident other language that a
        profile of this dialplan speaks becomes the call's profile."""
        asr = self._recognition(current).asr
        caps = getattr(asr, "capabilities", None)
        if caps is not None and len(caps.languages) == 1 and self.deps.recognizers is not None:
            asr = self.deps.recognizers.default  # an English-only model cannot tell languages
        detect = getattr(asr, "detect_language", None)
        if detect is None:
            return current
        try:
            lang, prob = await detect(ev.audio)
        except Exception as e:
            self.event("error", where="language_detection", error=str(e))
            return current
        chosen = current
        if lang != current.whisper_language and prob >= 0.5:
            plan_langs = self.deps.dialplan.plan.languages
            options = [p for p in self.deps.engine.profiles.values()
                       if p.whisper_language == lang and p.prompt_language in plan_langs]
            options.sort(key=lambda p: p.id not in plan_langs)  # en-US before en-GB
            if options:
                chosen = options[0]
                self._detected = chosen.id
        self.event("language_detected", language=lang, probability=round(prob, 2),
                   profile=chosen.id)
        return chosen

    def _detect_dialect(self, text: str, current: LanguageProfile) -> None:
        """First utterance: dialect words (啥子, 嘎哈, 唔...) pick a dialect profile."""
        same = [p for p in self.deps.engine.profiles.values()
                if p.whisper_language == current.whisper_language and p.cues]
        found = detect_dialect(to_simplified(text) if current.chinese else text, same)
        if found is not None and found.id != current.id:
            self._detected = found.id
            self.event("dialect_detected", profile=found.id)
        if self._detected is None:
            self._profile_fixed = True  # nothing else found: keep the current profile


AGENT_BACKLOG = 50  # frames (1 s) of agent audio waiting to be mixed into the recording


def _mix(a: bytes, b: bytes) -> bytes:
    """Two 16-bit PCM frames summed with clipping (the recording's right channel)."""
    import numpy as np

    n = min(len(a), len(b)) // 2
    x = np.frombuffer(a[: n * 2], "<i2").astype(np.int32) + np.frombuffer(b[: n * 2], "<i2")
    return np.clip(x, -32768, 32767).astype("<i2").tobytes() + a[n * 2:]


def _fmt(v: Any) -> str:
    if isinstance(v, str):
        return repr(v) if (" " in v or not v) else v
    return str(v)
