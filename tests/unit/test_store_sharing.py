"""Several worker processes sharing one store (SQLite file in WAL mode, or a real PostgreSQL
server): concurrent writers see each other's calls, the audit chain stays one chain, agents
are claimed once, a restarting worker closes only its own calls; the database URL."""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from ivr.cli import main
from ivr.escalation.agents import AgentConfig, AgentDirectory
from ivr.privacy import audit
from ivr.storage import call_store
from ivr.storage.call_store import CallStore, open_store

CALLS_PER_WORKER = 40
AGENTS = [AgentConfig(id=f"80{i:02d}", uri=f"sip:80{i:02d}@127.0.0.1:5070") for i in range(6)]


def _worker(url: str | None, path: str, worker: str, workers: int) -> dict[str, object]:
    """One SIP worker process's writes: calls with turns and events, audit entries and agent
    claims, started when every worker has its store open (a barrier of files)."""
    store = open_store(url, Path(path))
    store.worker = worker
    directory = AgentDirectory(store)
    ready = Path(path).parent / "ready"
    ready.mkdir(exist_ok=True)
    (ready / worker).touch()
    deadline = time.monotonic() + 30
    while len(list(ready.iterdir())) < workers and time.monotonic() < deadline:
        time.sleep(0.002)
    began = time.time()
    claimed = []
    for i in range(CALLS_PER_WORKER):
        cid = f"{worker}-{i}"
        store.call_started(cid, caller=f"10{i:02d}")
        store.add_turn(cid, 1, caller_text="hello", slots={"i": i})
        store.add_event(cid, "utterance", {"text": "hello"})
        audit.append(store.db, "view_call", user=worker, call_id=cid)
        if i < len(AGENTS) and directory.claim_agent(AGENTS[i].id, cid):
            claimed.append(AGENTS[i].id)
        if i % 2:
            store.call_ended(cid, "caller_hangup")
    store.close()
    return {"claimed": claimed, "began": began, "ended": time.time()}


def test_two_workers_write_at_once_and_see_each_others_calls(db_url: str | None,
                                                              tmp_path: Path) -> None:
    path = tmp_path / "ivr.sqlite"
    store = open_store(db_url, path)
    AgentDirectory(store).sync(AGENTS)
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(_worker, db_url, str(path), w, 2)
                   for w in ("127.0.0.1:5071", "127.0.0.1:5072")]
        results = [f.result(timeout=60) for f in futures]
    # the two really wrote at the same time
    assert max(r["began"] for r in results) < min(r["ended"] for r in results)  # type: ignore

    calls = store.list_calls(limit=1000)
    assert len(calls) == 2 * CALLS_PER_WORKER
    assert {c["worker"] for c in calls} == {"127.0.0.1:5071", "127.0.0.1:5072"}
    assert len(store.turns()) == 2 * CALLS_PER_WORKER
    ended = [c for c in calls if c["status"] == "ended"]
    assert len(ended) == 2 * (CALLS_PER_WORKER // 2) and all(c["turn_count"] == 1
                                                             for c in ended)
    assert store.get_call("127.0.0.1:5072-3")["turns"][0]["slots"] == {"i": 3}
    # one unbroken audit chain from both writers
    assert audit.verify(store.db) == []
    assert audit.head(store.db)[0] == 2 * CALLS_PER_WORKER
    # each agent went to exactly one of the two workers' calls
    claimed = [a for r in results for a in r["claimed"]]  # type: ignore[attr-defined]
    assert sorted(claimed) == sorted(a.id for a in AGENTS)
    busy = {a.id: a.current_call for a in AgentDirectory(store).all()}
    assert all(call and call.endswith(f"-{int(aid[2:])}") for aid, call in busy.items())
    store.close()


def _open_fresh(url: str | None, path: str, name: str, workers: int) -> list[str]:
    """Open the store as a starting worker does, when all `workers` are ready to."""
    ready = Path(path).parent / "ready-open"
    ready.mkdir(exist_ok=True)
    (ready / name).touch()
    deadline = time.monotonic() + 30
    while len(list(ready.iterdir())) < workers and time.monotonic() < deadline:
        time.sleep(0.001)
    store = open_store(url, Path(path))
    names = [r["name"] for r in store.db.query("select name from _migrations")]
    store.close()
    return names


def test_workers_starting_together_on_a_new_database(db_url: str | None,
                                                     tmp_path: Path) -> None:
    """Each migration is applied once; nobody fails with "database is locked"."""
    path = str(tmp_path / "ivr.sqlite")
    with ProcessPoolExecutor(3, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(_open_fresh, db_url, path, str(i), 3) for i in range(3)]
        seen = [f.result(timeout=60) for f in futures]
    assert all(sorted(names) == sorted(n for n, _ in call_store.MIGRATIONS) for names in seen)


def test_restarting_worker_closes_only_its_own_calls(db_url: str | None,
                                                     tmp_path: Path) -> None:
    one, two = open_store(db_url, tmp_path / "ivr.sqlite"), open_store(db_url,
                                                                       tmp_path / "ivr.sqlite")
    one.worker, two.worker = "127.0.0.1:5071", "127.0.0.1:5072"
    one.call_started("a1")
    two.call_started("b1")
    two.call_started("b2")
    assert {c["id"] for c in one.list_calls(status="active")} == {"a1", "b1", "b2"}
    restarted = open_store(db_url, tmp_path / "ivr.sqlite")  # worker one comes back
    assert restarted.mark_interrupted("127.0.0.1:5071") == 1
    assert two.get_call("a1")["end_reason"] == "service_restart"
    assert {c["id"] for c in two.list_calls(status="active")} == {"b1", "b2"}
    for s in (one, two, restarted):
        s.close()


def test_unknown_database_url_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"mysql://x.*expected sqlite:///ABS/PATH or "
                                         r"postgresql://"):
        open_store("mysql://x@127.0.0.1/db", tmp_path / "ivr.sqlite")
    with pytest.raises(ValueError, match="expected sqlite:///"):
        open_store("sqlite://relative.sqlite", tmp_path / "ivr.sqlite")


def test_sqlite_url_names_the_file(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/x/shared.sqlite", tmp_path / "ivr.sqlite")
    assert store.dialect == "sqlite" and (tmp_path / "x" / "shared.sqlite").is_file()
    assert not (tmp_path / "ivr.sqlite").exists()
    store.close()


def test_cli_commands_use_ivr_database_url(pg_url: str, tmp_path: Path, monkeypatch,
                                          capsys) -> None:
    """`ivr user add`, `ivr purge`, `ivr forget` and `ivr audit verify` on PostgreSQL."""
    monkeypatch.setenv("IVR_DATABASE_URL", pg_url)
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("correct horse battery\n"))
    data = ["--data-dir", str(tmp_path)]
    assert main(["user", "add", "sue", "--role", "supervisor", "--password-stdin", *data]) == 0
    store = CallStore(tmp_path / "ivr.sqlite", database_url=pg_url)
    assert [u["username"] for u in store.db.query("select username from users")] == ["sue"]
    store.call_started("old", caller="555", started_at=1.0)
    store.call_ended("old", "completed")
    assert main(["purge", *data]) == 0
    assert main(["forget", "--caller", "555", "--yes", *data]) == 0
    assert main(["audit", "verify", *data]) == 0
    out = capsys.readouterr().out
    assert "entries" in out
    actions = [r["action"] for r in store.db.query("select action from audit_log order by id")]
    assert actions[-2:] == ["purge", "forget"]
    assert not (tmp_path / "ivr.sqlite").exists()  # nothing went to SQLite
    store.close()
