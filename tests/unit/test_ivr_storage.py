"""CallStore on a real SQLite file and a real PostgreSQL server: migrations, call lifecycle,
listing and reading back."""

from __future__ import annotations

import sqlite3
import time

import psycopg
import pytest

from ivr.storage import call_store
from ivr.storage.call_store import CallStore, open_store

INTEGRITY = (sqlite3.IntegrityError, psycopg.IntegrityError)


@pytest.fixture
def store(tmp_path, db_url):
    s = open_store(db_url, tmp_path / "db" / "ivr.sqlite")
    yield s
    s.close()


def test_creates_parent_dir_and_schema(tmp_path):
    path = tmp_path / "a" / "b" / "ivr.sqlite"
    s = CallStore(path)
    try:
        assert path.is_file()
        assert {"calls", "turns", "events", "_migrations"} <= set(s.db.table_names())
        assert s.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert [r["name"] for r in s.db["_migrations"].rows] == [
            "001_initial", "002_call_profile", "003_emotion", "004_agents", "005_handover",
            "006_users", "007_reviews",
            "008_audit_chain", "009_call_worker", "010_workers", "011_revoked_sessions",
            "012_signin_failures", "013_turn_answer", "014_call_outcomes",
            "015_surveys", "016_callback_attempts", "017_transcript_lines"]
    finally:
        s.close()


def test_migrations_run_once(tmp_path, monkeypatch, db_url):
    runs: list[str] = []
    original = call_store.MIGRATIONS[0][1]

    def counting(db):
        runs.append("001")
        original(db)

    monkeypatch.setattr(call_store, "MIGRATIONS", [("001_initial", counting)])
    path = tmp_path / "ivr.sqlite"
    first = open_store(db_url, path)
    assert runs == ["001"]
    assert first.migrate() == []
    applied_at = first.db["_migrations"].get("001_initial")["applied_at"]
    first.call_started("c1", caller="1000")
    first.close()

    second = open_store(db_url, path)
    try:
        assert runs == ["001"]  # not applied again
        assert second.migrate() == []
        assert second.db["_migrations"].count == 1
        assert second.db["_migrations"].get("001_initial")["applied_at"] == applied_at
        assert second.get_call("c1")["caller"] == "1000"  # data kept
    finally:
        second.close()


def test_new_migration_is_applied_on_open(tmp_path, monkeypatch, db_url):
    path = tmp_path / "ivr.sqlite"
    open_store(db_url, path).close()

    def m002(db):
        db["calls"].add_column("emotion", str)

    monkeypatch.setattr(call_store, "MIGRATIONS", [*call_store.MIGRATIONS, ("002_emotion", m002)])
    s = open_store(db_url, path)
    try:
        assert "emotion" in s.db["calls"].columns_dict
        assert [r["name"] for r in s.db["_migrations"].rows] == [
            *(name for name, _ in call_store.MIGRATIONS[:-1]), "002_emotion"]
    finally:
        s.close()


def test_call_lifecycle(store):
    before = time.time()
    store.call_started("c1", caller="1000", callee="2000", language="zh-CN",
                       dialplan="hotline", dialplan_version="abc")
    row = store.get_call("c1")
    assert row["status"] == "active"
    assert before <= row["started_at"] <= time.time()
    assert (row["turn_count"], row["escalated"]) == (0, 0)  # column defaults
    assert row["turns"] == [] and row["events"] == []

    t1 = store.add_turn("c1", 1, node="main_menu", outcome="match", intent="bill_enquiry",
                        intent_score=0.89, slots={"amount": 50, "备注": "话费"},
                        caller_text="我想查一下话费", speech_start=100.0, speech_end=101.5)
    t2 = store.add_turn("c1", 2, node="anything_else", outcome="no_input", slots=None)
    assert isinstance(t1, int) and t2 == t1 + 1
    raw = store.db.execute("select slots from turns where id = ?", [t1]).fetchone()[0]
    assert raw == '{"amount": 50, "备注": "话费"}'  # JSON, not ASCII-escaped
    store.update_turn(t1, reply_first_audio=102.25, asr_done=101.75)
    store.add_event("c1", "utterance", {"text": "我想查一下话费", "n": 1}, ts=200.0)
    store.add_event("c1", "language", {"language": "en-US"}, ts=100.0)
    store.add_event("c1", "no_data")

    store.call_ended("c1", "caller_hangup", language="en-US")
    call = store.get_call("c1")
    assert call["status"] == "ended"
    assert call["end_reason"] == "caller_hangup"
    assert call["turn_count"] == 2
    assert call["language"] == "en-US"
    assert call["started_at"] <= call["ended_at"] <= time.time()

    turns = call["turns"]
    assert [t["seq"] for t in turns] == [1, 2]
    assert turns[0]["slots"] == {"amount": 50, "备注": "话费"}
    assert turns[0]["caller_text"] == "我想查一下话费"
    assert (turns[0]["reply_first_audio"], turns[0]["asr_done"]) == (102.25, 101.75)
    assert turns[0]["speech_end"] == 101.5
    assert turns[1]["slots"] is None
    events = call["events"]
    assert [e["type"] for e in events] == ["language", "utterance", "no_data"]  # by ts
    assert events[1]["data"] == {"text": "我想查一下话费", "n": 1}
    assert events[2]["data"] == {}
    raw = store.db.execute("select data from events where type = 'utterance'").fetchone()[0]
    assert "我想查一下话费" in raw


