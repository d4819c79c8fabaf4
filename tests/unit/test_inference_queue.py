"""The inference server's queue: oldest caller first, finals before speculative work, late
speculative work dropped, compatible utterances batched into one encoder call, cancelled
work never run. A fake model stands in for Whisper (the real one: the integration test)."""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable
from typing import Any

import pytest

from audio_models.frames import AudioFrame
from audio_models.inference import FINAL, SPECULATIVE, DeadlineMissed
from audio_models.inference_batch import QueueFull, RecognitionQueue
from audio_models.protocols import Transcript


class FakeModel:
    """Labels requests by `language`; the first recognition can be held at a gate."""

    def __init__(self, hold_first: bool = True) -> None:
        self.gate = threading.Event()
        self.started = threading.Event()
        self.hold = hold_first
        self.encoded: list[list[str]] = []  # labels per batched encoder call
        self.order: list[str] = []
        self.supplied: dict[str, Any] = {}

    def key(self, args: dict[str, Any]) -> Hashable:
        return args["model"], args["full_window"]

    def encode(self, batch: list[dict[str, Any]]) -> list[Any]:
        self.encoded.append([a["language"] for a in batch])
        return [f"enc:{a['language']}" for a in batch]

    def recognise(self, args: dict[str, Any], encoded: Any) -> Transcript:
        if self.hold:
            self.hold = False
            self.started.set()
            assert self.gate.wait(10)
        self.order.append(args["language"])
        self.supplied[args["language"]] = encoded
        return Transcript(args["language"], "en", 1.0, 0.0, 0.0, 1.0, 0.0)


def _args(label: str, *, priority: int = FINAL, deadline_in_s: float | None = None,
          model: str = "m", full_window: bool = False) -> dict[str, Any]:
    return {"audio": AudioFrame.silence(0.5, 8000), "model": model, "language": label,
            "prompt": None, "detect": None, "full_window": full_window, "grammar": None,
            "priority": priority, "deadline_in_s": deadline_in_s}


class Results:
    def __init__(self) -> None:
        self.got: dict[str, Transcript | BaseException] = {}
        self.cond = threading.Condition()

    def done(self, label: str) -> Any:
        def finish(t: Transcript | None, e: BaseException | None) -> None:
            with self.cond:
                self.got[label] = e if e is not None else t  # type: ignore[assignment]
                self.cond.notify_all()
        return finish

    def wait(self, n: int) -> None:
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.got) >= n, 10), self.got


def test_oldest_caller_first_and_finals_before_speculative() -> None:
    model, res = FakeModel(), Results()
    q = RecognitionQueue(model, max_batch=1, linger_s=0)
    try:
        q.put(_args("busy"), res.done("busy"))
        assert model.started.wait(5)
        q.put(_args("spec", priority=SPECULATIVE, deadline_in_s=5), res.done("spec"))
        q.put(_args("late", deadline_in_s=1.9), res.done("late"))  # spoke later
        q.put(_args("early", deadline_in_s=1.2), res.done("early"))  # has waited longest
        q.put(_args("agent-leg", priority=2), res.done("agent-leg"))  # background: last
        q.put(_args("no-deadline"), res.done("no-deadline"))  # arrival order: after both
        model.gate.set()
        res.wait(6)
        assert model.order == ["busy", "early", "late", "no-deadline", "spec", "agent-leg"]
    finally:
        q.close()


def test_speculative_work_past_its_deadline_is_dropped_not_run() -> None:
    model, res = FakeModel(), Results()
    q = RecognitionQueue(model, max_batch=1, linger_s=0)
    try:
        q.put(_args("busy"), res.done("busy"))
        assert model.started.wait(5)
        q.put(_args("guess", priority=SPECULATIVE, deadline_in_s=0.05), res.done("guess"))
        q.put(_args("final", deadline_in_s=0.05), res.done("final"))
        time.sleep(0.15)
        model.gate.set()
        res.wait(3)
        assert isinstance(res.got["guess"], DeadlineMissed)
        assert "guess" not in model.order
        assert model.order == ["busy", "final"]  # a late final is still recognised
        assert q.stats.dropped == 1
    finally:
        q.close()


def test_compatible_utterances_ready_together_share_one_encoder_call() -> None:
    model, res = FakeModel(), Results()
    q = RecognitionQueue(model, max_batch=3, linger_s=0.05)
    try:
        q.put(_args("busy"), res.done("busy"))
        assert model.started.wait(5)
        for label in ("a", "b", "c", "d"):
            q.put(_args(label), res.done(label))
        q.put(_args("other-model", model="m2"), res.done("other-model"))
        q.put(_args("full", full_window=True), res.done("full"))
        q.put(_args("guess", priority=SPECULATIVE), res.done("guess"))
        model.gate.set()
        res.wait(8)
        assert model.encoded[0] == ["a", "b", "c"]  # at most max_batch, oldest first
        assert ["d"] not in model.encoded  # a lone request is encoded by the model itself
        assert all(len(b) > 1 for b in model.encoded)
        assert model.supplied["a"] == "enc:a" and model.supplied["d"] is None
        assert not any("guess" in b for b in model.encoded[:1])  # never in a final's batch
        assert q.stats.batches == 1 and q.stats.batched == 3
    finally:
        q.close()


def test_the_head_lingers_for_companions_that_arrive_within_the_window() -> None:
    model, res = FakeModel(hold_first=False), Results()
    q = RecognitionQueue(model, max_batch=4, linger_s=0.3)
    try:
        q.put(_args("first"), res.done("first"))
        time.sleep(0.05)
        q.put(_args("second"), res.done("second"))
        res.wait(2)
        assert model.encoded == [["first", "second"]]
    finally:
        q.close()


def test_cancelled_work_is_never_run_and_the_queue_is_bounded() -> None:
    model, res = FakeModel(), Results()
    q = RecognitionQueue(model, max_batch=1, linger_s=0, max_queued=2)
    try:
        q.put(_args("busy"), res.done("busy"))
        assert model.started.wait(5)
        gone = q.put(_args("gone"), res.done("gone"), owner="conn-1")
        q.put(_args("kept"), res.done("kept"), owner="conn-2")
        with pytest.raises(QueueFull):  # a third queued request is refused
            q.put(_args("over"), res.done("over"))
        assert q.cancel(lambda j: j.owner == "conn-1") == 1 and gone.cancelled
        model.gate.set()
        res.wait(2)
        time.sleep(0.05)
        assert model.order == ["busy", "kept"] and "gone" not in res.got
    finally:
        q.close()


def test_a_failing_batch_fails_each_of_its_requests_and_the_queue_goes_on() -> None:
    class Broken(FakeModel):
        def encode(self, batch: list[dict[str, Any]]) -> list[Any]:
            raise RuntimeError("encoder exploded")

    model, res = Broken(), Results()
    q = RecognitionQueue(model, max_batch=2, linger_s=0)
    try:
        q.put(_args("busy"), res.done("busy"))
        assert model.started.wait(5)
        q.put(_args("x"), res.done("x"))
        q.put(_args("y"), res.done("y"))
        model.gate.set()
        res.wait(3)
        assert isinstance(res.got["x"], RuntimeError) and isinstance(res.got["y"], RuntimeError)
        q.put(_args("after"), res.done("after"))
        res.wait(4)
        assert isinstance(res.got["after"], Transcript)
    finally:
        q.close()
