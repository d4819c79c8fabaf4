"""The listening stage of a phone call: the caller's audio -> endpointer -> caller input.

`Listening` feeds the caller's frames to the endpointer and acts on what it reports:
- speech started: a barge-in request and a `SpeechBegan` input. Over a prompt that cannot be
  interrupted the barge-in waits for its end (`ivr.call.playout`) and the utterance is kept:
  recognised as usual, a `speech_during_protected_prompt` event (kept), then the answer to the
  question the call asks once the prompt has ended;
- a pause: recognition starts early (speculation) while the end-of-speech silence runs; a
  confident, complete answer to the question being asked ends the utterance there (adaptive
  end of speech), an incomplete one pre-renders the replies it leads to. Speech resuming (or a
  new pause) discards the early result;
- speech ended: the utterance is recognised (`ivr.call.hearing`: the early result when it
  covers the same audio), assessed (dialect, emotion) and handed over as a `SpeechHeard` input
  for turn taking, after an `utterance` event (its text masked while a secret is taken).

Recognition by grammar (issue 19, `asr.grammar`): every pass, speculative or final, asks the
recogniser for the grammar of the question being answered (`Listen.grammar`: digits, yes/no,
a menu's choices); the speculative pass too, because its result usually is the final one (a
pass without the grammar would leave the final result without it). `GrammarFusion` then
decides what the dialogue gets, the free transcript or the grammar's answer; the early peek
sees the same. A `grammar_result` event says what the grammar heard and whether it was
believed (value and free text masked while a secret is taken); the `utterance` event keeps
the free transcript, what the recogniser heard.

On a line that echoes, the IVR's own prompt comes back in the caller's audio: frames explained
by what the IVR sent (`audio_models.echo.EchoGate`, `echo.*` settings) reach the endpointer
as silence, so the echo neither barges in nor becomes an utterance; the caller's voice over it
still does.

It hands its results to the call through callbacks (`put` an input, `barge_in`, `emit` an
event, `spawn` a task the call owns) and asks it only for facts: whether the prompt playing is
protected, whether a secret is being taken, the engine's facts (for a peek at what an early
transcript would do), the TTS voice of a language. `answering` is set by the call while a
question waits for its answer; `idle` tells the no-input timer whether the caller is silent.

Threads: everything runs on the call's event loop, the recognition in the ASR executors.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from typing import Any

from audio_models.echo import ANALYSIS_RATE, EchoGate, EchoPath
from audio_models.frames import AudioFrame
from audio_models.grammar import ChoiceGrammar, Grammar
from audio_models.inference import DeadlineMissed
from audio_models.protocols import SpeechEnded, SpeechStarted
from audio_models.vad import Endpointer, SpeechPaused, SpeechResumed
from ivr.call import events as ev
from ivr.call.deps import SessionDeps, Spawn
from ivr.call.grammar_fusion import GrammarFusion, GrammarRules
from ivr.call.hearing import Heard, Hearing
from ivr.call.inputs import CallerAction, SpeechBegan, SpeechHeard
from ivr.dialplan.actions import CallerInput, Listen, Say
from ivr.dialplan.engine import Step
from ivr.privacy import SECRET_MASK
from ivr.understanding.input_rules import judge_speech
from ivr.understanding.intents import extract_digits

__all__ = ["Listening"]

log = logging.getLogger("ivr.call")


@dataclass
class _Speculation:
    """Recognition started at a pause, before the end of speech was certain."""

    pause: SpeechPaused
    task: asyncio.Task[Heard]
    listen: Listen | None  # the question it answers

    def covers(self, ended: SpeechEnded) -> bool:
        """True when `ended` is the paused utterance with no voice since (same audio but
        silence)."""
        return (not ended.truncated and ended.speech_start == self.pause.speech_start
                and ended.speech_end == self.pause.speech_end)


class Listening:
    """One call's listening (see the module docstring)."""

    def __init__(self, call_id: str, deps: SessionDeps, sample_rate: int, hearing: Hearing, *,
                 emit: ev.Emit, spawn: Spawn, put: Callable[[CallerAction], None],
                 barge_in: Callable[[str, float | None], None],
                 protected: Callable[[], bool], secret: Callable[[], bool],
                 facts: Callable[[], dict[str, Any]], voice_for: Callable[[str], str],
                 wall: Callable[[float], float | None],
                 settled: Callable[[], None] = lambda: None) -> None:
        self.call_id = call_id
        self.deps = deps
        self.settings = deps.settings
        self.hearing = hearing
        self._emit, self._spawn, self._put, self._barge_in = emit, spawn, put, barge_in
        self._protected, self._secret = protected, secret
        self._facts, self._voice_for, self._wall = facts, voice_for, wall
        self._settled = settled  # `idle` may have turned True: the input wait re-checks
        vad = self.settings.vad
        self._endpointer = Endpointer(vad.endpointer_config(), sample_rate=sample_rate,
                                      early_silence_ms=vad.early_silence_ms)
        echo = self.settings.echo.gate_config()
        self._echo = EchoGate(echo, sample_rate) if echo.enabled and not (
            sample_rate % ANALYSIS_RATE) else None  # the IVR's own prompt returned by the line
        self._echo_told: EchoPath | None = None  # the echo path last logged
        self._barge_protected = False  # the utterance began over a protected prompt
        self._speaking_since: float | None = None
        self._recognising = 0  # utterances ended, not yet recognised: no-input waits
        self._speculation: _Speculation | None = None  # recognition begun at a pause
        self.answering: tuple[Listen, Step] | None = None  # what the caller is answering
        self._fusion = GrammarFusion(deps.dialplan.plan, GrammarRules.from_settings(self.settings))

    # ------------------------------------------------------------ facts for the call
    @property
    def idle(self) -> bool:
        """The caller is not speaking and no utterance is being recognised."""
        return self._speaking_since is None and not self._recognising

    @property
    def in_speech(self) -> bool:
        return self._endpointer.in_speech

    # ------------------------------------------------------------ the caller's audio
    def push(self, frames: list[AudioFrame], sent: list[bytes] | None = None) -> None:
        """The caller's latest frames, through the echo gate (with `sent`, what the IVR sent
        meanwhile) and the endpointer."""
        cpu = self.deps.cpu
        t = time.thread_time()  # (one clock read per stage boundary: see StageCpu.charge)
        if self._echo is not None:
            self._echo.played(sent or [])
            frames = self._echo.process(frames)
            t = cpu.charge("echo", t)
            if self._echo.path is not None and self._echo.path != self._echo_told:
                self._tell_echo(self._echo.path)
        try:
            self._endpoint(frames)
        finally:
            cpu.charge("vad", t)

    def _endpoint(self, frames: list[AudioFrame]) -> None:
        for f in frames:
            for e in self._endpointer.push_frame(f):
                if isinstance(e, SpeechStarted):
                    self._on_speech_started(e)
                elif isinstance(e, SpeechEnded):
                    self._on_speech_ended(e)
                elif isinstance(e, SpeechPaused):
                    self._on_speech_paused(e)
                elif isinstance(e, SpeechResumed):
                    self._drop_speculation("speech_resumed")

    def _tell_echo(self, path: EchoPath) -> None:
        """Log the line's echo path when found, and when its delay moves by 10 ms or more
        (not per refinement of its gain: a few lines per call)."""
        told, self._echo_told = self._echo_told, path
        if told is None or abs(told.delay_ms - path.delay_ms) >= 10:
            stats = self._echo.stats() if self._echo is not None else {}
            frames = stats.get("frames", 0)
            log.info("call=%s echo on the line: delay %.0f ms, echo return loss %.1f dB "
                     "(correlation %.2f); its frames are silence to the endpointer "
                     "(gated %d of %d frames, %.0f us per frame)", self.call_id,
                     path.delay_ms, path.erl_db, path.correlation, stats.get("gated", 0),
                     frames, self.deps.cpu.seconds.get("echo", 0.0) / max(frames, 1) * 1e6)
        else:
            self._echo_told = told

    def _on_speech_started(self, e: SpeechStarted) -> None:
        self._speaking_since = e.timestamp
        self._barge_protected = self._protected()  # (the barge-in then waits for its end)
        self._barge_in("speech", e.timestamp)
        self._put(SpeechBegan(e.timestamp))

    def _on_speech_ended(self, e: SpeechEnded) -> None:
        self._speaking_since = None
        if self._barge_protected:
            self._emit(ev.SpeechDuringProtectedPrompt(seconds=round(e.audio.duration, 2),
                                                      kept=True))
        self._recognising += 1
        self._spawn(self._recognize(e), "asr")

    # ------------------------------------------------------------ speculative recognition
    def _on_speech_paused(self, e: SpeechPaused) -> None:
        """The caller paused: recognise what they said so far while the end-of-speech silence
        runs (in the ASR executor), on a first utterance too (the language it detects is
        adopted only if the result is used). Not over a prompt that cannot be interrupted,
        nor while another call's recognition is queued or running where this one would run
        (`Hearing.others_recognising`: speculative work on idle capacity only)."""
        if self._barge_protected:
            return
        self._drop_speculation("new_pause")
        if self.hearing.others_recognising():  # speculative work on idle capacity only
            self._emit(ev.AsrEarlyDiscarded(why="not_idle"))
            return
        listen = self._listen()
        task = self._spawn(self._hear(e, listen), "asr_early")
        spec = _Speculation(e, task, listen)
        self._speculation = spec
        task.add_done_callback(lambda _t: self._speculation_done(spec))

    def _listen(self) -> Listen | None:
        """The question being answered, if any."""
        return self.answering[0] if self.answering is not None else None

    def _hear(self, e: SpeechEnded | SpeechPaused, listen: Listen | None, *,
              full_window: bool = False) -> Coroutine[Any, Any, Heard]:
        """Recognition of `e` as the answer to `listen`: the full encoder window for a digit
        string (account, PIN, phone) or when asked (`full_window`), the question's grammar
        (`asr.grammar`)."""
        grammar: Grammar | None = None
        if listen is not None and self.settings.asr.grammar:
            grammar = listen.grammar
            if isinstance(grammar, ChoiceGrammar) and (
                    e.speech_end - e.speech_start > self.settings.asr.grammar_choice_max_s):
                grammar = None  # a sentence: the free transcript and the intents read it
        return self.hearing.hear(e, digits=listen is not None and listen.digits_slot,
                                 grammar=grammar, full_window=full_window)

    def _believe(self, heard: Heard, listen: Listen | None, *, report: bool) -> Heard:
        """`heard` with what the dialogue is to be given (`GrammarFusion`); `report`: emit
        the `grammar_result` event."""
        if not self.settings.asr.grammar:
            return heard
        belief = self._fusion.believe(heard.transcript, listen, heard.profile)
        if belief is None or listen is None:
            return heard
        if report:
            secret = listen.sensitive or self._secret()
            r = belief.result
            self._emit(ev.GrammarResult(
                node=listen.node, kind=belief.kind, value=SECRET_MASK if secret else r.value,
                confidence=round(r.confidence, 3), used=belief.used, why=belief.why,
                free_text=SECRET_MASK if secret and heard.transcript.text
                else heard.transcript.text, ms=round(r.processing_time * 1000)))
        return replace(heard, transcript=belief.transcript)

    def _drop_speculation(self, why: str) -> None:
        """Speech resumed (or a new pause came): the early result is of the wrong audio."""
        spec, self._speculation = self._speculation, None
        if spec is not None and not spec.task.done():
            spec.task.cancel()  # a queued recognition never runs; a running one is ignored
        if spec is not None:
            self._emit(ev.AsrEarlyDiscarded(why=why))

    def _speculation_done(self, spec: _Speculation) -> None:
        """An early result arrived while the caller is still silent: when it is a complete
        answer to the current question, end the utterance now instead of waiting for the rest
        of the end-of-speech silence (adaptive end of speech)."""
        if self._speculation is not spec or spec.task.cancelled() or spec.task.exception():
            return
        if not self._endpointer.in_speech:
            return
        heard = self._believe(spec.task.result(), spec.listen, report=False)
        peek = self._peek(heard)
        if peek is None:
            return
        if not self._complete(heard, peek):
            listen = self.answering[0] if self.answering else None
            if self.settings.tts.prerender_replies and listen and not listen.sensitive:
                # (never for a sensitive answer: a guess would put its value in the cache)
                self._spawn(self._prerender(peek), "prerender")
            return
        ended = self._endpointer.commit()
        if ended is not None and spec.covers(ended):
            self._emit(ev.EarlyCommit(silence_ms=round((ended.detected_at - ended.speech_end)
                                                       * 1000)))
            self._on_speech_ended(ended)
        elif ended is not None:  # cannot happen: the endpointer's utterance moved on
            self._on_speech_ended(ended)

    def _peek(self, heard: Heard) -> Step | None:
        """What the engine would do with an early transcript (the state is not changed);
        None when it is no usable speech or nothing is being asked."""
        t = heard.transcript
        if self.hearing.switches_language(heard):
            return None  # the question was asked in another language: no guess from this
        if self.answering is None or t.is_empty or judge_speech(
                t, self.settings.asr.min_confidence,
                self.settings.asr.max_no_speech_prob) != "speech":
            return None
        step = self.answering[1]
        try:
            return self.deps.engine.step(step.state, CallerInput("speech", t.text, t.confidence),
                                         self._facts())
        except Exception:  # a peek only: the real step reports any error
            log.exception("call=%s early peek failed", self.call_id)
            return None

    def _complete(self, heard: Heard, peek: Step) -> bool:
        """A confident, complete answer to what is being asked: an intent or slot the engine
        matches with at least `dialog.early_commit_score` (a digit string of the expected
        length, a yes/no, a menu choice)."""
        threshold = self.settings.dialog.early_commit_score
        if threshold <= 0 or self.answering is None:
            return False
        listen, t = self.answering[0], heard.transcript
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
                await self.deps.prompts.get(say.text, self._voice_for(say.language),
                                            private=say.private)
            except Exception as e:  # the real reply reports the error
                log.warning("call=%s cannot pre-render %r: %s", self.call_id, say.text[:40], e)

    # ------------------------------------------------------------ the end of an utterance
    async def _recognize(self, e: SpeechEnded) -> None:
        try:
            await self._recognize_utterance(e)
        finally:
            self._recognising -= 1
            self._settled()

    async def _recognize_utterance(self, e: SpeechEnded) -> None:
        spec, self._speculation = self._speculation, None
        heard: Heard | None = None
        listen = self._listen()
        full_window = False  # the same audio was doubtful in the short window: go to 30 s
        if spec is not None and spec.covers(e):
            listen = spec.listen
            try:
                heard = await spec.task
            except DeadlineMissed as x:
                full_window = getattr(x, "doubtful", False)  # whisper_asr.DoubtfulGuess
                self._emit(ev.AsrEarlyDiscarded(why="doubtful" if full_window
                                                else "machine_busy"))
            except Exception as x:  # asyncio.CancelledError is not an Exception: it propagates
                self._emit(ev.Error(where="asr_early", error=repr(x)))
        elif spec is not None:
            spec.task.cancel()
        early = heard is not None
        if heard is None:
            heard = await self._hear(e, listen, full_window=full_window)
        transcript = heard.transcript  # the free transcript: what was said, for the record
        emotion = self.hearing.assess(heard)
        done = time.monotonic()
        said = SECRET_MASK if self._secret() and transcript.text else transcript.text
        self._emit(ev.Utterance(text=said, confidence=round(transcript.confidence, 3),
                                audio_s=round(e.audio.duration, 2),
                                asr_ms=round(transcript.processing_time * 1000),
                                eos_to_asr_ms=round((done - e.speech_end) * 1000), early=early))
        believed = self._believe(heard, listen, report=True).transcript
        self._put(SpeechHeard(believed, {
            "speech_start": self._wall(e.speech_start), "speech_end": self._wall(e.speech_end),
            "asr_done": self._wall(done), "asr_seconds": round(transcript.processing_time, 3),
            "emotion": emotion}))
