"""Speculative recognition on idle capacity only: no guess at a pause while another call's
recognition is queued or running where this call's would run (`WhisperASR.in_flight`,
`Hearing.others_recognising`); the call's own recognitions do not count."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from audio_models.inference import FINAL, SPECULATIVE, InferenceScheduler
from audio_models.whisper_asr import WhisperASR
from tests.unit.call_runner import Call, run_call, speech_clip
from tests.unit.fakes import FakeASR, transcript
from tests.unit.test_session_early import AGENT, Timeline, english_menu, silence


def _engine(scheduler: InferenceScheduler | None) -> WhisperASR:
    asr = object.__new__(WhisperASR)
    asr.name, asr.scheduler, asr._closed = "fake", scheduler, False
    asr._executor = ThreadPoolExecutor(1)
    return asr


def test_in_flight_counts_queued_and_running_recognitions_per_queue() -> None:
    scheduler = InferenceScheduler(threads=1)
    base, tiny, alone = _engine(scheduler), _engine(scheduler), _engine(None)
    gate = threading.Event()

    async def scenario() -> None:
        running = asyncio.ensure_future(base._off_loop(gate.wait, FINAL, None))
        queued = asyncio.ensure_future(tiny._off_loop(lambda: 1, FINAL, None))
        await asyncio.sleep(0.05)
        assert (base.in_flight(), tiny.in_flight(), alone.in_flight()) == (2, 2, 0)
        gate.set()
        await asyncio.gather(running, queued)
        assert base.in_flight() == 0
        with pytest.raises(ZeroDivisionError):
            await alone._off_loop(lambda: 1 / 0, FINAL, None)
        assert alone.in_flight() == 0  # counted down on errors too

    try:
        asyncio.run(scenario())
    finally:
        scheduler.close()


class BusyASR(FakeASR):
    """A FakeASR on an inference thread that `others` recognitions of other calls hold."""

    def __init__(self, *a: Any, others: int, **k: Any) -> None:
        super().__init__(*a, **k)
        self.others, self.mine = others, 0

    def in_flight(self) -> int:
        return self.others + self.mine

    async def recognize(self, *a: Any, **k: Any) -> Any:
        self.mine += 1
        try:
            return await super().recognize(*a, **k)
        finally:
            self.mine -= 1


def _paused_then_ended() -> Any:
    async def scenario(c: Call) -> None:
        await english_menu(c)
        tl = Timeline()
        tl.feed(c, silence(0.5), speech_clip(), silence(0.3))  # a pause
        await asyncio.sleep(0.1)
        tl.feed(c, silence(0.6))  # the end of speech
        await c.wait_event("turn", count=2)
        c.session.on_hangup("caller_hangup")
    return scenario


def _call(tmp_path, others: int) -> Call:
    asr = BusyASR([transcript(AGENT), transcript(AGENT)], others=others)
    return run_call(tmp_path, _paused_then_ended(), asr=asr, speed=0.01,
                    early_commit_score=0)


def test_no_guess_while_another_call_is_recognised(tmp_path) -> None:
    c = _call(tmp_path, others=1)
    assert [p for p, _d in c.asr.urgency] == [FINAL]  # the pause started nothing
    assert [e["why"] for e in c.events("asr_early_discarded")] == ["not_idle"]
    turn = c.row()["turns"][1]
    assert (turn["caller_text"], turn["intent"]) == (AGENT, "agent")


def test_a_guess_on_idle_capacity_is_used(tmp_path) -> None:
    c = _call(tmp_path, others=0)
    assert [p for p, _d in c.asr.urgency] == [SPECULATIVE]  # the guess became the answer
    assert not c.events("asr_early_discarded")
    assert c.events("utterance")[0]["early"] is True
