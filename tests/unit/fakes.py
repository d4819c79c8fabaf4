"""In-process fakes of the protocols in `ivr.call.protocols`, for fast call-session tests.

They run on the event loop of the test (no threads, no SIP, no models):
- `FakeMedia` plays prompts one after another like `telephony.CallMedia` (the next starts when
  the previous ends), each lasting `audio.duration * speed` seconds of loop time;
- `FakeASR` returns scripted transcripts (or raises scripted exceptions) in order;
- `FakePrompts` renders any text as a 440 Hz tone whose length follows the text;
- `FakeControl` reports the disconnect back to the session, as the SIP endpoint would.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from audio_models.frames import SAMPLE_WIDTH, AudioFrame
from audio_models.grammar import Grammar
from audio_models.protocols import Transcript
from ivr.storage.call_store import CallStore

RATE = 16000


def tone(seconds: float, rate: int = RATE, freq: float = 440.0, level: float = 0.3) -> AudioFrame:
    t = np.arange(int(round(seconds * rate))) / rate
    return AudioFrame.from_float32((level * np.sin(2 * np.pi * freq * t)).astype("f4"), rate)


class FakePlayback:
    """What `FakeMedia.play` returns: the attributes the session reads from a Playback."""

    def __init__(self, audio: AudioFrame, on_start: Callable[[Any], None] | None,
                 on_done: Callable[[Any], None] | None) -> None:
        self.audio = audio
        self.duration = audio.duration
        self.started_at: float | None = None
        self.finished_at: float | None = None
        self.interrupted = False
        self._on_start = on_start
        self._on_done = on_done
        self._handle: asyncio.TimerHandle | None = None
        self._sent_bytes = 0  # how much of `audio` read_sent() already returned
        self.speed = 1.0  # loop seconds per second of audio, fixed when it starts

    @property
    def done(self) -> bool:
        return self.finished_at is not None


class FakeMedia:
    """A `MediaChannel`: caller audio fed by the test, prompts 'played' on loop timers."""

    def __init__(self, speed: float = 0.01, clock_rate: int = RATE) -> None:
        self.clock_rate = clock_rate
        self.speed = speed  # loop seconds per second of audio (read when a playback starts)
        self.playbacks: list[FakePlayback] = []  # every play(), in order
        self.clears = 0
        self._queue: list[FakePlayback] = []  # current first, then pending
        self._in: list[AudioFrame] = []
        self._sent: list[bytes] = []
        self._notify: Callable[[], None] | None = None

    # ---- caller side (the test)
    def set_notify(self, notify: Callable[[], None] | None) -> None:
        self._notify = notify

    def feed(self, frames: list[AudioFrame]) -> None:
        """Caller audio arrives; the registered notify callback is told once per batch."""
        self._in.extend(frames)
        if self._notify is not None:
            self._notify()

    # ---- MediaChannel
    def read_frames(self) -> list[AudioFrame]:
        out, self._in = self._in, []
        return out

    def read_sent(self) -> list[bytes]:
        """PCM played to the caller since the last call (a playing prompt: the part so far)."""
        for pb in self._queue[:1]:
            self._take_sent(pb)
        out, self._sent = self._sent, []
        return out

    def play(self, audio: AudioFrame, on_start: Callable[[Any], None] | None = None,
             on_done: Callable[[Any], None] | None = None) -> FakePlayback:
        if audio.sample_rate != self.clock_rate:
            raise ValueError(f"play() needs {self.clock_rate} Hz audio, got {audio.sample_rate}")
        pb = FakePlayback(audio, on_start, on_done)
        self.playbacks.append(pb)
        self._queue.append(pb)
        if len(self._queue) == 1:
            self._start(pb)
        return pb

    def clear(self) -> None:
        """Barge-in: the current and every queued playback end now, interrupted."""
        self.clears += 1
        victims, self._queue = self._queue, []
        for pb in victims:
            if pb._handle is not None:
                pb._handle.cancel()
            if pb.started_at is not None:
                self._take_sent(pb)
            self._finish(pb, interrupted=True)

    # ---- helpers for tests
    def playback_of(self, audio: AudioFrame) -> FakePlayback:
        return next(pb for pb in self.playbacks if pb.audio is audio)

    @property
    def is_playing(self) -> bool:
        return bool(self._queue)

    # ---- internals
    def _start(self, pb: FakePlayback) -> None:
        loop = asyncio.get_running_loop()
        pb.started_at = time.monotonic()
        pb.speed = self.speed
        pb._handle = loop.call_later(pb.duration * self.speed, self._complete, pb)
        if pb._on_start is not None:
            pb._on_start(pb)

    def _complete(self, pb: FakePlayback) -> None:
        if pb not in self._queue:
            return
        self._queue.remove(pb)
        pb._sent_bytes = self._take_sent(pb, everything=True)
        self._finish(pb, interrupted=False)
        if self._queue:
            self._start(self._queue[0])

    def _take_sent(self, pb: FakePlayback, everything: bool = False) -> int:
        total = len(pb.audio.pcm)
        if everything:
            upto = total
        else:
            played = (time.monotonic() - (pb.started_at or 0.0)) / max(pb.speed, 1e-9)
            upto = min(total, int(played * pb.audio.sample_rate) * SAMPLE_WIDTH)
        if upto > pb._sent_bytes:
            self._sent.append(pb.audio.pcm[pb._sent_bytes:upto])
            pb._sent_bytes = upto
        return pb._sent_bytes

    @staticmethod
    def _finish(pb: FakePlayback, interrupted: bool) -> None:
        pb.finished_at = time.monotonic()
        pb.interrupted = interrupted
        if pb._on_done is not None:
            pb._on_done(pb)


def transcript(text: str, language: str = "en", confidence: float = 0.9,
               no_speech_prob: float = 0.05, audio_duration: float = 2.0,
               processing_time: float = 0.125) -> Transcript:
    return Transcript(text, language, confidence, float(np.log(max(confidence, 1e-6))),
                      no_speech_prob, audio_duration, processing_time)


class FakeASR:
    """A `SpeechRecognizer` answering from a script: Transcripts returned, exceptions raised."""

    def __init__(self, script: list[Transcript | BaseException] | None = None,
                 delay_s: float = 0.0) -> None:
        self.script = list(script or [])
        self.delay_s = delay_s  # how long each recognition takes (a busy machine)
        self.calls: list[tuple[AudioFrame, str, str | None]] = []
        self.urgency: list[tuple[int, float | None]] = []  # (priority, deadline) per call
        self.full_windows: list[bool] = []  # per call: asked for Whisper's full window
        self.grammars: list[Grammar | None] = []  # per call: the grammar asked for

    @property
    def languages(self) -> list[str]:
        return [lang for _, lang, _ in self.calls]

    async def recognize(self, audio: AudioFrame, language: str,
                        initial_prompt: str | None = None, *, priority: int = 0,
                        deadline: float | None = None, full_window: bool = False,
                        grammar: Grammar | None = None) -> Transcript:
        self.calls.append((audio, language, initial_prompt))
        self.grammars.append(grammar)
        self.urgency.append((priority, deadline))
        self.full_windows.append(full_window)
        await asyncio.sleep(self.delay_s)
        if not self.script:
            raise AssertionError(f"FakeASR: no scripted result left for call {len(self.calls)}")
        item = self.script.pop(0)
        if isinstance(item, BaseException):
            raise item
        return item


class FakePrompts:
    """A `PromptSource`: every text is a 16 kHz 440 Hz tone of `seconds_per_char` per char."""

    def __init__(self, seconds_per_char: float = 0.05, rate: int = RATE) -> None:
        self.seconds_per_char = seconds_per_char
        self.rate = rate
        self.requests: list[tuple[str, str]] = []
        self.files: list[Path] = []
        self.rendered: dict[tuple[str, str], AudioFrame] = {}
        self.private: set[tuple[str, str]] = set()  # requested with private=True

    async def get(self, text: str, language: str, *, private: bool = False) -> AudioFrame:
        self.requests.append((text, language))
        if private:
            self.private.add((text, language))
        await asyncio.sleep(0)
        audio = tone(max(0.1, self.seconds_per_char * len(text)), self.rate)
        self.rendered[(text, language)] = audio
        return audio

    async def get_file(self, path: Path) -> AudioFrame:
        self.files.append(Path(path))
        await asyncio.sleep(0)
        return tone(1.0, self.rate, freq=880.0)


class FakeControl:
    """A `CallControl`: hangup is reported back to the session like the SIP endpoint does."""

    def __init__(self) -> None:
        self.session: Any = None  # set once the CallSession exists
        self.hangups: list[str] = []
        self.transfers: list[tuple[str, str]] = []
        self.transfer_headers: dict[str, str] = {}
        self.disconnect_reason = "ivr_hangup"
        self.answers = {}
        self.dialled: list[tuple[str, dict[str, str]]] = []
        self.bridges: list[tuple[str, str]] = []
        self.released_legs: list[str] = []

    def hangup(self, call_id: str) -> None:
        self.hangups.append(call_id)
        if self.session is not None:
            asyncio.get_running_loop().call_soon(self.session.on_hangup, self.disconnect_reason)

    def transfer(self, call_id: str, uri: str, headers: dict[str, str] | None = None) -> None:
        self.transfers.append((call_id, uri))
        self.transfer_headers = dict(headers or {})

    # ---- outbound legs (agents' phones): scripted per URI
    answers: dict[str, Any]  # uri -> FakeLeg to answer with, or DialFailed to raise

    async def dial(self, uri: str, headers: dict[str, str], ring_s: float) -> Any:
        self.dialled.append((uri, dict(headers)))
        await asyncio.sleep(0.01)
        outcome = self.answers.get(uri)
        if outcome is None:
            await asyncio.sleep(ring_s)
            from ivr.call.protocols import DialFailed

            raise DialFailed(408, "No answer")
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    async def bridge(self, call_a: str, call_b: str, hangup_together: bool = True) -> bool:
        self.bridges.append((call_a, call_b))
        self.hangup_together = hangup_together
        return True

    def release_leg(self, call_id: str) -> None:
        self.released_legs.append(call_id)


class FakeLeg:
    """An answered agent leg: `hang_up()` plays the agent putting the phone down."""

    def __init__(self, call_id: str = "agent-leg-1", media: Any = None) -> None:
        self.call_id = call_id
        self.media = media if media is not None else FakeMedia()
        self.ended = asyncio.Event()
        self.by_remote = False

    def hang_up(self) -> None:
        self.by_remote = True
        self.ended.set()


class WatchedStore(CallStore):
    """The real store; `changed` is set whenever the session stores an event."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.changed = asyncio.Event()

    def add_event(self, *args: Any, **kwargs: Any) -> None:
        super().add_event(*args, **kwargs)
        self.changed.set()
