"""Caller input from a script, on a virtual clock: the `InputSource` of `ivr test` and
`ivr simulate`.

Each step of a script (a line typed, keys pressed, a test step) is fed at once, as a caller
acting quickly would; then the caller stays silent, and the virtual clock jumps over the
timers that silence lets run out (the interdigit timeout after keys, the no-input timeout),
until the call has judged everything fed. When the call waits for more and the script is
empty, `next` suspends until the next step is fed (`waiting` tells the feeder).

Nothing plays here and recognition takes no time, so the no-input timer always runs
(`quiet()` is True): what differs from a phone call is only how long things take.
"""

from __future__ import annotations

import asyncio
from collections import deque

from ivr.call.inputs import CallerAction, CallerHungUp


class VirtualClock:
    """Seconds since the call began; moves only when a timer runs out."""

    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += max(0.0, seconds)


class ScriptedInputs:
    """The caller's scripted inputs (see the module docstring)."""

    def __init__(self, clock: VirtualClock | None = None) -> None:
        self.clock = clock or VirtualClock()
        self._script: deque[CallerAction] = deque()
        self.silent = False  # the caller stays silent after what was fed: timers run out
        self.waiting = asyncio.Event()  # the call waits for the next step
        self._fed = asyncio.Event()

    @property
    def pending(self) -> int:
        """Inputs fed that the call has not taken yet."""
        return len(self._script)

    def feed(self, *items: CallerAction) -> None:
        """The caller acts (keys already past `TurnTaking.key`), then stays silent."""
        self._script.extend(items)
        self.silent = True
        self.waiting.clear()
        self._fed.set()

    def answered(self) -> None:
        """The call took a turn: once all fed input is judged, silence ends the step."""
        if not self._script:
            self.silent = False

    # ------------------------------------------------------------ InputSource
    def now(self) -> float:
        return self.clock.now()

    def quiet(self) -> bool:
        return True

    async def next(self, wait_s: float | None) -> CallerAction | None:
        while True:
            if self._script:
                return self._script.popleft()
            if self.silent and wait_s is not None:
                self.clock.advance(wait_s)
                return None
            self._fed.clear()
            self.waiting.set()
            await self._fed.wait()

    def drain(self) -> None:
        hangups = [i for i in self._script if isinstance(i, CallerHungUp)]
        self._script.clear()
        self._script.extend(hangups[:1])
