"""Wake-ups for readers following a live call: `GET /api/calls/{id}/events` waits for the
call's next write instead of re-reading the store every 100 ms (issue 22).

`CallStore` calls `changed(call_id)` when it queues a write of the call (an event, the call's
row, its end). A waiter registers before it sleeps and is woken at once; reading after the
wake-up sees the write, as every read of the store first flushes the writes queued before it
(`ivr.storage.writer`). What this process does not write (the calls of another worker on a
shared database, the writer thread's own `storage_dropped` events) is not seen here: waiters
keep a slower re-read (`FALLBACK_S`) for that.

Per call, bounded: at most `MAX_WAITERS` waiters for all calls (a further one is told to fall
back to polling), and a call's entry exists only while someone waits on it. Signalled from the
event loop's thread (the store's writes are); a write from another thread is handed to the
waiter's loop with `call_soon_threadsafe`.
"""

from __future__ import annotations

import asyncio
import contextlib

MAX_WAITERS = 4096  # waiting readers of all calls; beyond, a reader polls at `FALLBACK_S`
FALLBACK_S = 1.0  # a waiter re-reads at least this often (writes this process cannot see)


class CallChanges:
    """Waiters for a call's next write (see the module docstring)."""

    def __init__(self, max_waiters: int = MAX_WAITERS) -> None:
        self.max_waiters = max_waiters
        self._waiters: dict[str, set[asyncio.Future[bool]]] = {}
        self._count = 0

    @property
    def waiting(self) -> int:
        """Readers waiting now (all calls)."""
        return self._count

    def changed(self, call_id: str | None) -> None:
        """A write of `call_id` was queued: wake its waiters (cheap when there are none)."""
        if call_id is None or not self._waiters:
            return
        waiters = self._waiters.pop(call_id, None)
        if not waiters:
            return
        for fut in waiters:
            loop = fut.get_loop()
            if _running_loop() is loop:
                _wake(fut)
            else:
                with contextlib.suppress(RuntimeError):  # its loop closed: nothing waits
                    loop.call_soon_threadsafe(_wake, fut)

    async def wait(self, call_id: str, timeout_s: float) -> bool:
        """Until `call_id`'s next write (True) or `timeout_s` (False); with too many readers
        waiting already, just sleeps `min(timeout_s, FALLBACK_S)` (False)."""
        if timeout_s <= 0:
            return False
        loop = asyncio.get_running_loop()
        if self._count >= self.max_waiters:
            await asyncio.sleep(min(timeout_s, FALLBACK_S))
            return False
        fut: asyncio.Future[bool] = loop.create_future()
        self._waiters.setdefault(call_id, set()).add(fut)
        self._count += 1
        timer = loop.call_later(timeout_s, _wake, fut, False)
        try:
            return await fut
        finally:
            self._count -= 1
            timer.cancel()
            waiters = self._waiters.get(call_id)
            if waiters is not None:
                waiters.discard(fut)
                if not waiters and self._waiters.get(call_id) is waiters:
                    self._waiters.pop(call_id, None)


def _wake(fut: asyncio.Future[bool], written: bool = True) -> None:
    if not fut.done():
        fut.set_result(written)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
