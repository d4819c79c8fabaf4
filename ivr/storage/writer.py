"""The process's one store writer: a call's hot-path writes leave the event loop (issue 16).

Every step of a call becomes an event, and `CallStore.add_event` used to run its INSERT (the
commit's fsync, and any wait for another process's write lock: up to the busy timeout) on
the call's event loop. Now the store's writes that return nothing (`add_event`,
`call_started`, `update_call`, `update_turn`, `call_ended`) become a `Write` handed to this
writer and return at once (`add_turn`, `add_callback` and `mark_interrupted` return a value
their callers use, so they stay synchronous). One thread per process and database (shared by
the process's stores on it: `ivr.storage.connections`), with a connection of its own, applies
the writes in the order they were submitted, committing whatever has accumulated (at most
`BATCH`) in one short transaction; it starts with the first write. One thread, not the
loop's executor: SQLite takes one writer at a time, and one connection keeps the order.

- Read-your-writes: `flush()` returns when every write submitted before it is committed.
  The store's `db` (`ivr.storage.connections`) flushes before each statement it runs outside
  a transaction, so any read (the store's, the dashboard's, a test's) and any synchronous
  write of this process comes after the writes queued before it. A flush waits at most
  `FLUSH_TIMEOUT_S` (the busy timeout: as long as one write could wait before), then the
  read goes on without the writes still queued, with a warning; until the writer makes
  progress again, later reads wait `STALLED_FLUSH_S` at most (a stalled disk costs the loop
  one long wait, not one per read).
- Bounded: at most `size` writes wait, plus `reserve` more for the call and turn rows, so a
  call's state outlives its events. When full, the caller waits at most `full_wait_s` for
  room, then the write is dropped: counted in `stats`, logged (the first drop, then a
  summary when the writer catches up), and a `storage_dropped` event tells each call that
  lost writes. While the queue stays full later writes are dropped at once: a stalled disk
  costs the event loop one `full_wait_s`, not one per event.
- Failures: a retryable error (database locked past the busy timeout, disk I/O, a lost
  PostgreSQL connection) retries the batch with backoff: nothing is lost while the disk or
  the server is only slow. A write the database refuses (an event of an unknown call) is
  logged and counted as failed; the rest of its batch is written one write at a time.
- Lifecycle: `close()` writes everything queued and stops the thread; writes still failing
  after its timeout are given up, counted and logged. A write submitted after `close()` is
  dropped (counted, logged).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import sqlite3
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ivr.storage.db import write_transaction
from ivr.thread_names import STORE_WRITER, name_os_thread

log = logging.getLogger("ivr.storage")

QUEUE_SIZE = 4096  # writes waiting for the writer (events; the reserve is for row writes)
RESERVE = 512  # more room for call and turn rows (`Write.essential`) when events fill it
BATCH = 100  # writes committed in one transaction, at most
FULL_WAIT_S = 0.02  # a full queue: how long a caller waits for room before dropping
FLUSH_TIMEOUT_S = 10.0  # a read waits this long at most for the writes queued before it
STALLED_FLUSH_S = 0.05  # ... and this long while the writer is stalled (a flush timed out)
CLOSE_TIMEOUT_S = 30.0  # close(): how long writes failing with retryable errors are retried
_RETRY_FIRST_S, _RETRY_MAX_S = 0.01, 1.0
_SQLITE_RETRYABLE = ("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_IOERR", "SQLITE_FULL",
                     "SQLITE_PROTOCOL", "SQLITE_CANTOPEN")


@dataclass(frozen=True)
class Write:
    """One queued write of `call_id`'s record: `apply(db)` runs in the writer thread."""

    call_id: str | None  # None: no call to tell of a drop (a turn's row)
    what: str  # for the logs: "event utterance", "update_call language"
    apply: Callable[[Any], None]
    essential: bool = False  # a call or turn row: may use the reserve, dropped last


