"""Retention periods and the right to be forgotten: deletion for real, files and rows.

`purge(store, settings)` applies `privacy.retention` (days per data type, 0 = keep):

- ``recordings_days``: call recordings and voicemail files are deleted; `recording_path` is
  set to NULL on the call / callback row.
- ``transcripts_days``: turns, events (escalation summaries excepted) and voicemail
  transcripts.
- ``summaries_days``: `escalation_summary*` events (the deterministic and the LLM summary).
- ``callbacks_days``: callback requests and voicemails (rows and files).
- ``calls_days``: the call rows themselves, with everything that hangs off them.

Files: besides the stored `recording_path`s, the recording and voicemail names a call id gives
are deleted (a crash can leave a file whose row never got its path), and only audio files
inside the data directory are ever deleted (`ivr.privacy.call_files`).

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
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ivr.privacy.audit import append
from ivr.privacy.call_files import CallFiles
from ivr.storage.db import write_transaction

if TYPE_CHECKING:
    from ivr.config import Settings
    from ivr.storage.call_store import CallStore

log = logging.getLogger("ivr.privacy")

DAY_S = 86400.0
SUMMARY_TYPES = "escalation_summary%"
_ENDED = "status != 'active'"


def _marks(ids: list[Any]) -> str:
    return ",".join("?" * len(ids))


def _roots(store: CallStore, data_dir: Path | None) -> list[Path]:
    """Where a call's files may be: the data directory and the database's directory (the
    same one unless `database_url` puts SQLite elsewhere)."""
    return [store.path.parent] + ([Path(data_dir)] if data_dir is not None else [])


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


def _delete_calls(tx: _Tx, ids: list[str], counts: dict[str, int], files: CallFiles) -> None:
    """Everything of the calls `ids` (which are not active): children first."""
    if not ids:
        return
    m = _marks(ids)
    files.add_calls(ids)
    files.add_stored(r[0] for r in tx.rows(
        f"select recording_path from calls where id in ({m})", ids))
    files.add_stored(r[0] for r in tx.rows(
        f"select recording_path from callbacks where call_id in ({m})", ids))
    counts["turns"] = counts.get("turns", 0) + tx.run(
        f"delete from turns where call_id in ({m})", ids)
    counts["events"] = counts.get("events", 0) + tx.run(
        f"delete from events where call_id in ({m})", ids)
    counts["reviews"] = counts.get("reviews", 0) + tx.run(
        f"delete from reviews where call_id in ({m})", ids)
    counts["callbacks"] = counts.get("callbacks", 0) + tx.run(
        f"delete from callbacks where call_id in ({m})", ids)
    tx.run(f"delete from surveys where call_id in ({m})", ids)  # (a comment is the caller's)
    counts["turns"] = counts.get("turns", 0) + tx.run(  # the agent leg's words (issue 21)
        f"delete from transcript_lines where call_id in ({m})", ids)
    tx.run(f"delete from agent_transcriptions where call_id in ({m})", ids)
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
    files = CallFiles(_roots(store, settings.data_dir))
    active = "select id from calls where status = 'active'"
    with _Tx(store, dry_run) as tx:
        if (c := cutoff(r.calls_days)) is not None:
            ids = [row[0] for row in tx.rows(
                f"select id from calls where started_at < ? and {_ENDED}", [c])]
            _delete_calls(tx, ids, counts, files)
        if (c := cutoff(r.recordings_days)) is not None:
            rows = tx.rows(f"select id, recording_path from calls where started_at < ? and "
                           f"{_ENDED} and recording_path is not null", [c])
            files.add_stored(p for _, p in rows)
            files.add_calls((i for i, _ in rows), voicemail=False)  # voicemails: their rows
            counts["recordings"] = tx.run(
                f"update calls set recording_path = null where id in ({_marks(rows)})",
                [i for i, _ in rows]) if rows else 0
            vms = tx.rows(f"select id, recording_path, call_id from callbacks where "
                          f"created_at < ? and recording_path is not null and "
                          f"coalesce(call_id, '') not in ({active})", [c])
            files.add_stored(p for _, p, _ in vms)
            files.add_calls((cid for _, _, cid in vms), recording=False)
            counts["voicemails"] = tx.run(
                f"update callbacks set recording_path = null where id in ({_marks(vms)})",
                [i for i, _, _ in vms]) if vms else 0
        if (c := cutoff(r.callbacks_days)) is not None:
            sel = (f"from callbacks where created_at < ? and coalesce(call_id, '') not in "
                   f"({active})")
            voicemails = tx.rows(f"select recording_path, call_id {sel}", [c])
            counts["voicemails"] += sum(1 for p, _ in voicemails if p)
            files.add_stored(p for p, _ in voicemails)
            files.add_calls((cid for _, cid in voicemails), recording=False)
            counts["callbacks"] += tx.run(f"delete {sel}", [c])
        if (c := cutoff(r.transcripts_days)) is not None:
            counts["turns"] += tx.run(
                f"delete from turns where created_at < ? and call_id not in ({active})", [c])
            counts["events"] += tx.run(
                f"delete from events where ts < ? and type not like ? and call_id not in "
                f"({active})", [c, SUMMARY_TYPES])
            tx.run(f"update callbacks set transcript = null where created_at < ? and "
                   f"transcript is not null and coalesce(call_id, '') not in ({active})", [c])
            tx.run(f"update surveys set comment = null where created_at < ? and comment is not "
                   f"null and call_id not in ({active})", [c])  # a survey's spoken comment
            # the agent leg's words; its `agent_transcriptions` row stays, so the leg is not
            # transcribed again from a recording kept longer than the transcripts
            counts["turns"] += tx.run(f"delete from transcript_lines where created_at < ? and "
                                      f"call_id not in ({active})", [c])
        if (c := cutoff(r.summaries_days)) is not None:
            counts["summaries"] = tx.run(
                f"delete from events where ts < ? and type like ? and call_id not in "
                f"({active})", [c, SUMMARY_TYPES])
    removed = 0 if dry_run else files.delete()
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
           ip: str | None = None, dry_run: bool = False,
           data_dir: Path | None = None) -> dict[str, int]:
    """Delete every call, recording, voicemail, transcript, summary, review and callback
    request of `caller`; returns the counts and writes one ``forget`` audit entry (no number
    in it). `data_dir`: where the calls' files are, if not beside the database."""
    caller = caller.strip()
    if not caller:
        raise ValueError("a caller number is needed")
    counts: dict[str, int] = {"calls": 0, "turns": 0, "events": 0, "reviews": 0,
                              "callbacks": 0}
    files = CallFiles(_roots(store, data_dir))
    with _Tx(store, dry_run) as tx:
        ids = [row[0] for row in tx.rows(
            f"select id from calls where caller = ? and {_ENDED}", [caller])]
        counts["active_skipped"] = tx.rows(
            "select count(*) from calls where caller = ? and status = 'active'", [caller])[0][0]
        _delete_calls(tx, ids, counts, files)
        sel = "from callbacks where (number = ? or caller = ?)"
        callbacks = tx.rows(f"select recording_path, call_id, kind {sel}", [caller, caller])
        files.add_stored(p for p, _, _ in callbacks)
        files.add_calls((cid for _, cid, kind in callbacks if kind == "voicemail"),
                        recording=False)
        counts["callbacks"] += tx.run(f"delete {sel}", [caller, caller])
    if dry_run:
        counts["files"] = len(files.existing())
        return counts
    counts["files"] = files.delete()
    log.info("forget: %s", ", ".join(f"{k} {v}" for k, v in counts.items()))
    append(store.db, "forget", user=actor, role=role, ip=ip,
           detail={**counts, "caller_hash": number_hash(caller, forget_secret(store))})
    return counts
