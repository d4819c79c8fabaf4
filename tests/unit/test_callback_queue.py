"""The callback requests as a shared work queue (ivr/storage/callback_queue.py), on SQLite and
PostgreSQL: the caller's window, one claim per request across workers, attempts and their
results, durable counters, and requests left dialling by a crashed worker."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from ivr.storage import callback_queue as queue
from ivr.storage.call_store import CallStore, open_store

NOW = 1_800_000_000.0


@pytest.fixture
def stores(tmp_path: Path, db_url: str | None) -> list[CallStore]:
    """Two workers' stores on one database."""
    a = open_store(db_url, tmp_path / "ivr.sqlite")
    b = open_store(db_url, tmp_path / "ivr.sqlite")
    yield [a, b]
    a.close()
    b.close()


def book(store: CallStore, *, created: float = NOW, window_h: float = 24, **fields: object
         ) -> int:
    store.call_started("c1", caller="13800138000")
    store.flush()
    cb = store.add_callback("c1", kind="callback", caller="13800138000", number="13800138000",
                            language="zh-CN", queue="general", reason="caller_request",
                            not_before=created, not_after=created + window_h * 3600,
                            **fields)
    store.db.execute("update callbacks set created_at = ? where id = ?", [created, cb])
    return cb


def test_a_booked_request_is_due_within_its_window(stores: list[CallStore]) -> None:
    store = stores[0]
    cb = book(store)
    assert queue.get(store.db, cb)["attempts"] == 0
    assert [r["id"] for r in queue.due(store.db, NOW + 1)] == [cb]
    assert queue.due(store.db, NOW - 1) == []  # not yet
    assert queue.due(store.db, NOW + 25 * 3600) == []  # window closed
    store.add_callback("c1", kind="voicemail", number="1", queue="general")
    assert [r["id"] for r in queue.due(store.db, NOW + 1)] == [cb]  # voicemails are not rung


def test_only_one_worker_wins_the_claim(stores: list[CallStore], tmp_path: Path,
                                        db_url: str | None) -> None:
    cb = book(stores[0])
    wins: list[str] = []
    barrier = threading.Barrier(4)

    def worker(name: str) -> None:
        store = open_store(db_url, tmp_path / "ivr.sqlite")  # a worker's own connection
        try:
            barrier.wait()
            if queue.claim(store.db, cb, name, NOW):
                wins.append(name)
        finally:
            store.close()

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert len(wins) == 1
    row = queue.get(stores[1].db, cb)
    assert (row["status"], row["claimed_by"]) == ("dialling", wins[0])
    assert queue.due(stores[1].db, NOW + 1) == []
    assert not queue.claim(stores[1].db, cb, "w9", NOW)


def test_unclaim_puts_it_back_without_an_attempt(stores: list[CallStore]) -> None:
    store = stores[0]
    cb = book(store)
    assert queue.claim(store.db, cb, "w0", NOW)
    queue.unclaim(store.db, cb)
    row = queue.get(store.db, cb)
    assert (row["status"], row["attempts"], row["claimed_by"]) == ("pending", 0, None)


def test_attempts_results_and_durable_counters(stores: list[CallStore]) -> None:
    store = stores[0]
    cb = book(store)
    queue.claim(store.db, cb, "w0", NOW)
    assert queue.record_attempt(store.db, cb, "no_answer", retry_at=NOW + 600,
                                now=NOW) == "pending"
    row = queue.get(store.db, cb)
    assert (row["attempts"], row["last_result"], row["next_attempt_at"]) == (
        1, "no_answer", NOW + 600)
    assert queue.due(store.db, NOW + 599) == []
    assert [r["id"] for r in queue.due(store.db, NOW + 600)] == [cb]
    queue.claim(store.db, cb, "w0", NOW + 600)
    assert queue.record_attempt(store.db, cb, "completed", retry_at=None, agent_id="8001",
                                now=NOW + 700) == "done"
    row = queue.get(store.db, cb)
    assert (row["status"], row["attempts"], row["agent_id"], row["completed_at"]) == (
        "done", 2, "8001", NOW + 700)
    other = book(store)
    queue.claim(store.db, other, "w0", NOW)
    assert queue.record_attempt(store.db, other, "busy", retry_at=None, now=NOW) == "failed"
    totals = store.call_counters()
    assert (totals["callback:completed"], totals["callback:failed"],
            totals["callback:attempts"]) == (1, 1, 3)
    store.db.execute("delete from callbacks")  # a purge: the counters stay
    assert store.call_counters()["callback:completed"] == 1


def test_a_closed_window_fails_once(stores: list[CallStore]) -> None:
    store = stores[0]
    cb = book(store, window_h=1)
    assert queue.expire(store.db, NOW + 1800) == 0
    assert queue.expire(store.db, NOW + 3600) == 1
    assert queue.expire(store.db, NOW + 7200) == 0
    row = queue.get(store.db, cb)
    assert (row["status"], row["last_result"]) == ("failed", "window_passed")
    assert store.call_counters()["callback:failed"] == 1


def test_a_restarted_worker_gives_back_what_it_was_dialling(stores: list[CallStore]) -> None:
    a, b = book(stores[0]), book(stores[0])
    queue.claim(stores[0].db, a, "w0", NOW)
    queue.claim(stores[1].db, b, "w1", NOW)
    assert queue.release_stuck(stores[0].db, "w0") == 1
    assert queue.get(stores[0].db, a)["status"] == "pending"
    assert queue.get(stores[0].db, b)["status"] == "dialling"  # the other worker's


def test_a_forgotten_request_is_not_recreated(stores: list[CallStore]) -> None:
    store = stores[0]
    cb = book(store)
    queue.claim(store.db, cb, "w0", time.time())
    store.db.execute("delete from callbacks where id = ?", [cb])
    assert queue.record_attempt(store.db, cb, "completed", retry_at=None) == "gone"
    assert queue.get(store.db, cb) is None


def test_requests_booked_before_the_migration_get_a_day(tmp_path: Path) -> None:
    import sqlite_utils

    from ivr.storage.migrations import MIGRATIONS

    db = sqlite_utils.Database(tmp_path / "old.sqlite")
    steps = dict(MIGRATIONS)
    for name, migration in MIGRATIONS:
        if name != "016_callback_attempts":
            migration(db)
    db["callbacks"].insert({"call_id": "old", "number": "13800138000", "queue": "general",
                            "created_at": NOW, "status": "pending", "kind": "callback"})
    steps["016_callback_attempts"](db)
    row = next(iter(db["callbacks"].rows))
    assert (row["not_before"], row["not_after"], row["attempts"]) == (NOW, NOW + 86400, 0)
    assert [r["id"] for r in queue.due(db, NOW + 1)] == [row["id"]]
