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
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from audio_models.protocols import Transcript


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
        """The next input, or None when `wait_s` seconds passed without one (None: until an
        input arrives or `quiet()` may have changed; the caller of `next` re-checks it)."""
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
    event loop), bounded (a flood of keys is dropped and counted, never queued without end).

    A waiting `next` costs the event loop nothing until something can change its answer: an
    input (`put`), its own deadline (one timer), or, for a wait without a deadline (a busy
    call: playing, the caller speaking, an utterance being recognised), `settled()`, which
    the stages call when `quiet()` may have turned True (a prompt ended, a recognition
    finished). No periodic re-check: a busy call used to wake every 50 ms (issue 22)."""

    def __init__(self, quiet: Callable[[], bool], dropped: Callable[[CallerAction], None],
                 before_wait: Callable[[], None] | None = None, maxsize: int = 256) -> None:
        self._items: deque[CallerAction] = deque()
        self._maxsize = maxsize
        self._quiet = quiet
        self._dropped = dropped
        self._before_wait = before_wait
        self._waiters: list[tuple[asyncio.Future[bool], bool]] = []  # (future, untimed)

    @property
    def pending(self) -> int:
        """Inputs handed over that the call has not taken yet."""
        return len(self._items)

    def now(self) -> float:
        return time.monotonic()

    def quiet(self) -> bool:
        return self._quiet()

    def put(self, item: CallerAction) -> None:
        if len(self._items) >= self._maxsize:
            self._dropped(item)
            return
        self._items.append(item)
        self._wake(timed_too=True)

    def settled(self) -> None:
        """Something `quiet()` depends on changed: a wait without a deadline returns None
        (its caller re-checks `quiet()`); waits with a deadline go on."""
        self._wake(timed_too=False)

    def _wake(self, timed_too: bool) -> None:
        for fut, untimed in self._waiters:
            if (untimed or timed_too) and not fut.done():
                fut.set_result(False)

    async def next(self, wait_s: float | None) -> CallerAction | None:
        if self._before_wait is not None:
            self._before_wait()
        if self._items:
            return self._items.popleft()
        if wait_s is not None and wait_s <= 0:
            return None
        loop = asyncio.get_running_loop()
        end = None if wait_s is None else loop.time() + wait_s
        while True:
            fut: asyncio.Future[bool] = loop.create_future()
            waiter = (fut, end is None)
            self._waiters.append(waiter)
            timer = None if end is None else loop.call_at(end, _expire, fut)
            try:
                timed_out = await fut
            finally:
                self._waiters.remove(waiter)
                if timer is not None:
                    timer.cancel()
            if self._items:
                return self._items.popleft()
            if timed_out or end is None:
                return None
            # another waiter took the input: wait on until the deadline

    def drain(self) -> None:
        hangups = [i for i in self._items if isinstance(i, CallerHungUp)]
        self._items.clear()
        self._items.extend(hangups[:1])


def _expire(fut: asyncio.Future[bool]) -> None:
    if not fut.done():
        fut.set_result(True)
