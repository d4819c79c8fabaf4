"""A call's CPU by stage (`ivr.call.stage_cpu`): charged on the thread that runs the stage,
stored with the call's `call_ended` event."""

from __future__ import annotations

import asyncio
import threading
import time

from ivr.call.stage_cpu import StageCpu
from tests.unit.call_runner import Call, run_call, speech_clip
from tests.unit.fakes import transcript
from tests.unit.test_session_early import AGENT, Timeline, english_menu, silence


def _spin(seconds: float) -> int:
    """Burn `seconds` of this thread's CPU."""
    t0, n = time.thread_time(), 0
    while time.thread_time() - t0 < seconds:
        n += 1
    return n


def test_busy_work_is_charged_and_waiting_is_not() -> None:
    cpu = StageCpu()
    with cpu.measure("vad"):
        _spin(0.05)
    with cpu.measure("dialogue"):
        time.sleep(0.2)  # waiting costs no CPU
    assert 0.04 < cpu.seconds["vad"] < 1.0
    assert cpu.seconds["dialogue"] < 0.03


def test_timed_charges_the_thread_that_runs_it() -> None:
    """Another thread's busy work at the same time is not charged."""
    cpu = StageCpu()
    other = threading.Thread(target=_spin, args=(0.3,))
    other.start()
    assert asyncio.run(asyncio.to_thread(cpu.timed, "meaning", _spin, 0.05)) > 0
    other.join()
    assert 0.04 < cpu.seconds["meaning"] < 0.25


def test_charge_splits_one_clock_into_consecutive_stages() -> None:
    """The per-frame path reads the clock once per boundary: each stage gets its own span."""
    cpu = StageCpu()
    t = time.thread_time()
    _spin(0.03)
    t = cpu.charge("echo", t)
    time.sleep(0.1)
    _spin(0.02)
    cpu.charge("vad", t)
    assert 0.025 < cpu.seconds["echo"] < 0.5
    assert 0.015 < cpu.seconds["vad"] < 0.5


def test_totals_accumulate_and_read_in_milliseconds() -> None:
    cpu = StageCpu()
    cpu.add("echo", 0.00104)
    cpu.add("echo", 0.002)
    cpu.add("vad", 0.5)
    assert cpu.as_ms() == {"echo": 3.0, "vad": 500.0}


def test_a_call_stores_its_cpu_by_stage_when_it_ends(tmp_path) -> None:
    async def scenario(c: Call) -> None:
        await english_menu(c)
        Timeline().feed(c, silence(0.5), speech_clip(), silence(0.9))
        await c.wait_event("turn", count=2)
        c.session.on_hangup("caller_hangup")

    c = run_call(tmp_path, scenario, asr_script=[transcript(AGENT)], speed=0.01)
    ended = c.events("call_ended")[0]
    cpu = ended["cpu_ms"]
    assert {"vad", "dialogue"} <= set(cpu)  # the endpointer ran, the engine stepped
    assert all(isinstance(v, float) and v >= 0 for v in cpu.values())
    assert cpu["vad"] > 0
