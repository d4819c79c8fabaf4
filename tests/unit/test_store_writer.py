"""The store's writer thread (issue 16) on a real SQLite file and a real PostgreSQL server:
a write waits for a locked database off the event loop, reads see the writes queued before
them, close() flushes, a full queue drops (counted, logged, told), order is kept."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg

from ivr.privacy.redact import Redactor
from ivr.privacy.store import RedactingStore
from ivr.storage.call_store import CallStore, open_store


def _store(db_url: str | None, path: Path, **options: object) -> CallStore:
    return CallStore(path, database_url=db_url, **options)  # type: ignore[arg-type]


@contextlib.contextmanager
def write_locked(db_url: str | None, path: Path) -> Iterator[threading.Event]:
    """Another connection holds the write lock (a stalled disk, a long transaction of
    another process) until the block ends or the yielded event is set."""
    release = threading.Event()
    if db_url is None:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute("BEGIN IMMEDIATE")
    else:
        conn = psycopg.connect(db_url)  # type: ignore[assignment]
        conn.execute("lock table calls, turns, events in exclusive mode")  # reads still go
    holder = threading.Thread(target=lambda: (release.wait(30), conn.rollback()))
    holder.start()
    try:
        yield release
    finally:
        release.set()
        holder.join()
        conn.close()


def _events(store: CallStore, call_id: str = "c1") -> list[dict]:
    return store.get_call(call_id)["events"]  # type: ignore[index]


def test_a_locked_database_does_not_block_the_event_loop(db_url, tmp_path):
    store = _store(db_url, tmp_path / "ivr.sqlite")
    store.call_started("c1")
    store.flush()

    async def call() -> tuple[list[float], float]:
        took, lag = [], 0.0
        for i in range(50):  # a call's events, one frame (20 ms) apart
            t0 = time.perf_counter()
            store.add_event("c1", "frame", {"i": i})
            store.update_call("c1", language=f"l{i}")
            took.append(time.perf_counter() - t0)
            before = time.perf_counter()
            await asyncio.sleep(0.02)
            lag = max(lag, time.perf_counter() - before - 0.02)
        return took, lag

    try:
        with write_locked(db_url, tmp_path / "ivr.sqlite"):
            took, lag = asyncio.run(call())
            assert store.writer.pending > 0  # still waiting for the lock
        assert statistics.median(took) < 0.005 and max(took) < 0.1  # not the busy timeout
        assert lag < 0.1
        assert [e["data"]["i"] for e in _events(store)] == list(range(50))
        assert store.get_call("c1")["language"] == "l49"  # type: ignore[index]
        assert store.writer.stats.dropped_total == 0
    finally:
        store.close()


def test_reads_see_the_writes_queued_before_them(db_url, tmp_path):
    path = tmp_path / "ivr.sqlite"
    store, other = open_store(db_url, path), open_store(db_url, path)
    try:
        assert other.writer is store.writer  # one writer per process and database
        store.call_started("c1", caller="1000")
        store.add_event("c1", "a")
        assert [e["type"] for e in _events(store)] == ["a"]
        store.add_event("c1", "b")
        assert store.db.execute("select count(*) from events").fetchone()[0] == 2
        store.update_call("c1", escalated=1)
        assert [c["escalated"] for c in other.list_calls()] == [1]  # another store too
        store.add_event("c1", "c")
        with write_locked(db_url, path) as release:
            store.add_event("c1", "d")
            threading.Timer(0.2, release.set).start()
            t0 = time.monotonic()
            assert [e["type"] for e in _events(store)] == ["a", "b", "c", "d"]
            assert time.monotonic() - t0 >= 0.15  # the read waited for the write
        t = store.add_turn("c1", 1)  # a synchronous write comes after the queued ones
        store.update_turn(t, asr_done=1.5)
        assert store.get_call("c1")["turns"][0]["asr_done"] == 1.5  # type: ignore[index]
    finally:
        store.close()
        other.close()


def test_close_writes_everything_queued(db_url, tmp_path):
    path = tmp_path / "ivr.sqlite"
    store = _store(db_url, path)
    store.call_started("c1")
    for i in range(2000):
        store.add_event("c1", "n", {"i": i})
    with write_locked(db_url, path) as release:
        for i in range(2000, 2010):
            store.add_event("c1", "n", {"i": i})
        store.call_ended("c1", "caller_hangup")
        threading.Timer(0.2, release.set).start()
        store.close()  # waits for the lock, then writes the rest
    thread = store.writer._thread
    assert thread is not None and not thread.is_alive()
    store.add_event("c1", "late")  # after close: dropped, counted, not raised
    assert store.writer.stats.dropped == {"event": 1}
    again = _store(db_url, path)
    try:
        assert [e["data"]["i"] for e in _events(again)] == list(range(2010))
        assert again.get_call("c1")["status"] == "ended"  # type: ignore[index]
    finally:
        again.close()


def test_a_full_queue_drops_events_without_blocking_and_says_so(db_url, tmp_path, caplog):
    path = tmp_path / "ivr.sqlite"
    store = _store(db_url, path, queue_size=5, full_wait_s=0.01)
    store.call_started("c1")
    store.flush()
    took = []
    try:
        with caplog.at_level(logging.WARNING, "ivr.storage"):
            with write_locked(db_url, path):
                for i in range(30):
                    t0 = time.perf_counter()
                    store.add_event("c1", "n", {"i": i})
                    took.append(time.perf_counter() - t0)
                store.update_call("c1", escalated=1)  # the call's row has a reserve
            store.flush()
        dropped = store.writer.stats.dropped["event"]
        assert dropped >= 20
        assert max(took) < 0.1 and sum(took) < 0.2  # one short wait, not one per event
        events = _events(store)
        kept = [e["data"]["i"] for e in events if e["type"] == "n"]
        assert kept == list(range(30 - dropped))  # the first ones, in order
        told = [e["data"] for e in events if e["type"] == "storage_dropped"]
        assert told == [{"writes": dropped, "what": {"event": dropped}}]
        assert store.get_call("c1")["escalated"] == 1  # type: ignore[index]
        full = [r for r in caplog.records if "queue full" in r.getMessage()]
        assert len(full) == 1 and full[0].levelno == logging.ERROR  # not one per drop
        assert any("caught up" in r.getMessage() for r in caplog.records)
    finally:
        store.close()


def test_order_is_kept_across_batches_and_kinds(db_url, tmp_path):
    store = _store(db_url, tmp_path / "ivr.sqlite")
    try:
        store.call_started("c1")
        for i in range(500):
            store.add_event("c1", "n", {"i": i}, ts=1.0)  # one timestamp: order by id
            if i % 7 == 0:
                store.update_call("c1", language=f"l{i}")
        assert [e["data"]["i"] for e in _events(store)] == list(range(500))
        assert store.get_call("c1")["language"] == "l497"  # type: ignore[index]
        assert store.writer.stats.written >= 500 + 72
    finally:
        store.close()


def test_a_refused_write_costs_only_itself(db_url, tmp_path, caplog):
    path = tmp_path / "ivr.sqlite"
    store = _store(db_url, path)
    store.call_started("c1")
    store.flush()
    try:
        with caplog.at_level(logging.ERROR, "ivr.storage"), write_locked(db_url, path):
            store.add_event("c1", "a")
            store.add_event("ghost", "b")  # no such call: the foreign key refuses it
            store.add_event("c1", "c")
            store.update_call("nobody", language="x")  # no such row (SQLite refuses)
        assert [e["type"] for e in _events(store)] == ["a", "c"]
        sqlite = db_url is None  # PostgreSQL's update of no row is a no-op, as it was
        assert store.writer.stats.failed == (2 if sqlite else 1)
        logged = " ".join(r.getMessage() for r in caplog.records)
        assert "event b of call ghost not stored" in logged
        assert ("update_call language of call nobody not stored" in logged) == sqlite
    finally:
        store.close()


def test_the_redacting_store_masks_then_queues(tmp_path):
    path = tmp_path / "ivr.sqlite"
    store = _store(None, path)
    masked = RedactingStore(store, Redactor())
    masked.add_secret("8675309")
    store.call_started("c1")
    store.flush()
    try:
        with write_locked(None, path):
            t0 = time.perf_counter()
            masked.add_event("c1", "utterance", {"text": "my code is 8675309"})
            assert time.perf_counter() - t0 < 0.1
        assert "8675309" not in _events(store)[0]["data"]["text"]
    finally:
        store.close()


def test_a_dropped_store_still_writes_its_events(tmp_path):
    import gc

    path = tmp_path / "ivr.sqlite"
    store = _store(None, path)
    writer = store.writer
    store.call_started("c1")
    store.add_event("c1", "a")
    del store
    gc.collect()  # the finalizer flushes and stops the writer
    assert writer._thread is not None and not writer._thread.is_alive()
    again = _store(None, path)
    try:
        assert again.writer is not writer
        assert [e["type"] for e in _events(again)] == ["a"]
    finally:
        again.close()


def test_a_stalled_writer_delays_one_read_not_every_read(tmp_path, caplog):
    path = tmp_path / "ivr.sqlite"
    store = _store(None, path)
    store.call_started("c1")
    store.flush()
    try:
        with caplog.at_level(logging.WARNING, "ivr.storage"), write_locked(None, path):
            store.add_event("c1", "a")
            assert store.writer.flush(timeout=0.1) is False  # waited, then gave up
            t0 = time.perf_counter()
            assert store.writer.flush(timeout=5) is False  # no progress: a short wait
            assert time.perf_counter() - t0 < 1
        assert store.flush() is True  # progress again: reads wait for the writes
        assert [e["type"] for e in _events(store)] == ["a"]
        assert sum("still queued" in r.getMessage() for r in caplog.records) == 1
    finally:
        store.close()


def test_close_gives_up_on_a_database_locked_too_long(tmp_path, monkeypatch, caplog):
    from ivr.storage import connections

    monkeypatch.setattr(connections, "BUSY_TIMEOUT_S", 0.1)  # each attempt's wait
    path = tmp_path / "ivr.sqlite"
    store = _store(None, path)
    try:
        with caplog.at_level(logging.WARNING, "ivr.storage"), write_locked(None, path):
            for i in range(3):
                store.add_event("c1", "n", {"i": i})
            t0 = time.monotonic()
            store.writer.close(timeout=0.5)  # retried for 0.5 s, then given up
            assert 0.4 < time.monotonic() - t0 < 5
        assert store.writer.stats.failed == 3 and store.writer.stats.written == 0
        logged = [r.getMessage() for r in caplog.records]
        assert any("database is locked; retrying" in m for m in logged)
        assert sum("not stored: database is locked" in m for m in logged) == 3
    finally:
        store.close()
