"""CallChanges: per-call wake-ups for readers following a live call (bounded, thread-safe)."""

from __future__ import annotations

import asyncio
import threading
import time

from ivr.storage.notify import CallChanges


def test_a_write_wakes_only_that_calls_waiters() -> None:
    async def run() -> tuple[bool, bool, int]:
        changes = CallChanges()
        a = asyncio.create_task(changes.wait("a", 5))
        b = asyncio.create_task(changes.wait("b", 0.3))
        await asyncio.sleep(0)
        assert changes.waiting == 2
        changes.changed("a")
        changes.changed(None)  # a write of no call (a turn row): nothing to wake
        return await a, await b, changes.waiting

    assert asyncio.run(run()) == (True, False, 0)


def test_a_wait_times_out_and_leaves_nothing_behind() -> None:
    async def run() -> None:
        changes = CallChanges()
        t0 = time.monotonic()
        assert await changes.wait("a", 0.2) is False
        assert time.monotonic() - t0 >= 0.19
        assert changes.waiting == 0 and not changes._waiters
        assert not asyncio.get_running_loop()._scheduled  # type: ignore[attr-defined]
        assert await changes.wait("a", 0) is False

    asyncio.run(run())


def test_a_cancelled_wait_is_unregistered() -> None:
    async def run() -> None:
        changes = CallChanges()
        task = asyncio.create_task(changes.wait("a", 30))
        await asyncio.sleep(0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert task.cancelled() and changes.waiting == 0 and not changes._waiters
        changes.changed("a")

    asyncio.run(run())


def test_bounded_a_waiter_beyond_the_limit_only_sleeps() -> None:
    async def run() -> None:
        changes = CallChanges(max_waiters=2)
        waits = [asyncio.create_task(changes.wait("a", 5)) for _ in range(2)]
        await asyncio.sleep(0)
        t0 = time.monotonic()
        assert await changes.wait("a", 0.1) is False  # over the limit: a plain sleep
        assert time.monotonic() - t0 >= 0.09
        changes.changed("a")
        assert await asyncio.gather(*waits) == [True, True]

    asyncio.run(run())


def test_a_write_from_another_thread_wakes_the_loop() -> None:
    async def run() -> bool:
        changes = CallChanges()
        task = asyncio.create_task(changes.wait("a", 5))
        await asyncio.sleep(0)
        t = threading.Thread(target=changes.changed, args=("a",))
        t.start()
        t.join()
        return await asyncio.wait_for(task, 2)

    assert asyncio.run(run()) is True
