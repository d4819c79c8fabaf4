"""The store's named migrations, in order: each runs once per database, in its own
transaction (`CallStore.migrate`), written against the `ivr.storage.db.Database` subset so that the
same migration builds SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Migration = Callable[[Any], None]  # takes an `ivr.storage.db.Database`


def _m001_initial(db: Any) -> None:
    db["calls"].create(
        {
            "id": str, "sip_call_id": str, "caller": str, "callee": str, "remote_uri": str,
            "started_at": float, "answered_at": float, "ended_at": float,
            "status": str, "end_reason": str, "language": str,
            "dialplan": str, "dialplan_version": str, "recording_path": str,
            "turn_count": int, "escalated": int, "transfer_target": str,
        },
        pk="id",
        not_null={"started_at", "status"},
        defaults={"status": "active", "turn_count": 0, "escalated": 0},
    )
    db["calls"].create_index(["started_at"])
    db["calls"].create_index(["caller"])
    db["turns"].create(
        {
            "id": int, "call_id": str, "seq": int, "node": str, "language": str,
            "prompt": str, "input_mode": str, "caller_text": str, "asr_confidence": float,
            "no_speech_prob": float, "dtmf": str, "outcome": str, "intent": str,
            "intent_score": float, "slots": str, "speech_start": float, "speech_end": float,
            "asr_done": float, "asr_seconds": float, "reply_first_audio": float,
            "created_at": float,
        },
        pk="id",
        foreign_keys=[("call_id", "calls", "id")],
    )
    db["turns"].create_index(["call_id", "seq"], unique=True)
    db["events"].create(
        {"id": int, "call_id": str, "ts": float, "type": str, "data": str},
        pk="id",
        foreign_keys=[("call_id", "calls", "id")],
    )
    db["events"].create_index(["call_id", "ts"])


def _m002_profile(db: Any) -> None:
    db["calls"].add_column("profile", str)


def _m003_emotion(db: Any) -> None:
    db["turns"].add_column("emotion", str)  # JSON: anger, distress, arousal, label, cues
    db["calls"].add_column("peak_anger", float)


def _m004_agents(db: Any) -> None:
    db["agents"].create(
        {"id": str, "name": str, "uri": str, "queues": str, "languages": str, "topics": str,
         "status": str, "current_call": str, "since": float},
        pk="id", defaults={"status": "available"},
    )
    db["calls"].add_column("waiting_queue", str)  # set while the caller waits for an agent
    db["calls"].add_column("waiting_since", float)
    db["callbacks"].create(
        {"id": int, "call_id": str, "caller": str, "number": str, "language": str,
         "intent": str, "queue": str, "created_at": float, "status": str},
        pk="id", defaults={"status": "pending"},
    )


def _m005_handover(db: Any) -> None:
    db["calls"].add_column("agent_id", str)  # the agent who took the call
    db["calls"].add_column("queue_wait_s", float)  # time from queueing to an agent answering
    db["calls"].add_column("agent_outcome", str)  # marked by the agent on the desktop
    db["calls"].add_column("agent_note", str)
    db["callbacks"].add_column("kind", str, not_null_default="callback")  # or voicemail
    db["callbacks"].add_column("recording_path", str)  # voicemail audio
    db["callbacks"].add_column("reason", str)  # the escalation reason
    db["callbacks"].add_column("transcript", str)  # a voicemail's words, as recognised


def _m006_users(db: Any) -> None:
    db["users"].create(
        {"id": int, "username": str, "role": str, "password_hash": str, "agent_id": str,
         "created_at": float, "disabled": int},
        pk="id", not_null={"username", "role", "password_hash"}, defaults={"disabled": 0},
    )
    db["users"].create_index(["username"], unique=True)
    db["api_tokens"].create(
        {"id": int, "name": str, "role": str, "token_hash": str, "agent_id": str,
         "created_at": float, "last_used_at": float},
        pk="id", not_null={"name", "role", "token_hash"},
    )
    db["api_tokens"].create_index(["token_hash"], unique=True)
    db["api_tokens"].create_index(["name"], unique=True)
    db["audit_log"].create(
        {"id": int, "ts": float, "user": str, "role": str, "action": str, "call_id": str,
         "detail": str, "ip": str},
        pk="id", not_null={"ts", "action"},
    )
    db["audit_log"].create_index(["ts"])
    db["audit_log"].create_index(["call_id"])


def _m007_reviews(db: Any) -> None:
    db["reviews"].create(  # one review per call (the dashboard), tags as a JSON list
        {"call_id": str, "reviewed": int, "reviewed_by": str, "reviewed_at": float,
         "note": str, "tags": str},
        pk="call_id", defaults={"reviewed": 0},
    )


def _m008_audit_chain(db: Any) -> None:
    from ivr.privacy.audit import migrate  # hash chain + append-only triggers (issue 8)

    migrate(db)


def _m009_call_worker(db: Any) -> None:
    db["calls"].add_column("worker", str)  # the SIP worker (host:port) that holds the call


def _m010_workers(db: Any) -> None:
    from ivr.workers import migrate  # the service's worker processes and their APIs (issue 9)

    migrate(db)


def _m011_revoked_sessions(db: Any) -> None:
    from ivr.web.sessions import migrate  # signed-out session cookies (issue 15)

    migrate(db)


def _m012_signin_failures(db: Any) -> None:
    from ivr.web.throttle import migrate  # failed sign-ins shared by the workers (issue 15)

    migrate(db)


def _m013_turn_answer(db: Any) -> None:
    db["turns"].add_column("answer", str)  # the knowledge entry answered (issue 17)


def _m014_call_outcomes(db: Any) -> None:
    from ivr.storage import counters  # outcomes, escalation reasons, durable counters (issue 21)

    counters.create(db)
    counters.backfill(db)


def _m015_surveys(db: Any) -> None:
    from ivr.storage import surveys  # satisfaction survey answers (issue 21)

    surveys.create(db)


def _m016_callback_attempts(db: Any) -> None:
    """The automatic call back (issue 21, `ivr.escalation.callback_dialler`): the caller's
    window, the attempts made and their last result, and which worker holds a dialling one.
    `status`: pending -> dialling -> done | failed (or pending again for a retry). Requests
    booked before this migration get the default window of 24 h from their booking."""
    for column, type_ in (("not_before", float), ("not_after", float), ("attempts", int),
                          ("last_result", str), ("last_attempt_at", float),
                          ("next_attempt_at", float), ("claimed_by", str),
                          ("claimed_at", float), ("agent_id", str), ("completed_at", float)):
        db["callbacks"].add_column(column, type_)
    db.execute("update callbacks set attempts = 0, not_before = created_at, "
               "not_after = created_at + 86400 where not_after is null")
    db["callbacks"].create_index(["status", "next_attempt_at"])


def _m017_transcript_lines(db: Any) -> None:
    from ivr.storage import transcript  # the agent leg's transcript lines (issue 21)

    transcript.create(db)


MIGRATIONS: list[tuple[str, Migration]] = [("001_initial", _m001_initial),
                                           ("002_call_profile", _m002_profile),
                                           ("003_emotion", _m003_emotion),
                                           ("004_agents", _m004_agents),
                                           ("005_handover", _m005_handover),
                                           ("006_users", _m006_users),
                                           ("007_reviews", _m007_reviews),
                                           ("008_audit_chain", _m008_audit_chain),
                                           ("009_call_worker", _m009_call_worker),
                                           ("010_workers", _m010_workers),
                                           ("011_revoked_sessions", _m011_revoked_sessions),
                                           ("012_signin_failures", _m012_signin_failures),
                                           ("013_turn_answer", _m013_turn_answer),
                                           ("014_call_outcomes", _m014_call_outcomes),
                                           ("015_surveys", _m015_surveys),
                                           ("016_callback_attempts", _m016_callback_attempts),
                                           ("017_transcript_lines", _m017_transcript_lines)]
