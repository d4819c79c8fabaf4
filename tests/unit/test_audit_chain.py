"""The hash-chained audit log: appends chain, verify finds edited, removed and reordered
rows (even with the append-only triggers dropped), and the triggers refuse UPDATE/DELETE."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest

from ivr.cli import main
from ivr.privacy import audit
from ivr.storage.call_store import CallStore, open_store

REFUSED = (sqlite3.IntegrityError, psycopg.errors.RaiseException)


@pytest.fixture
def store(tmp_path: Path, db_url: str | None) -> CallStore:
    s = open_store(db_url, tmp_path / "ivr.sqlite")
    for i in range(5):
        audit.append(s.db, "play_recording", user="sup", role="supervisor", call_id=f"c{i}",
                     detail={"channel": "caller"}, ip="127.0.0.1")
    yield s
    s.close()


def _untrigger(store: CallStore) -> None:
    """What an attacker with the database file does first."""
    on = " on audit_log" if store.dialect == "postgresql" else ""
    store.db.execute(f"drop trigger audit_log_no_update{on}")
    store.db.execute(f"drop trigger audit_log_no_delete{on}")


def test_append_chains_and_verifies(store: CallStore) -> None:
    rows = list(store.db.query("select * from audit_log order by id"))
    assert [r["id"] for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0]["prev_hash"] == audit.GENESIS
    assert all(b["prev_hash"] == a["hash"] for a, b in zip(rows, rows[1:], strict=False))
    assert audit.verify(store.db) == []
    assert audit.head(store.db) == (5, rows[-1]["hash"])


def test_triggers_refuse_update_and_delete(store: CallStore) -> None:
    with pytest.raises(REFUSED, match="append-only"):
        store.db.execute("""update audit_log set "user" = 'x' where id = 2""")
    with pytest.raises(REFUSED, match="append-only"):
        store.db.execute("delete from audit_log where id = 2")
    if store.dialect == "postgresql":
        with pytest.raises(REFUSED, match="append-only"):
            store.db.execute("truncate audit_log")
    assert audit.verify(store.db) == []


def test_edited_row_is_detected(store: CallStore) -> None:
    _untrigger(store)
    store.db.execute("""update audit_log set "user" = 'someone_else' where id = 3""")
    problems = audit.verify(store.db)
    assert [(p.id, p.kind) for p in problems] == [(3, "edited")]


def test_edit_with_rehash_breaks_the_next_link(store: CallStore) -> None:
    _untrigger(store)
    row = dict(next(store.db.query("select * from audit_log where id = 3")))
    row["action"] = "view_call"
    store.db.execute("update audit_log set action = ?, hash = ? where id = 3",
                     [row["action"], audit.entry_hash(row["prev_hash"], row)])
    assert [(p.id, p.kind) for p in audit.verify(store.db)] == [(4, "broken_link")]


def test_removed_row_is_detected(store: CallStore) -> None:
    _untrigger(store)
    store.db.execute("delete from audit_log where id = 2")
    kinds = {(p.id, p.kind) for p in audit.verify(store.db)}
    assert kinds == {(3, "missing"), (3, "broken_link")}


def test_reordered_rows_are_detected(store: CallStore) -> None:
    _untrigger(store)  # swap the contents of rows 2 and 3
    r2, r3 = (dict(next(store.db.query("select * from audit_log where id = ?", [i])))
              for i in (2, 3))
    for target, src in ((2, r3), (3, r2)):
        store.db.execute("update audit_log set call_id = ?, prev_hash = ?, hash = ? "
                         "where id = ?", [src["call_id"], src["prev_hash"], src["hash"], target])
    assert audit.verify(store.db)


def test_existing_rows_are_chained_by_the_migration(tmp_path: Path) -> None:
    from ivr.storage import call_store

    s = CallStore.__new__(CallStore)  # a database migrated up to 007, with audit rows
    conn = sqlite3.connect(str(tmp_path / "old.sqlite"), isolation_level=None)
    import sqlite_utils

    s.db = sqlite_utils.Database(conn)
    names = [name for name, _ in call_store.MIGRATIONS]
    upto = names.index("008_audit_chain")
    for _, fn in call_store.MIGRATIONS[:upto]:
        fn(s.db)
    s.db["audit_log"].insert_all([{"ts": 1.0, "action": "sign_in", "user": "a"},
                                  {"ts": 2.0, "action": "view_call", "call_id": "c"}])
    call_store.MIGRATIONS[upto][1](s.db)
    assert audit.verify(s.db) == []
    audit.append(s.db, "purge")
    assert audit.verify(s.db) == [] and audit.head(s.db)[0] == 3
    conn.close()


def test_cli_audit_verify(store: CallStore, tmp_path: Path, capsys) -> None:
    args = ["audit", "verify", "--data-dir", str(tmp_path)]
    assert main(args) == 0
    assert "5 entries" in capsys.readouterr().out
    _untrigger(store)
    store.db.execute("update audit_log set ip = '10.0.0.9' where id = 4")
    assert main(args) == 1
    assert "id 4" in capsys.readouterr().err
