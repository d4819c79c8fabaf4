"""Retention periods and the right to be forgotten: deletion for real, files and rows.

`purge(store, settings)` applies `privacy.retention` (days per data type, 0 = keep):

- ``recordings_days``: call recordings and voicemail files are deleted; `recording_path` is
  set to NULL on the call / callback row.
- ``transcripts_days``: turns, events (escalation summaries excepted) and voicemail
  transcripts.
- ``summaries_days``: `escalation_summary*` events (the deterministic and the LLM summary).
- ``callbacks_days``: callback requests and voicemails (rows and files).
- ``calls_days``: the call rows themselves, with everything that hangs off them.

Ages are measured from each row's own time (`started_at`, `created_at`, `ts`); rows of a call
that is still active are never touched. The counts are logged and written to the audit log as
one ``purge`` entry. The service runs it every `privacy.purge_every_s`; `ivr purge` on demand.

`forget(store, caller, actor)` deletes every call of a caller number (`calls.caller`) with its
turns, events, review, recording and voicemail files, and every callback request for that
number (`callbacks.number` / `callbacks.caller`). The audit log keeps only a ``forget`` entry
with the counts and a keyed hash (HMAC-SHA256 under `forget_secret` in the data directory,
never in the database) of the number, so an operator can tell whether a given number was
forgotten without the log naming it. Earlier audit entries are immutable (hash chain) and keep
their call ids: random ids that identify nobody once the calls are gone. A call in progress is
skipped and counted as ``active_skipped``; run it again after the call.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ivr.db import write_transaction
from ivr.privacy.audit import append

if TYPE_CHECKING:
    from ivr.config import Settings
    from ivr.storage import CallStore

log = logging.getLogger("ivr.privacy")

DAY_S = 86400.0
SUMMARY_TYPES = "escalation_summary%"
_ENDED = "status != 'active'"


def _marks(ids: list[Any]) -> str:
    return ",".join("?" * len(ids))


def _unlink(paths: Iterable[str | None]) -> int:
    """Delete the files; returns how many existed and are gone."""
    n = 0
    for p in {p for p in paths if p}:
        try:
            Path(p).unlink()
            n += 1
        except FileNotFoundError:
            continue  # already gone
        except OSError as e:
            log.warning("purge: cannot delete %s: %s", p, e)
    return n


class _Tx:
    """One write transaction (SQLite: ``BEGIN IMMEDIATE``) rolled back in a dry run."""

    def __init__(self, store: CallStore, dry_run: bool) -> None:
        self.db = store.db
        self._tx = write_transaction(self.db, rollback=dry_run)

    def __enter__(self) -> _Tx:
        self._tx.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._tx.__exit__(*exc)

    def run(self, sql: str, args: list[Any] | tuple[Any, ...] = ()) -> int:
        return int(self.db.execute(sql, list(args)).rowcount)

    def rows(self, sql: str, args: list[Any] | tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return list(self.db.execute(sql, list(args)).fetchall())


def _delete_calls(tx: _Tx, ids: list[str], counts: dict[str, int], files: list[str]) -> None:
    """Everything of the calls `ids` (which are not active): children first."""
    if not ids:
        return
    m = _marks(ids)
    files += [r[0] for r in tx.rows(f"select recording_path from calls where id in ({m})", ids)]
    files += [r[0] for r in tx.rows(
        f"select recording_path from callbacks where call_id in ({m})", ids)]
    counts["turns"] = counts.get("turns", 0) + tx.run(
        f"delete from turns where call_id in ({m})", ids)
    counts["events"] = counts.get("events", 0) + tx.run(
        f"delete from events where call_id in ({m})", ids)
    counts["reviews"] = counts.get("reviews", 0) + tx.run(
        f"delete from reviews where call_id in ({m})", ids)
    counts["callbacks"] = counts.get("callbacks", 0) + tx.run(
        f"delete from callbacks where call_id in ({m})", ids)
    counts["calls"] = counts.get("calls", 0) + tx.run(f"delete from calls where id in ({m})", ids)


def purge(store: CallStore, settings: Settings, now: float | None = None,
          dry_run: bool = False, actor: str = "retention") -> dict[str, int]:
    """Apply the retention periods; returns what was (or, in a dry run, would be) deleted."""
    r = settings.privacy.retention
    now = time.time() if now is None else now

    def cutoff(days: float) -> float | None:
        return now - days * DAY_S if days > 0 else None

    counts: dict[str, int] = {"recordings": 0, "voicemails": 0, "turns": 0, "events": 0,
                              "summaries": 0, "callbacks": 0, "calls": 0, "reviews": 0}
    files: list[str] = []
    active = "select id from calls where status = 'active'"
    with _Tx(store, dry_run) as tx:
        if (c := cutoff(r.calls_days)) is not None:
            ids = [row[0] for row in tx.rows(
                f"select id from calls where started_at < ? and {_ENDED}", [c])]
            _delete_calls(tx, ids, counts, files)
        if (c := cutoff(r.recordings_days)) is not None:
            rows = tx.rows(f"select id, recording_path from calls where started_at < ? and "
                           f"{_ENDED} and recording_path is not null", [c])
            files += [p for _, p in rows]
            counts["recordings"] = tx.run(
                f"update calls set recording_path = null where id in ({_marks(rows)})",
                [i for i, _ in rows]) if rows else 0
            vms = tx.rows(f"select id, recording_path from callbacks where created_at < ? and "
                          f"recording_path is not null and coalesce(call_id, '') not in "
                          f"({active})", [c])
            files += [p for _, p in vms]
            counts["voicemails"] = tx.run(
                f"update callbacks set recording_path = null where id in ({_marks(vms)})",
                [i for i, _ in vms]) if vms else 0
        if (c := cutoff(r.callbacks_days)) is not None:
            sel = (f"from callbacks where created_at < ? and coalesce(call_id, '') not in "
                   f"({active})")
            voicemail_files = [row[0] for row in tx.rows(f"select recording_path {sel}", [c])]
            counts["voicemails"] += sum(1 for p in voicemail_files if p)
            files += voicemail_files
            counts["callbacks"] += tx.run(f"delete {sel}", [c])
        if (c := cutoff(r.transcripts_days)) is not None:
            counts["turns"] += tx.run(
                f"delete from turns where created_at < ? and call_id not in ({active})", [c])
            counts["events"] += tx.run(
                f"delete from events where ts < ? and type not like ? and call_id not in "
                f"({active})", [c, SUMMARY_TYPES])
            tx.run(f"update callbacks set transcript = null where created_at < ? and "
                   f"transcript is not null and coalesce(call_id, '') not in ({active})", [c])
        if (c := cutoff(r.summaries_days)) is not None:
            counts["summaries"] = tx.run(
                f"delete from events where ts < ? and type like ? and call_id not in "
                f"({active})", [c, SUMMARY_TYPES])
    removed = 0 if dry_run else _unlink(files)
    summary = ", ".join(f"{k} {v}" for k, v in counts.items())
    log.info("purge%s: %s; %d file(s) removed", " (dry run)" if dry_run else "", summary,
             removed)
    counts["files"] = removed
    if not dry_run:
        append(store.db, "purge", user=actor, detail=counts)
    return counts


def forget_secret(store: CallStore) -> bytes:
    """The key of the `forget` entries' number hashes: ``forget_secret`` next to the database
    (mode 600), made on first use."""
    from ivr.web.auth import load_or_create_secret

    return load_or_create_secret(store.path.parent / "forget_secret")


def number_hash(number: str, secret: bytes) -> str:
    """HMAC-SHA256 (hex) of a caller number: recomputable with the secret, not reversible from
    the audit log alone."""
    return hmac.new(secret, number.strip().encode("utf-8"), hashlib.sha256).hexdigest()


def forget(store: CallStore, caller: str, actor: str | None, *, role: str | None = None,
           ip: str | None = None, dry_run: bool = False) -> dict[str, int]:
    """Delete every call, recording, transcript, summary, review and callback request of
    `caller`; returns the counts and writes one ``forget`` audit entry (no number in it)."""
    caller = caller.strip()
    if not caller:
        raise ValueError("a caller number is needed")
    counts: dict[str, int] = {"calls": 0, "turns": 0, "events": 0, "reviews": 0,
                              "callbacks": 0}
    files: list[str] = []
    with _Tx(store, dry_run) as tx:
        ids = [row[0] for row in tx.rows(
            f"select id from calls where caller = ? and {_ENDED}", [caller])]
        counts["active_skipped"] = tx.rows(
            "select count(*) from calls where caller = ? and status = 'active'", [caller])[0][0]
        _delete_calls(tx, ids, counts, files)
        sel = "from callbacks where (number = ? or caller = ?)"
        files += [row[0] for row in tx.rows(f"select recording_path {sel}", [caller, caller])]
        counts["callbacks"] += tx.run(f"delete {sel}", [caller, caller])
    counts["files"] = 0 if dry_run else _unlink(files)
    if dry_run:
        counts["files"] = sum(1 for p in set(files) if p and Path(p).exists())
        return counts
    log.info("forget: %s", ", ".join(f"{k} {v}" for k, v in counts.items()))
    append(store.db, "forget", user=actor, role=role, ip=ip,
           detail={**counts, "caller_hash": number_hash(caller, forget_secret(store))})
    return counts
