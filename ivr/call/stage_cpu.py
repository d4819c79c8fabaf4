"""CPU time one call spends in each stage of its worker, so the next bottleneck is visible.

A call's work is spread over threads shared by every call of the worker (the event loop, the
pjmedia clock, executors), so per-process or per-thread CPU cannot say which stage of a call
costs what. `StageCpu` charges the *thread* CPU time (`time.thread_time`: what this thread
ran, not the wall time it waited for a core) of a stage's synchronous work to the call, on the
thread that runs it. The call stores the totals with its `call_ended` event (`cpu_ms`), and
`scripts/loadtest` averages them per call.

Stages (milliseconds of CPU per call):
- `echo`: the echo gate's analysis of the caller's frames (`audio_models.echo`);
- `vad`: the endpointer (WebRTC VAD and the speech/pause state machine) and what its events
  start on the event loop;
- `dialogue`: the dialogue engine's steps (matching the caller's words, the next prompts);
- `meaning`: the sentence vector of a spoken answer (e5, in a worker thread);
- `emotion`: the emotion classifier and caller baseline (the prosody *features* are computed
  by the inference server when recognition is shared: that CPU is the server's).
Not charged here, with where to read them instead: ASR (the inference server's process CPU,
or the recognition wall time `asr_ms`), prompt rendering (the server's Piper, or the prompt
cache), storage (the store's writer thread), playout and RTP (the pjmedia clock thread): the
load test reports those per thread and per process.

One `thread_time()` is a system call here (~1.2-1.5 us of CPU on this 2-core VM, more under
load), so the per-frame path reads the clock once per stage boundary with `charge`
(`Listening.push`: three reads for the echo gate and the endpointer of a batch, not four
plus a context manager's generator).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

__all__ = ["StageCpu"]

P = ParamSpec("P")
R = TypeVar("R")


class StageCpu:
    """Per-stage CPU seconds of one call. Not locked: a float add races only with another
    thread charging the same stage at the same moment, which costs a sample, not the call."""

    __slots__ = ("seconds",)

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def add(self, stage: str, seconds: float) -> None:
        self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds

    def charge(self, stage: str, since: float) -> float:
        """Charge the thread time since `since` (a `time.thread_time()` of this thread) to
        `stage`; returns the clock read, the start of the next stage."""
        now = time.thread_time()
        self.seconds[stage] = self.seconds.get(stage, 0.0) + now - since
        return now

    @contextmanager
    def measure(self, stage: str) -> Iterator[None]:
        """Charge the thread time of the `with` body (synchronous code only: an `await`
        inside would charge whatever else the thread ran meanwhile)."""
        t0 = time.thread_time()
        try:
            yield
        finally:
            self.add(stage, time.thread_time() - t0)

    def timed(self, stage: str, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """`fn(*args, **kwargs)`, charged to `stage` on whichever thread runs it (for
        `asyncio.to_thread(cpu.timed, "meaning", fn, ...)`)."""
        with self.measure(stage):
            return fn(*args, **kwargs)

    def as_ms(self) -> dict[str, float]:
        """The totals in milliseconds (0.1 ms resolution), for the `call_ended` event."""
        return {k: round(v * 1000, 1) for k, v in sorted(self.seconds.items())}
