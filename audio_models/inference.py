"""Model work of all the calls on a machine: priorities, deadlines and machine-wide slots.

Every call's recognitions go through one `InferenceScheduler` per process:

- **Priorities**: a final recognition (the caller has finished, the call waits for it) runs
  before a speculative one (begun at a pause, maybe thrown away); within a class, earliest
  deadline first, so the call that has waited longest is served first.
- **Deadlines**: a request carries the time by which its answer is still useful. Droppable
  (speculative) work still queued when its deadline passes is not run at all
  (`DeadlineMissed`): in a busy moment the machine spends its cores on answers calls are
  waiting for, not on guesses.
- **Machine-wide slots**: Whisper's encoder already uses every core it is given
  (`asr.cpu_threads`); two workers' recognitions running at once on a 2-core machine only
  slow each other down. `MachineSlots` is a set of lock files (flock) shared by every worker
  process of the machine (the shared data directory), so at most `slots` model calls run at
  once machine-wide; the others wait in their own process's priority queue. Speculative work
  only ever takes a slot that is free at once (flock has no priorities across processes: a
  guess must never make another worker's caller wait); with none free it is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import heapq
import itertools
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

log = logging.getLogger("ivr.inference")

T = TypeVar("T")

FINAL = 0  # a call is waiting for this answer
SPECULATIVE = 1  # begun before the caller finished: may be thrown away


class DeadlineMissed(RuntimeError):
    """Droppable work whose deadline passed before a thread was free to run it."""


def default_slots(cpu_threads: int) -> int:
    """Model calls the machine runs at once with `cpu_threads` each: cores // threads."""
    return max(1, (os.cpu_count() or 1) // max(1, cpu_threads))


class MachineSlots:
    """At most `count` holders at once across every process using `directory` (flock)."""

    def __init__(self, directory: Path, count: int, poll_s: float = 0.003) -> None:
        if count < 1:
            raise ValueError("count must be >= 1")
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.count = count
        self.poll_s = poll_s
        self._paths = [self.directory / f"slot-{i}.lock" for i in range(count)]

    @contextlib.contextmanager
    def hold(self, wait: bool = True) -> Iterator[int | None]:
        """Block until a slot is free (`wait=False`: only take one free now, else yield
        None); yields its index. Released on exit (and by the kernel if the process dies,
        so a crashed worker never leaks a slot)."""
        got = self._acquire(wait)
        try:
            yield None if got is None else got[1]
        finally:
            if got is not None:
                fcntl.flock(got[0], fcntl.LOCK_UN)
                os.close(got[0])

    def _acquire(self, wait: bool) -> tuple[int, int] | None:
        start = os.getpid() % self.count  # spread first tries over the slots
        order = [(start + i) % self.count for i in range(self.count)]
        while True:
            for i in order:
                fd = os.open(self._paths[i], os.O_RDWR | os.O_CREAT, 0o600)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(fd)
                    continue
                return fd, i
            if not wait:
                return None
            time.sleep(self.poll_s)


@dataclass(order=True)
class _Job:
    priority: int
    deadline: float
    seq: int
    fn: Callable[[], Any] = field(compare=False)
    future: Future[Any] = field(compare=False)
    droppable: bool = field(compare=False)
    what: str = field(compare=False)
    enqueued: float = field(compare=False, default_factory=time.monotonic)


@dataclass
class SchedulerStats:
    """Counters for logs, /api/health and benchmarks."""

    run: int = 0
    dropped: int = 0
    waited_s: float = 0.0  # total time jobs spent queued (incl. waiting for a machine slot)
    max_queue: int = 0


class InferenceScheduler:
    """A priority queue of blocking model calls served by `threads` threads of this process,
    each holding a `MachineSlots` slot (if given) while it runs."""

    def __init__(self, threads: int = 1, slots: MachineSlots | None = None,
                 name: str = "inference") -> None:
        if threads < 1:
            raise ValueError("threads must be >= 1")
        self.slots = slots
        self.stats = SchedulerStats()
        self._heap: list[_Job] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._closed = False
        self._threads = [threading.Thread(target=self._serve, name=f"{name}-{i}", daemon=True)
                         for i in range(threads)]
        for t in self._threads:
            t.start()

    def submit(self, fn: Callable[[], T], *, priority: int = FINAL,
               deadline: float | None = None, droppable: bool | None = None,
               what: str = "") -> Future[T]:
        """Queue `fn`; `deadline` is a `time.monotonic()` value (None: no deadline).
        Speculative work is droppable unless told otherwise."""
        if droppable is None:
            droppable = priority != FINAL
        fut: Future[T] = Future()
        job = _Job(priority, deadline if deadline is not None else float("inf"),
                   next(self._seq), fn, fut, droppable, what)
        with self._cond:
            if self._closed:
                raise RuntimeError("inference scheduler is closed")
            heapq.heappush(self._heap, job)
            self.stats.max_queue = max(self.stats.max_queue, len(self._heap))
            self._cond.notify()
        return fut

    async def run(self, fn: Callable[[], T], *, priority: int = FINAL,
                  deadline: float | None = None, droppable: bool | None = None,
                  what: str = "") -> T:
        """`submit` from the event loop; cancelling the awaiting task cancels queued work."""
        fut = self.submit(fn, priority=priority, deadline=deadline, droppable=droppable,
                          what=what)
        return await asyncio.wrap_future(fut)

    def queued(self) -> int:
        with self._cond:
            return len(self._heap)

    def close(self, timeout: float = 10.0) -> None:
        """Fail queued work, let running work finish, stop the threads."""
        with self._cond:
            self._closed = True
            pending, self._heap = self._heap, []
            self._cond.notify_all()
        for job in pending:
            if job.future.set_running_or_notify_cancel():
                job.future.set_exception(RuntimeError("inference scheduler closed"))
        for t in self._threads:
            t.join(timeout)

    # ------------------------------------------------------------ worker threads
    def _serve(self) -> None:
        while True:
            with self._cond:
                while not self._heap and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                job = heapq.heappop(self._heap)
            if not job.future.set_running_or_notify_cancel():
                continue  # cancelled while queued: the caller no longer needs it
            if job.droppable and time.monotonic() > job.deadline:
                self.stats.dropped += 1
                job.future.set_exception(DeadlineMissed(
                    f"{job.what or 'inference'}: deadline passed while queued"))
                continue
            self._run(job)

    def _run(self, job: _Job) -> None:
        hold = (self.slots.hold(wait=not job.droppable) if self.slots is not None
                else contextlib.nullcontext(0))
        try:
            with hold as slot:
                self.stats.waited_s += time.monotonic() - job.enqueued
                if slot is None:
                    self.stats.dropped += 1  # speculative, and every slot is busy elsewhere
                    job.future.set_exception(DeadlineMissed(
                        f"{job.what or 'inference'}: no machine slot free"))
                    return
                if job.droppable and time.monotonic() > job.deadline:
                    self.stats.dropped += 1  # the wait for a machine slot used it up
                    job.future.set_exception(DeadlineMissed(
                        f"{job.what or 'inference'}: deadline passed waiting for a slot"))
                    return
                result = job.fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting caller
            job.future.set_exception(exc)
            return
        self.stats.run += 1
        job.future.set_result(result)