@dataclass
class WriterStats:
    submitted: int = 0  # accepted into the queue
    written: int = 0  # committed
    failed: int = 0  # refused by the database, or given up at close
    dropped: Counter[str] = field(default_factory=Counter)  # by `Write.what`'s first word

    @property
    def dropped_total(self) -> int:
        return sum(self.dropped.values())


class _GaveUp(Exception):
    """Retryable errors went on past the close deadline."""


def retryable(e: BaseException) -> bool:
    """Whether a failed write may succeed later (a slow or locked disk, a lost server)."""
    if isinstance(e, sqlite3.OperationalError):
        name = getattr(e, "sqlite_errorname", "")
        return name.startswith(_SQLITE_RETRYABLE) or "locked" in str(e)
    with contextlib.suppress(ImportError):
        import psycopg

        return isinstance(e, psycopg.OperationalError)
    return False


class StoreWriter:
    """One thread applying queued `Write`s in order, in small batches (see the module)."""

    def __init__(self, connect: Callable[[], Any], *, size: int = QUEUE_SIZE,
                 reserve: int = RESERVE, batch: int = BATCH,
                 full_wait_s: float = FULL_WAIT_S, name: str = "store-writer") -> None:
        self._connect = connect  # opens the writer's own connection (an `ivr.storage.db.Database`)
        self.size, self.reserve, self.batch = size, reserve, batch
        self.full_wait_s, self.name = full_wait_s, name
        self.stats = WriterStats()
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)  # the writer waits for writes
        self._progress = threading.Condition(self._lock)  # callers wait for room, commits
        self._queue: deque[tuple[int, Write]] = deque()
        self._submitted = self._done = 0  # sequence numbers: last accepted, last applied
        self._overflow = False  # the queue was found full and has not drained since
        self._stalled_at = -1  # `_done` when a flush last timed out
        self._lost: dict[str, Counter[str]] = {}  # call: writes dropped, not yet told
        self._lost_at: dict[str, float] = {}
        self._closing = False
        self._give_up_at = math.inf
        self._thread: threading.Thread | None = None
        self._db: Any = None

    # ------------------------------------------------------------ callers' side
    def submit(self, write: Write) -> bool:
        """Queue `write` and return at once (True), or after `full_wait_s` at most drop it
        (False): the queue is full, or the writer closed."""
        limit = self.size + (self.reserve if write.essential else 0)
        with self._lock:
            if len(self._queue) >= limit and not self._overflow and not self._closing:
                self._progress.wait_for(lambda: len(self._queue) < limit or self._closing,
                                        self.full_wait_s)
            if self._closing or len(self._queue) >= limit:
                self._drop(write)
                return False
            self._submitted += 1
            self._queue.append((self._submitted, write))
            self.stats.submitted += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
            self._work.notify()
        return True

    def _drop(self, write: Write) -> None:
        self.stats.dropped[write.what.split()[0]] += 1
        if self._closing:
            log.error("store writer closed: %s of call %s not stored", write.what,
                      write.call_id or "-")
            return
        if not self._overflow:
            log.error("store writer: queue full (%d writes waiting, storage stalled?): "
                      "dropping writes until it drains, first %s of call %s",
                      len(self._queue), write.what, write.call_id or "-")
        self._overflow = True
        if write.call_id is not None:
            self._lost.setdefault(write.call_id, Counter())[write.what.split()[0]] += 1
            self._lost_at.setdefault(write.call_id, time.time())

    def flush(self, timeout: float = FLUSH_TIMEOUT_S) -> bool:
        """Wait until every write submitted so far is applied; False: timed out. Once a
        flush timed out, the next ones wait `STALLED_FLUSH_S` at most until the writer
        makes progress again."""
        with self._lock:
            target = self._submitted
            if self._done >= target or threading.current_thread() is self._thread:
                return True
            stalled = self._stalled_at == self._done
            done = self._progress.wait_for(lambda: self._done >= target,
                                           min(timeout, STALLED_FLUSH_S) if stalled else timeout)
            waiting = target - self._done
            if not done:
                self._stalled_at = self._done
        if not done and not stalled:
            log.warning("store writer: %d write(s) still queued after %.1f s; reading "
                        "without them until it makes progress", waiting, timeout)
        return done

    @property
    def pending(self) -> int:
        with self._lock:
            return self._submitted - self._done

    def close(self, timeout: float = CLOSE_TIMEOUT_S) -> None:
        """Apply everything queued (giving up on writes still failing after `timeout`),
        then stop the thread and close its connection. Idempotent."""
        with self._lock:
            if not self._closing:
                self._closing = True
                self._give_up_at = time.monotonic() + timeout
            self._work.notify_all()
            self._progress.notify_all()
            thread = self._thread
        if thread is None or thread is threading.current_thread():
            return
        thread.join(timeout + 5.0)
        if thread.is_alive():
            log.error("store writer did not stop; %d write(s) not stored", self.pending)

    # ------------------------------------------------------------ writer thread
    def _run(self) -> None:
        name_os_thread(STORE_WRITER)  # its CPU shows as "storage" in scripts/loadtest
        try:
            while True:
                with self._lock:
                    self._work.wait_for(lambda: self._queue or self._lost or self._closing)
                    if not self._queue and not self._lost:
                        return  # closing, everything applied
                    batch = [self._queue.popleft()
                             for _ in range(min(self.batch, len(self._queue)))]
                    told = self._markers()
                    self._progress.notify_all()  # room
                self._apply([w for _, w in batch] + told)
                with self._lock:
                    if batch:
                        self._done = batch[-1][0]
                    if self._overflow and len(self._queue) < self.size:
                        self._overflow = False
                        log.warning("store writer caught up; dropped so far: %s",
                                    dict(self.stats.dropped))
                    self._progress.notify_all()
        except BaseException:  # a bug here must not leave readers waiting forever
            log.exception("store writer stopped")
            with self._lock:
                self._closing, self._done = True, self._submitted
                self._progress.notify_all()
            raise
        finally:
            if self._db is not None:
                with contextlib.suppress(Exception):
                    self._db.close()

    def _markers(self) -> list[Write]:
        """A `storage_dropped` event for each call that lost writes (under the lock)."""
        told = [Write(call_id, "event storage_dropped",
                      _insert_event(call_id, "storage_dropped", self._lost_at[call_id],
                                    {"writes": sum(lost.values()), "what": dict(lost)}))
                for call_id, lost in self._lost.items()]
        self._lost, self._lost_at = {}, {}
        return told

    def _apply(self, writes: list[Write]) -> None:
        try:
            self._commit(writes)
            self.stats.written += len(writes)
        except _GaveUp as e:
            self._failed(writes, e.__cause__ or e)
        except Exception as e:  # noqa: BLE001 - logged and counted
            if len(writes) == 1:
                self._failed(writes, e)
                return
            for w in writes:  # one refused write must not cost the others
                self._apply([w])

    def _failed(self, writes: list[Write], e: BaseException) -> None:
        self.stats.failed += len(writes)
        for w in writes:
            log.error("store writer: %s of call %s not stored: %s", w.what, w.call_id or "-", e)

    def _commit(self, writes: Sequence[Write]) -> None:
        """`writes` in one transaction, retried while the errors are retryable."""
        delay = _RETRY_FIRST_S
        while True:
            try:
                if self._db is None:
                    self._db = self._connect()
                with write_transaction(self._db):
                    for w in writes:
                        w.apply(self._db)
                return
            except Exception as e:
                if not retryable(e):
                    raise
                if time.monotonic() >= self._give_up_at:
                    raise _GaveUp() from e
                log.warning("store writer: %s; retrying %d write(s) in %.2f s", e,
                            len(writes), delay)
                time.sleep(min(delay, max(0.0, self._give_up_at - time.monotonic())))
                delay = min(delay * 2, _RETRY_MAX_S)


def _insert_event(call_id: str, type_: str, ts: float,
                  data: dict[str, Any]) -> Callable[[Any], None]:
    row = {"call_id": call_id, "ts": ts, "type": type_,
           "data": json.dumps(data, ensure_ascii=False, default=str)}
    return lambda db: db["events"].insert(row)
