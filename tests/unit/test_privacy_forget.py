"""Right to be forgotten: everything of one caller number goes, files included; other callers
stay; the audit log keeps only the fact, with a keyed hash instead of the number."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ivr.cli import main
from ivr.privacy.audit import append, verify
from ivr.privacy.retention import forget, forget_secret, number_hash
from ivr.storage.call_store import CallStore, open_store
from tests.unit.test_privacy_retention import add_call

ME, OTHER = "13912345678", "13700000000"


@pytest.fixture
def store(tmp_path: Path, db_url: str | None) -> CallStore:
    s = open_store(db_url, tmp_path / "ivr.sqlite")
    add_call(s, "mine-1", 3, tmp_path, caller=ME)
    add_call(s, "mine-2", 1, tmp_path, caller=ME)
    add_call(s, "theirs", 1, tmp_path, caller=OTHER)
    s.db["callbacks"].insert({"call_id": "theirs", "number": ME, "created_at": 1.0,
                              "kind": "callback"})  # someone left my number for a callback
    append(s.db, "play_recording", user="sup", call_id="mine-1")
    yield s
    s.close()


def _dump(store: CallStore) -> str:
    return json.dumps([list(store.db.query(f'select * from "{t}"'))
                       for t in store.db.table_names()], ensure_ascii=False, default=str)


def test_everything_of_the_caller_goes(store: CallStore, tmp_path: Path) -> None:
    counts = forget(store, ME, "admin")
    assert counts["calls"] == 2 and counts["turns"] == 4 and counts["reviews"] == 2
    assert counts["callbacks"] == 3 and counts["files"] == 4  # 2 recordings, 2 voicemails
    for cid in ("mine-1", "mine-2"):
        assert not (tmp_path / f"{cid}.wav").exists()
        assert not (tmp_path / f"{cid}-voicemail.wav").exists()
    assert ME not in _dump(store)  # nowhere, the audit log included
    assert (tmp_path / "theirs.wav").exists() and store.db["calls"].get("theirs")
    assert store.db.execute("select count(*) from turns where call_id = 'theirs'"
                            ).fetchone()[0] == 2


def test_audit_keeps_only_the_fact(store: CallStore) -> None:
    counts = forget(store, ME, "admin", role="admin", ip="10.0.0.1")
    rows = list(store.db.query("select * from audit_log order by id"))
    assert [r["action"] for r in rows] == ["play_recording", "forget"]
    assert rows[0]["call_id"] == "mine-1"  # earlier entries are immutable, ids only
    detail = json.loads(rows[1]["detail"])
    assert detail["caller_hash"] == number_hash(ME, forget_secret(store))
    assert {k: v for k, v in detail.items() if k != "caller_hash"} == counts
    assert rows[1]["user"] == "admin" and verify(store.db) == []


def test_active_call_is_skipped(store: CallStore, tmp_path: Path) -> None:
    add_call(store, "mine-live", 0, tmp_path, status="active", caller=ME)
    counts = forget(store, ME, "admin")
    assert counts["active_skipped"] == 1 and store.db["calls"].get("mine-live")
    assert (tmp_path / "mine-live.wav").exists()


def test_dry_run_and_empty_number(store: CallStore, tmp_path: Path) -> None:
    counts = forget(store, ME, "admin", dry_run=True)
    assert counts["calls"] == 2 and counts["files"] == 4
    assert (tmp_path / "mine-1.wav").exists() and store.db["calls"].get("mine-1")
    with pytest.raises(ValueError):
        forget(store, "  ", "admin")


def test_cli_forget(store: CallStore, tmp_path: Path, capsys) -> None:
    assert main(["forget", "--caller", ME, "--yes", "--data-dir", str(tmp_path)]) == 0
    assert "calls 2" in capsys.readouterr().out
    assert not (tmp_path / "mine-1.wav").exists()


def test_the_agent_legs_words_are_forgotten_with_the_call(store: CallStore) -> None:
    from ivr.storage.transcript import save_agent_leg

    for cid in ("mine-1", "theirs"):
        save_agent_leg(store.db, cid, [{"ts": 1.0, "speaker": "agent",
                                        "text": "尾号5678的卡已挂失"}], "done")
    forget(store, ME, "admin")
    count = "select count(*) from {} where call_id = ?"
    assert store.db.execute(count.format("transcript_lines"), ["mine-1"]).fetchone()[0] == 0
    assert store.db.execute(count.format("agent_transcriptions"), ["mine-1"]).fetchone()[0] == 0
    assert store.db.execute(count.format("transcript_lines"), ["theirs"]).fetchone()[0] == 1
