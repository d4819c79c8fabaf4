"""InferenceScheduler: priority and deadline order, dropping late speculative work, and
machine-wide slots shared by real processes (flock)."""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
import time
from pathlib import Path

import pytest

from audio_models.inference import (
    FINAL,
    SPECULATIVE,
    DeadlineMissed,
    InferenceScheduler,
    MachineSlots,
    default_slots,
)


def _blocked(sched: InferenceScheduler) -> threading.Event:
    """Occupy the scheduler's only thread until the returned event is set."""
    gate = threading.Event()
    started = threading.Event()

    def hold() -> None:
        started.set()
        gate.wait(10)

    sched.submit(hold, what="hold")
    assert started.wait(5)
    return gate


def test_final_work_runs_before_speculative_and_earliest_deadline_first() -> None:
    sched = InferenceScheduler(threads=1)
    order: list[str] = []
    try:
        gate = _blocked(sched)
        now = time.monotonic()
        futs = [
            sched.submit(lambda: order.append("spec"), priority=SPECULATIVE, deadline=now + 60),
            sched.submit(lambda: order.append("final-late"), deadline=now + 9),
            sched.submit(lambda: order.append("final-early"), deadline=now + 3),
            sched.submit(lambda: order.append("final-none")),
        ]
        gate.set()
        for f in futs:
            f.result(5)
    finally:
        sched.close()
    assert order == ["final-early", "final-late", "final-none", "spec"]


def test_late_speculative_work_is_dropped_but_late_final_work_still_runs() -> None:
    sched = InferenceScheduler(threads=1)
    try:
        gate = _blocked(sched)
        soon = time.monotonic() + 0.05
        spec = sched.submit(lambda: "guess", priority=SPECULATIVE, deadline=soon)
        final = sched.submit(lambda: "answer", priority=FINAL, deadline=soon)
        time.sleep(0.1)
        gate.set()
        assert final.result(5) == "answer"
        with pytest.raises(DeadlineMissed):
            spec.result(5)
        assert (sched.stats.run, sched.stats.dropped) == (2, 1)
    finally:
        sched.close()


def test_cancelled_queued_work_never_runs_and_errors_reach_the_caller() -> None:
    sched = InferenceScheduler(threads=1)
    ran: list[str] = []
    try:
        gate = _blocked(sched)
        doomed = sched.submit(lambda: ran.append("x"))
        assert doomed.cancel()
        boom = sched.submit(lambda: 1 / 0)
        gate.set()
        with pytest.raises(ZeroDivisionError):
            boom.result(5)
    finally:
        sched.close()
    assert ran == []


def test_run_from_the_event_loop_and_close_fails_queued_work() -> None:
    sched = InferenceScheduler(threads=1)

    async def main() -> int:
        return await sched.run(lambda: 41 + 1, what="sum")

    assert asyncio.run(main()) == 42
    gate = _blocked(sched)
    queued = sched.submit(lambda: "never")
    threading.Timer(0.2, gate.set).start()
    sched.close()
    with pytest.raises(RuntimeError, match="closed"):
        queued.result(5)
    with pytest.raises(RuntimeError, match="closed"):
        sched.submit(lambda: None)


def _hold_slot(directory: str, count: int, hold_s: float, log: multiprocessing.Queue) -> None:
    slots = MachineSlots(Path(directory), count)
    with slots.hold():
        log.put(("in", time.monotonic()))
        time.sleep(hold_s)
        log.put(("out", time.monotonic()))


@pytest.mark.parametrize("count", [1, 2])
def test_machine_slots_bound_concurrency_across_processes(tmp_path: Path, count: int) -> None:
    ctx = multiprocessing.get_context("spawn")
    log: multiprocessing.Queue = ctx.Queue()
    procs = [ctx.Process(target=_hold_slot, args=(str(tmp_path), count, 0.3, log))
             for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    events = sorted((log.get(timeout=5) for _ in range(8)), key=lambda e: e[1])
    inside = peak = 0
    for kind, _ in events:
        inside += 1 if kind == "in" else -1
        peak = max(peak, inside)
    assert peak == count


def test_a_dead_holder_frees_its_slot(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    log: multiprocessing.Queue = ctx.Queue()
    p = ctx.Process(target=_hold_slot, args=(str(tmp_path), 1, 60, log))
    p.start()
    assert log.get(timeout=30)[0] == "in"
    p.kill()
    p.join(10)
    t0 = time.monotonic()
    with MachineSlots(tmp_path, 1).hold() as index:
        assert index == 0
    assert time.monotonic() - t0 < 2


def test_default_slots_is_cores_over_threads() -> None:
    assert default_slots(10_000) == 1
    assert default_slots(1) >= 1


def test_speculative_work_only_takes_a_free_machine_slot(tmp_path: Path) -> None:
    slots = MachineSlots(tmp_path, 1)
    sched = InferenceScheduler(threads=1, slots=slots)
    try:
        with slots.hold() as index:  # another worker's model call holds the only slot
            assert index == 0
            guess = sched.submit(lambda: "guess", priority=SPECULATIVE,
                                 deadline=time.monotonic() + 60)
            with pytest.raises(DeadlineMissed, match="no machine slot"):
                guess.result(5)
            answer = sched.submit(lambda: "answer", priority=FINAL)
            time.sleep(0.1)
            assert not answer.done()  # a final waits for the slot
        assert answer.result(5) == "answer"
        assert sched.submit(lambda: "guess", priority=SPECULATIVE).result(5) == "guess"
    finally:
        sched.close()
