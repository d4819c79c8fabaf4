"""Retention: `purge` deletes recordings (files), transcripts, summaries, callbacks and calls
by age per data type, leaves active calls alone, logs and audits the counts; dry runs."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from ivr.cli import main
from ivr.config import Settings
from ivr.privacy.audit import verify
from ivr.privacy.retention import DAY_S, purge
from ivr.storage.call_store import CallStore, open_store

NOW = 1_800_000_000.0


def _settings(**days: float) -> Settings:
    retention = {"recordings_days": 0, "transcripts_days": 0, "summaries_days": 0,
                 "callbacks_days": 0, "calls_days": 0, **days}
    return Settings.model_validate({"privacy": {"retention": retention}})


def add_call(store: CallStore, call_id: str, age_days: float, tmp: Path, status: str = "ended",
             caller: str = "13800000000") -> Path:
    """A call `age_days` old with a recording, two turns, events, a summary, a review and a
    voicemail callback."""
    t = NOW - age_days * DAY_S
    rec = tmp / f"{call_id}.wav"
    rec.write_bytes(b"RIFF")
    vm = tmp / f"{call_id}-voicemail.wav"
    vm.write_bytes(b"RIFF")
    store.db["calls"].insert({"id": call_id, "started_at": t, "status": status, "caller": caller,
                              "recording_path": str(rec)})
    for seq in (1, 2):
        store.db["turns"].insert({"call_id": call_id, "seq": seq, "created_at": t,
                                  "caller_text": "我的卡丢了"})
    store.db["events"].insert_all([
        {"call_id": call_id, "ts": t, "type": "call_answered", "data": "{}"},
        {"call_id": call_id, "ts": t, "type": "escalation_summary", "data": "{}"},
        {"call_id": call_id, "ts": t, "type": "escalation_summary_llm", "data": "{}"}])
    store.db["reviews"].insert({"call_id": call_id, "reviewed": 1})
    store.db["callbacks"].insert({"call_id": call_id, "created_at": t, "number": caller,
                                  "caller": caller, "kind": "voicemail",
                                  "recording_path": str(vm), "transcript": "请回电"})
    return rec


def _count(store: CallStore, table: str, call_id: str) -> int:
    col = "id" if table == "calls" else "call_id"
    return store.db.execute(f"select count(*) from {table} where {col} = ?",
                            [call_id]).fetchone()[0]


@pytest.fixture
def store(tmp_path: Path, db_url: str | None) -> CallStore:
    s = open_store(db_url, tmp_path / "ivr.sqlite")
    yield s
    s.close()


def test_recordings_only(store: CallStore, tmp_path: Path) -> None:
    old = add_call(store, "old", 100, tmp_path)
    new = add_call(store, "new", 10, tmp_path)
    counts = purge(store, _settings(recordings_days=90), now=NOW)
    assert counts["recordings"] == 1 and counts["voicemails"] == 1 and counts["files"] == 2
    assert not old.exists() and not (tmp_path / "old-voicemail.wav").exists()
    assert new.exists() and (tmp_path / "new-voicemail.wav").exists()
    assert store.db["calls"].get("old")["recording_path"] is None
    assert store.db["calls"].get("new")["recording_path"] == str(new)
    assert _count(store, "turns", "old") == 2 and _count(store, "callbacks", "old") == 1


def test_transcripts_summaries_callbacks_calls(store: CallStore, tmp_path: Path) -> None:
    add_call(store, "a", 40, tmp_path)
    counts = purge(store, _settings(transcripts_days=30), now=NOW)
    assert (counts["turns"], counts["events"], counts["summaries"]) == (2, 1, 0)
    assert [e["type"] for e in store.db.query("select type from events")] == [
        "escalation_summary", "escalation_summary_llm"]  # summaries have their own period
    assert store.db.execute("select transcript from callbacks").fetchone()[0] is None
    assert purge(store, _settings(summaries_days=30), now=NOW)["summaries"] == 2
    counts = purge(store, _settings(callbacks_days=30), now=NOW)
    assert counts["callbacks"] == 1 and counts["voicemails"] == 1
    assert not (tmp_path / "a-voicemail.wav").exists()
    counts = purge(store, _settings(calls_days=30), now=NOW)
    assert counts["calls"] == 1 and counts["reviews"] == 1 and counts["files"] == 1
    assert not (tmp_path / "a.wav").exists() and _count(store, "calls", "a") == 0


def test_active_calls_are_never_touched(store: CallStore, tmp_path: Path) -> None:
    rec = add_call(store, "live", 400, tmp_path, status="active")
    counts = purge(store, _settings(recordings_days=1, transcripts_days=1, summaries_days=1,
                                    callbacks_days=1, calls_days=1), now=NOW)
    assert sum(v for k, v in counts.items()) == 0
    assert rec.exists() and _count(store, "turns", "live") == 2
    assert _count(store, "events", "live") == 3 and _count(store, "callbacks", "live") == 1


def test_zero_keeps_everything(store: CallStore, tmp_path: Path) -> None:
    add_call(store, "ancient", 5000, tmp_path)
    assert sum(purge(store, _settings(), now=NOW).values()) == 0


def test_dry_run_counts_and_deletes_nothing(store: CallStore, tmp_path: Path) -> None:
    rec = add_call(store, "old", 800, tmp_path)
    counts = purge(store, Settings(), now=NOW, dry_run=True)  # the shipped periods
    assert counts["calls"] == 1 and counts["files"] == 0
    assert rec.exists() and _count(store, "calls", "old") == 1
    assert store.db["audit_log"].count == 0


def test_logged_and_audited(store: CallStore, tmp_path: Path, caplog) -> None:
    add_call(store, "old", 800, tmp_path)
    with caplog.at_level(logging.INFO, logger="ivr.privacy"):
        counts = purge(store, Settings(), now=NOW)
    assert any(r.getMessage().startswith("purge: ") and "calls 1" in r.getMessage()
               for r in caplog.records)
    rows = list(store.db.query("select * from audit_log"))
    assert [r["action"] for r in rows] == ["purge"]
    assert json.loads(rows[0]["detail"]) == counts
    assert verify(store.db) == []


def test_cli_purge(tmp_path: Path, capsys, db_url: str | None) -> None:
    store = open_store(db_url, tmp_path / "ivr.sqlite")  # the CLI: IVR_DATABASE_URL
    rec = add_call(store, "old", 800, tmp_path)
    store.close()
    assert main(["purge", "--dry-run", "--data-dir", str(tmp_path)]) == 0
    assert "would delete" in capsys.readouterr().out and rec.exists()
    assert main(["purge", "--data-dir", str(tmp_path)]) == 0
    assert "calls 1" in capsys.readouterr().out and not rec.exists()


def test_service_purge_pass_uses_its_own_connection(tmp_path: Path) -> None:
    from ivr.service_tasks import purge_once

    store = CallStore(tmp_path / "ivr.sqlite")
    rec = add_call(store, "old", 800, tmp_path)
    store.close()
    settings = Settings.model_validate({"data_dir": str(tmp_path)})
    assert purge_once(settings)["calls"] == 1 and not rec.exists()


def test_the_agent_legs_words_go_with_the_transcripts_and_the_calls(
        store: CallStore, tmp_path: Path) -> None:
    from ivr.storage.transcript import save_agent_leg

    for cid, age in (("old", 40), ("new", 10)):
        add_call(store, cid, age, tmp_path)
        save_agent_leg(store.db, cid, [{"ts": NOW - age * DAY_S + 60, "speaker": "agent",
                                        "text": "您的新卡三天内寄到"}], "done")
        store.db.execute("update transcript_lines set created_at = ? where call_id = ?",
                         [NOW - age * DAY_S + 120, cid])
    counts = purge(store, _settings(transcripts_days=30), now=NOW)
    assert counts["turns"] == 2 + 1  # old's two turns and its agent line
    assert _count(store, "transcript_lines", "old") == 0
    assert _count(store, "agent_transcriptions", "old") == 1  # not transcribed again
    assert _count(store, "transcript_lines", "new") == 1
    purge(store, _settings(calls_days=5), now=NOW)
    assert _count(store, "transcript_lines", "new") == 0
    assert _count(store, "agent_transcriptions", "new") == 0
