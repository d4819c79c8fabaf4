"""Playout bookkeeping shared by `CallMedia`: playback handles and timing statistics."""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["Playback", "PlayoutOverflow", "RunningStat"]

log = logging.getLogger("telephony.media")


class PlayoutOverflow(RuntimeError):
    """Raised by `CallMedia.play` when the outbound queue bound would be exceeded."""


class Playback:
    """Handle of one queued `play()`; its fields are written by the clock thread."""

    def __init__(
        self,
        duration: float,
        on_start: Callable[[Playback], Any] | None,
        on_done: Callable[[Playback], Any] | None,
    ) -> None:
        self.duration = duration
        self.started_at: float | None = None
        self.finished_at: float | None = None
        self.interrupted = False
        self._on_start = on_start
        self._on_done = on_done
        self._remaining = 0
        self._done = threading.Event()

    @property
    def done(self) -> bool:
        """True once the last frame was sent or the playback was cleared."""
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until done (for scripts and tests); returns `done`."""
        return self._done.wait(timeout)

    def _fire_start(self) -> None:
        if self._on_start is not None:
            try:
                self._on_start(self)
            except Exception:  # noqa: BLE001 - runs on the media clock thread
                log.exception("playback on_start callback failed")

    def _finish(self, now: float, interrupted: bool) -> None:
        self.finished_at = now
        self.interrupted = interrupted
        self._done.set()
        if self._on_done is not None:
            try:
                self._on_done(self)
            except Exception:  # noqa: BLE001 - runs on the media clock thread
                log.exception("playback on_done callback failed")

    def __repr__(self) -> str:
        return (
            f"Playback(duration={self.duration:.2f}, started_at={self.started_at}, "
            f"finished_at={self.finished_at}, interrupted={self.interrupted})"
        )


class RunningStat:
    """Running mean/max plus a bounded sample window for quantiles (clock thread only)."""

    __slots__ = ("n", "total", "max", "window")

    def __init__(self, window: int = 3000) -> None:
        self.n = 0
        self.total = 0.0
        self.max = 0.0
        self.window: collections.deque[float] = collections.deque(maxlen=window)

    def add(self, value: float) -> None:
        self.n += 1
        self.total += value
        if value > self.max:
            self.max = value
        self.window.append(value)

    @property
    def mean(self) -> float:
        return self.total / self.n if self.n else 0.0

    def quantile(self, q: float) -> float:
        data = sorted(self.window)
        return data[min(len(data) - 1, int(q * len(data)))] if data else 0.0
