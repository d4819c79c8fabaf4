"""The playout stage of a phone call: what the caller hears, and when it started.

`Playout` renders each prompt (TTS through the prompt cache, or a dialplan's audio file), queues
it on the call's media and follows it: the `prompt` event when it starts, `prompt_end` when it
stops, the call's `first_audio` once, and the `reply_first_audio` time of the turn it answers
(the latency a caller feels). A barge-in (`barge_in`) clears the queued audio; `protected` tells
the listening stage that the prompt playing cannot be interrupted.

Input over a protected prompt is not lost (issue 18): its barge-in is deferred. The protected
prompt plays to its end; the prompts queued behind it were made obsolete by the input and are
cut when it ends (or when the turn taking the input begins, whichever comes later), while the
replies to that turn, said meanwhile, are held back and queued after the cut:

    [notice (protected), menu]  key 1  ->  turn: reply held  ->  notice ends: menu cut, reply

Threads: `media.play` calls its `on_start` and `on_done` on pjmedia's clock thread; they only
hand the playback over with `loop.call_soon_threadsafe`. Everything else runs on the call's
event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ivr.call import events as ev
from ivr.call.deps import SessionDeps
from ivr.call.protocols import MediaChannel, first_of
from ivr.dialplan.actions import Say

__all__ = ["Playout"]

# What a `prompt` event keeps of the prompt's text (masked like every event: see
# ivr/privacy/store.py): the whole of any prompt a dialplan says, so the call's transcript
# (ivr/storage/transcript.py) is complete; the bound only keeps a runaway webhook answer out.
PROMPT_TEXT_MAX = 1000


@dataclass
class _Playing:
    say: Say
    playback: Any

    barge_default: bool = True
    sensitive: bool = False  # asks for a sensitive value: the recording pauses when it starts
    held: Any = None  # its audio, kept back until a protected prompt ends (`_Deferred`)
    cut: bool = False  # cleared from the media (its `on_done` may not have come yet)

    @property
    def barge_in(self) -> bool:
        return self.barge_default if self.say.barge_in is None else self.say.barge_in


@dataclass
class _Deferred:
    """A barge-in asked for over a protected prompt (a key, speech): it waits for the
    protection to end and for the turn that takes the input (`answered`: prompts said since are
    held back; what was queued before is obsolete)."""

    cause: str
    answered: bool = False


@dataclass
class _TurnTiming:
    """The turn whose reply is being played: its row gets the time the reply started."""

    turn_id: int | None = None
    waiting_first_audio: bool = False


class Playout:
    """One call's prompts (see the module docstring). `profile()` is the call's language
    profile (its voice), `pause_recording(node)` silences the recording while a prompt that
    asks for a secret plays; `wall` turns the call's monotonic times into UNIX time;
    `settled()` is called when a prompt ended (the call's input wait re-checks silence)."""

    def __init__(self, deps: SessionDeps, media: MediaChannel, *, emit: ev.Emit,
                 answered_at: float, wall: Callable[[float], float | None],
                 hungup: asyncio.Event, profile: Callable[[], str | None],
                 pause_recording: Callable[[str], None],
                 settled: Callable[[], None] = lambda: None) -> None:
        self.deps = deps
        self.media = media
        self._emit = emit
        self._answered_at = answered_at
        self._wall = wall
        self._hungup = hungup
        self._profile = profile
        self._pause_recording = pause_recording
        self._settled = settled
        self._playing: list[_Playing] = []
        self._idle = asyncio.Event()
        self._idle.set()
        self._turn = _TurnTiming()
        self._first_audio_logged = False
        self._deferred: _Deferred | None = None

    # ------------------------------------------------------------ facts for the other stages
    @property
    def busy(self) -> bool:
        """A prompt is queued or playing."""
        return bool(self._playing)

    @property
    def protected(self) -> bool:
        """The prompt playing cannot be interrupted (speech over it is not an answer)."""
        return bool(self._playing) and not self._playing[0].barge_in

    @property
    def secret_prompts_only(self) -> bool:
        """Every prompt still queued asks for the secret being awaited (or none is queued):
        the recording may pause now."""
        return not any(not p.sensitive for p in self._playing)

    def voice_for(self, language: str) -> str:
        """The TTS language: a Cantonese caller hears Mandarin prompts in the Cantonese voice."""
        profile = self.deps.engine.profiles.get(self._profile() or "")
        if profile and profile.tts_voice == "yue" and language.startswith("zh"):
            return "yue"
        return language

    def turn_started(self, turn_id: int, replies: bool) -> None:
        """The caller's answer was stored as `turn_id`; `replies`: prompts answer it, the first
        of them to start gives the turn's `reply_first_audio`. A barge-in deferred over a
        protected prompt acts now: what is queued is obsolete (cut now, or when the protected
        prompt playing ends; the replies wait for that)."""
        self._turn = _TurnTiming(turn_id, waiting_first_audio=replies)
        deferred = self._deferred
        if deferred is None or deferred.answered:
            return
        if self.protected:
            deferred.answered = True
        else:
            self._deferred = None
            self._cut(deferred.cause, deferred=True)

    # ------------------------------------------------------------ playing
    async def say(self, say: Say, sensitive: bool = False) -> None:
        """Render `say` and queue it (it may still be playing when this returns); a prompt
        that cannot be rendered is an `error` event and silence, not a failed call."""
        try:
            if say.text.startswith("file:"):
                path = self.deps.dialplan.base_dir / say.text[5:].strip()
                audio = await self.deps.prompts.get_file(path)
            else:
                audio = await self.deps.prompts.get(say.text, self.voice_for(say.language),
                                                    private=say.private)
        except Exception as e:
            self._emit(ev.Error(where="tts", text=say.text, error=str(e)))
            return
        entry = _Playing(say, None, self.deps.settings.dialog.barge_in, sensitive)
        turn = self._turn
        loop = asyncio.get_running_loop()

        def started(pb: Any) -> None:  # pjmedia's clock thread
            loop.call_soon_threadsafe(self._playback_started, pb, turn, entry)

        def done(pb: Any) -> None:  # pjmedia's clock thread
            loop.call_soon_threadsafe(self._playback_done, entry)

        entry.held = (audio, started, done)
        self._playing.append(entry)
        self._idle.clear()
        if self._deferred is None or not self._deferred.answered:
            self._play(entry)

    def _play(self, entry: _Playing) -> None:
        audio, started, done = entry.held
        entry.held = None
        entry.playback = self.media.play(audio, on_start=started, on_done=done)

    def _playback_started(self, playback: Any, turn: _TurnTiming, entry: _Playing) -> None:
        started = playback.started_at
        if entry.sensitive:
            self._pause_recording(entry.say.node)
        self._emit(ev.Prompt(node=entry.say.node, language=entry.say.language,
                             text=entry.say.text[:PROMPT_TEXT_MAX], barge_in=entry.barge_in))
        if not self._first_audio_logged:
            self._first_audio_logged = True
            self._emit(ev.FirstAudio(answer_to_audio_ms=round(
                (started - self._answered_at) * 1000)))
        if turn.waiting_first_audio and turn.turn_id is not None:
            turn.waiting_first_audio = False
            self.deps.store.update_turn(turn.turn_id, reply_first_audio=self._wall(started))

    def _playback_done(self, entry: _Playing) -> None:
        if entry.playback is not None and entry.playback.started_at is not None:
            self._emit(ev.PromptEnd(node=entry.say.node,
                                    interrupted=bool(entry.playback.interrupted)))
        with contextlib.suppress(ValueError):
            self._playing.remove(entry)
        if not entry.barge_in and not entry.cut and self._deferred is not None:
            self._protection_ended(self._deferred)
        if not self._playing:
            self._idle.set()
        self._settled()

    def _protection_ended(self, deferred: _Deferred) -> None:
        """A protected prompt ended with a barge-in deferred over it. Answered: the prompts
        queued before the turn are cut and the held replies queued. Not yet answered (the
        caller still speaks, the call is not listening yet): it acts like input arriving now
        (cuts a bargeable prompt, waits behind another protected one) and stays deferred
        until the turn."""
        if deferred.answered:
            self._deferred = None
            held = [p for p in self._playing if p.held is not None]
            self._cut(deferred.cause, deferred=True)
            for entry in held:
                self._play(entry)
        elif self._playing and self._playing[0].barge_in:
            self._cut(deferred.cause, deferred=True)

    def withdraw_deferred(self, still_listening: bool = False) -> None:
        """The input behind a barge-in deferred over a protected prompt was noise (no turn
        will take it): nothing was made obsolete, so the queued prompts play on, and a later
        turn does not cut what is queued then. Kept while `still_listening` (the caller
        speaks again, or another utterance is being recognised)."""
        if not still_listening and self._deferred is not None and not self._deferred.answered:
            self._deferred = None

    async def wait(self) -> None:
        """Until every queued prompt has played (or the caller hung up)."""
        await first_of(self._idle, self._hungup)

    def barge_in(self, cause: str, onset: float | None = None) -> None:
        """Stop bargeable prompts; `onset` is when the caller's speech began (monotonic). Over
        a protected prompt the barge-in is deferred (see the module docstring)."""
        if not self._playing:
            return
        if not self._playing[0].barge_in:
            if self._deferred is None:
                self._deferred = _Deferred(cause)
            return
        latency = None if onset is None else round((time.monotonic() - onset) * 1000)
        self._cut(cause, latency_ms=latency)

    def _cut(self, cause: str, latency_ms: int | None = None, deferred: bool = False) -> None:
        """Clear the media's queue: every prompt playing or queued stops (`prompt_end`
        interrupted, on its `on_done`)."""
        playing = [p for p in self._playing if p.held is None and not p.cut]
        if not playing:
            return
        for p in playing:
            p.cut = True
        self.media.clear()
        self._emit(ev.BargeIn(cause=cause, node=playing[0].say.node, latency_ms=latency_ms,
                              **({"deferred": True} if deferred else {})))
