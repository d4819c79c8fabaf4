"""What reaches a call from the caller, before the dialogue judges it.

The phone (pjsua2 media, the endpointer, Whisper), the terminal (`ivr simulate`) and the test
runner (`ivr test`) each turn their caller into these few inputs and hand them to the call's
`TurnTaking` through an `InputSource`; from there on every transport is handled by the same
code. An input is a small frozen value: nothing in it refers back to the transport.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from audio_models.protocols import Transcript

POLL_S = 0.05  # how often a busy call (playing, speaking, recognising) re-checks for silence


@dataclass(frozen=True, slots=True)
class KeyPressed:
    """A DTMF key ('0'-'9', '*', '#'), already past the arrival rules of `TurnTaking.key`."""

    KIND: ClassVar[str] = "dtmf"  # as stored in events (input_dropped)

    digit: str
    at: float  # the input clock's time


@dataclass(frozen=True, slots=True)
class SpeechBegan:
    """The caller started speaking (the no-input timer stops)."""

    KIND: ClassVar[str] = "speech_start"  # as stored in events (input_dropped)

    at: float


@dataclass(frozen=True, slots=True)
class SpeechHeard:
    """One recognised utterance; `info` is what the call stores with its turn (timings, the
    emotion estimate)."""

    KIND: ClassVar[str] = "speech"  # as stored in events (input_dropped)

    transcript: Transcript
    info: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class CallerHungUp:
    KIND: ClassVar[str] = "hangup"  # as stored in events (input_dropped)

    reason: str


CallerAction = KeyPressed | SpeechBegan | SpeechHeard | CallerHungUp


class InputSource(Protocol):
    """Where `TurnTaking` waits for the caller."""

    def now(self) -> float:
        """The input clock (monotonic seconds; a virtual clock in tests)."""
        ...

    def quiet(self) -> bool:
        """Nothing is playing, the caller is not speaking and no utterance is being
        recognised: the no-input timer may run."""
        ...

    async def next(self, wait_s: float | None) -> CallerAction | None:
        """The next input, or None when `wait_s` seconds passed without one (None: wait
        briefly and return, the caller of `next` re-checks `quiet()`)."""
        ...

    def drain(self) -> None:
        """Drop inputs not taken yet (a hang-up is kept)."""
        ...


def typed_transcript(text: str, language: str, confidence: float = 1.0) -> Transcript:
    """What the recogniser would deliver for `text` said clearly: typed words in `ivr test`
    and `ivr simulate` are judged by the call's rules like recognised ones, with an audio
    length a person needs to say them (so a long sentence is not "too much text")."""
    hanzi = len(re.findall(r"[\u4e00-\u9fff]", text))
    words = len(re.findall(r"[A-Za-z0-9']+", text))
    seconds = max(2.0, hanzi / 4.0 + words / 2.5)
    logprob = math.log(max(confidence, 1e-6))
    return Transcript(text, language.split("-")[0], confidence, logprob, 0.0, seconds, 0.0)


class InputQueue:
    """A phone call's `InputSource`: inputs handed over by the SIP and media callbacks (on the
    event loop), bounded (a flood of keys is dropped and counted, never queued without end)."""

    def __init__(self, quiet: Callable[[], bool], dropped: Callable[[CallerAction], None],
                 before_wait: Callable[[], None] | None = None, maxsize: int = 256) -> None:
        self._queue: asyncio.Queue[CallerAction] = asyncio.Queue(maxsize=maxsize)
        self._quiet = quiet
        self._dropped = dropped
        self._before_wait = before_wait

    @property
    def pending(self) -> int:
        """Inputs handed over that the call has not taken yet."""
        return self._queue.qsize()

    def now(self) -> float:
        return time.monotonic()

    def quiet(self) -> bool:
        return self._quiet()

    def put(self, item: CallerAction) -> None:
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            self._dropped(item)

    async def next(self, wait_s: float | None) -> CallerAction | None:
        if self._before_wait is not None:
            self._before_wait()
        try:
            return await asyncio.wait_for(self._queue.get(), POLL_S if wait_s is None
                                          else max(0.0, wait_s))
        except TimeoutError:
            return None

    def drain(self) -> None:
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if isinstance(item, CallerHungUp):
                self.put(item)
                return