def test_update_call(store):
    store.call_started("c1", caller="1000")
    store.update_call("c1", escalated=1, transfer_target="queue:general")
    call = store.get_call("c1")
    assert (call["escalated"], call["transfer_target"]) == (1, "queue:general")


def test_turn_seq_is_unique_per_call(store):
    store.call_started("c1")
    store.call_started("c2")
    store.add_turn("c1", 1)
    store.add_turn("c2", 1)
    with pytest.raises(INTEGRITY, match="(?i)unique"):
        store.add_turn("c1", 1)


def test_turn_for_unknown_call_is_rejected(store):
    with pytest.raises(INTEGRITY, match="(?i)foreign key"):
        store.add_turn("ghost", 1)


def test_mark_interrupted(store):
    store.call_started("a")
    store.call_started("b")
    store.call_started("done")
    store.call_ended("done", "completed")
    assert store.mark_interrupted() == 2
    for cid in ("a", "b"):
        call = store.get_call(cid)
        assert (call["status"], call["end_reason"]) == ("ended", "service_restart")
        assert call["ended_at"] is not None
    assert store.get_call("done")["end_reason"] == "completed"
    assert store.mark_interrupted() == 0


def test_mark_interrupted_spares_other_workers_calls(store):
    store.worker = "127.0.0.1:5071"
    store.call_started("mine")
    store.worker = "127.0.0.1:5072"
    store.call_started("theirs")
    store.worker = None
    store.call_started("legacy")  # from before workers were recorded
    assert store.mark_interrupted("127.0.0.1:5071") == 2
    assert store.get_call("mine")["status"] == "ended"
    assert store.get_call("legacy")["status"] == "ended"
    assert (store.get_call("theirs")["status"], store.get_call("theirs")["worker"]) == (
        "active", "127.0.0.1:5072")


def test_list_calls_filters_and_order(store):
    store.call_started("old", caller="1000", started_at=1000.0)
    store.call_started("mid", caller="2000", started_at=2000.0)
    store.call_started("new", caller="1000", started_at=3000.0)
    store.call_ended("mid", "completed")
    ids = [c["id"] for c in store.list_calls()]
    assert ids == ["new", "mid", "old"]
    assert [c["id"] for c in store.list_calls(status="active")] == ["new", "old"]
    assert [c["id"] for c in store.list_calls(status="ended")] == ["mid"]
    assert [c["id"] for c in store.list_calls(caller="1000")] == ["new", "old"]
    assert [c["id"] for c in store.list_calls(status="active", caller="2000")] == []
    assert [c["id"] for c in store.list_calls(limit=1, offset=1)] == ["mid"]
    assert "turns" not in store.list_calls()[0]


def test_get_call_unknown(store):
    assert store.get_call("nope") is None


def test_turns_across_calls(store):
    store.call_started("a")
    store.call_started("b")
    store.add_turn("b", 1, node="x")
    store.add_turn("a", 2, node="y")
    store.add_turn("a", 1, node="z")
    assert [(t["call_id"], t["seq"]) for t in store.turns(["a", "b"])] == [
        ("a", 1), ("a", 2), ("b", 1)]
    assert [t["call_id"] for t in store.turns(["b"])] == ["b"]
    assert len(store.turns()) == 3


def test_postgresql_schema_types_and_identity(pg_url, tmp_path):
    s = open_store(pg_url, tmp_path / "ivr.sqlite")
    try:
        assert s.dialect == "postgresql" and not (tmp_path / "ivr.sqlite").exists()
        cols = s.db["turns"].columns_dict
        assert (cols["id"], cols["call_id"], cols["asr_confidence"]) == (int, str, float)
        s.call_started("c1", escalated=True)  # a bool is stored as 1, as in SQLite
        assert s.get_call("c1")["escalated"] == 1
        s.call_started("c1", caller="2000")  # replace: one row, the new values, defaults
        assert [(c["caller"], c["escalated"]) for c in s.list_calls()] == [("2000", 0)]
        first = s.add_turn("c1", 1)
        assert s.add_turn("c1", 2) == first + 1  # identity primary key, returned
        rows = list(s.db.query("select ? as pct, '50%' as lit", ["a?b"]))
        assert rows == [{"pct": "a?b", "lit": "50%"}]  # ? and % in quoted text kept
    finally:
        s.close()


def test_postgresql_reconnects_after_the_session_is_ended(pg_url, tmp_path):
    s = open_store(pg_url, tmp_path / "ivr.sqlite")
    other = open_store(pg_url, tmp_path / "ivr.sqlite")
    try:
        s.call_started("before")
        other.db.execute("select pg_terminate_backend(pid) from pg_stat_activity where "
                         "datname = current_database() and pid != pg_backend_pid()")
        s.call_started("after")  # a new connection, the write not lost
        assert {c["id"] for c in other.list_calls()} == {"before", "after"}
    finally:
        s.close()
        other.close()
