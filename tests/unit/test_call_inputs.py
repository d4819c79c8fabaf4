"""InputQueue: a waiting call wakes for an input, its deadline or `settled()`, nothing else."""

from __future__ import annotations

import asyncio
import time

from ivr.call.inputs import CallerHungUp, InputQueue, KeyPressed, SpeechBegan
from ivr.call.turn_taking import TurnRules, TurnTaking
from ivr.dialplan.actions import CallerInput, Listen, NoInput


def _queue(quiet: bool = True, maxsize: int = 256) -> tuple[InputQueue, dict[str, object]]:
    state: dict[str, object] = {"quiet": quiet, "dropped": []}
    q = InputQueue(lambda: bool(state["quiet"]),
                   lambda item: state["dropped"].append(item),  # type: ignore[attr-defined]
                   maxsize=maxsize)
    return q, state


def _timers() -> int:
    return len(asyncio.get_running_loop()._scheduled)  # type: ignore[attr-defined]


def test_untimed_wait_sets_no_timer_and_returns_on_settled() -> None:
    async def run() -> None:
        q, _ = _queue()
        task = asyncio.create_task(q.next(None))
        await asyncio.sleep(0)
        assert _timers() == 0  # no periodic re-check while busy
        await asyncio.sleep(0.12)
        assert not task.done()
        q.settled()
        assert await asyncio.wait_for(task, 1) is None

    asyncio.run(run())


def test_put_wakes_a_waiter_at_once_and_keeps_order() -> None:
    async def run() -> None:
        q, _ = _queue()
        task = asyncio.create_task(q.next(None))
        await asyncio.sleep(0)
        q.put(KeyPressed("1", 0.0))
        q.put(KeyPressed("2", 0.0))
        assert await task == KeyPressed("1", 0.0)
        assert q.pending == 1
        assert await q.next(5.0) == KeyPressed("2", 0.0)

    asyncio.run(run())


def test_timed_wait_is_one_timer_and_ignores_settled() -> None:
    async def run() -> None:
        q, _ = _queue()
        t0 = time.monotonic()
        task = asyncio.create_task(q.next(0.2))
        await asyncio.sleep(0)
        assert _timers() == 1
        q.settled()  # a timed wait is not about quietness: it goes on to its deadline
        assert await task is None
        assert time.monotonic() - t0 >= 0.19
        assert _timers() == 0
        assert await q.next(0) is None

    asyncio.run(run())


def test_cancelled_wait_leaves_no_waiter_or_timer() -> None:
    async def run() -> None:
        q, _ = _queue()
        task = asyncio.create_task(q.next(30.0))
        await asyncio.sleep(0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert _timers() == 0 and not q._waiters
        q.put(KeyPressed("5", 0.0))
        assert await q.next(None) == KeyPressed("5", 0.0)  # the input was not lost

    asyncio.run(run())


def test_bounded_and_drain_keeps_one_hangup() -> None:
    async def run() -> None:
        q, state = _queue(maxsize=2)
        q.put(KeyPressed("1", 0.0))
        q.put(CallerHungUp("bye"))
        q.put(KeyPressed("2", 0.0))
        assert state["dropped"] == [KeyPressed("2", 0.0)]
        q.drain()
        assert q.pending == 1 and await q.next(0) == CallerHungUp("bye")

    asyncio.run(run())


def test_before_wait_runs_on_every_wait() -> None:
    async def run() -> None:
        calls: list[int] = []
        q = InputQueue(lambda: True, lambda _: None, lambda: calls.append(1))
        await q.next(0)
        task = asyncio.create_task(q.next(None))
        await asyncio.sleep(0)
        q.settled()
        await task
        assert len(calls) == 2

    asyncio.run(run())


def test_no_input_timer_starts_when_the_call_settles_not_by_polling() -> None:
    """TurnTaking on a busy call: no timer until `settled()` says the prompt ended, then
    exactly one no-input timer, and the no-input comes after its timeout."""

    async def run() -> None:
        q, state = _queue(quiet=False)
        events: list[str] = []
        turns = TurnTaking(TurnRules(no_input_timeout_s=0.3), lambda t, **_: events.append(t))
        task = asyncio.create_task(turns.take(Listen("menu", "en", None), q))
        await asyncio.sleep(0.15)
        assert _timers() == 0 and not task.done()  # playing: no timer, no wake-up
        state["quiet"] = True
        q.settled()  # the prompt ended
        t0 = time.monotonic()
        await asyncio.sleep(0.01)
        assert _timers() == 1
        answer = await asyncio.wait_for(task, 2)
        assert answer is not None and isinstance(answer[0], NoInput)
        assert time.monotonic() - t0 >= 0.28
        assert events == ["no_input"]

    asyncio.run(run())


def test_speech_began_stops_the_timer_until_settled_again() -> None:
    async def run() -> None:
        q, state = _queue(quiet=True)
        turns = TurnTaking(TurnRules(no_input_timeout_s=0.2, interdigit_timeout_s=0.2),
                           lambda t, **_: None)
        task = asyncio.create_task(turns.take(Listen("pin", "en", None, max_digits=4,
                                                     digits_slot=True), q))
        await asyncio.sleep(0.05)
        state["quiet"] = False
        q.put(SpeechBegan(0.0))  # the caller speaks: no timer while they do
        await asyncio.sleep(0.3)
        assert not task.done() and _timers() == 0
        q.put(KeyPressed("4", 0.0))  # keys: the inter-digit timer runs
        answer = await asyncio.wait_for(task, 2)
        assert answer is not None and answer[0] == CallerInput("dtmf", "4")

    asyncio.run(run())
