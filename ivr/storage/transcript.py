"""A call's complete transcript (issue 21): what the caller heard and said, in time order,
with who spoke.

A turn row holds the caller's answer and the prompts of the step it caused, so what the IVR
said after a webhook (the step that the webhook's result caused), the greeting, the disclosure,
the hold messages and the agent's words were missing from the review, the API and the agent
summary. The transcript is built instead from what was recorded as it happened:

- ``ivr``: every prompt that actually started playing (its ``prompt`` event: greeting,
  disclosure, menus, webhook answers, hold messages), with ``interrupted`` from the matching
  ``prompt_end`` (the caller barged in);
- ``caller``: every turn (the words or keys, at the start of the speech, or when the keys were
  taken), and the answers given while waiting for an agent (``handover_input``);
- ``agent`` and ``caller`` lines of the conversation with the agent after the bridge,
  transcribed from the recording in the background (`ivr.escalation.agent_transcript`) and
  stored in ``transcript_lines`` (migration 017), with the state of that work in
  ``agent_transcriptions`` (one row per call: ``done``, ``no_speech`` or ``failed``).

Nothing is unmasked here: prompts and turns are read as stored (`ivr.call.call_record`
redacts every event and turn with the call's secrets, so a read-back of a card number is
stored masked); agent-leg lines are redacted before they are stored. A ``prompt`` event keeps
the first 80 characters of the prompt (`ivr.call.playout`), so a longer prompt shows cut.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from ivr.storage.db import write_transaction

__all__ = ["SPEAKERS", "TranscriptLine", "agent_leg_lines", "agent_leg_state", "build",
           "claim_agent_leg", "create", "for_call", "forget_orphans", "pending_agent_legs",
           "save_agent_leg", "text_lines", "with_played_prompts"]

SPEAKERS = ("ivr", "caller", "agent")
LABELS = {"ivr": "IVR", "caller": "Caller", "agent": "Agent"}
MAX_LINE_CHARS = 2000  # one stored agent-leg line (a 25 s segment says far less)
CLAIM_STALE_S = 3600.0  # a claim this old was left by a worker that stopped

Row = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class TranscriptLine:
    """One line: `at` (UNIX seconds) when it began, `speaker` (ivr, caller, agent), `text`
    as stored, `kind` (prompt, stored_prompt, turn, handover_input, agent_leg), the `node` it
    belongs to, `interrupted` (a prompt cut by the caller), `seq` (a turn's number)."""

    at: float
    speaker: str
    text: str
    kind: str
    node: str | None = None
    interrupted: bool = False
    seq: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def create(db: Any) -> None:
    """Migration 017: the agent leg's lines and the state of its transcription."""
    db["transcript_lines"].create(
        {"id": int, "call_id": str, "ts": float, "end_ts": float, "speaker": str,
         "text": str, "confidence": float, "created_at": float},
        pk="id", not_null={"call_id", "ts", "speaker"})
    db["transcript_lines"].create_index(["call_id", "ts"])
    db["agent_transcriptions"].create(
        {"call_id": str, "status": str, "lines": int, "detail": str, "finished_at": float},
        pk="call_id")


# ---------------------------------------------------------------- building
def _data(event: Row) -> Mapping[str, Any]:
    data = event.get("data")
    return data if isinstance(data, Mapping) else {}


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else None


def _prompts(events: Sequence[Row]) -> list[TranscriptLine]:
    """Prompts that started playing, each marked interrupted when its ``prompt_end`` (the
    first unmatched one of its node after it) says so."""
    lines: list[TranscriptLine] = []
    open_by_node: dict[str, list[int]] = {}
    for e in events:
        data, ts = _data(e), _num(e.get("ts"))
        if ts is None:
            continue
        node = str(data.get("node") or "")
        if e.get("type") == "prompt" and isinstance(data.get("text"), str):
            text = "[recorded audio]" if data["text"].startswith("file:") else data["text"]
            open_by_node.setdefault(node, []).append(len(lines))
            lines.append(TranscriptLine(ts, "ivr", text, "prompt", node or None))
        elif e.get("type") == "prompt_end" and open_by_node.get(node):
            i = open_by_node[node].pop(0)
            if data.get("interrupted"):
                p = lines[i]
                lines[i] = TranscriptLine(p.at, p.speaker, p.text, p.kind, p.node, True)
    return lines


def _said(turn: Row) -> str:
    if turn.get("caller_text"):
        return str(turn["caller_text"])
    if turn.get("dtmf"):
        return f"[keys {turn['dtmf']}]"
    return f"[{turn.get('outcome') or 'no input'}]"


def _turns(turns: Sequence[Row]) -> list[TranscriptLine]:
    out = []
    for t in turns:
        at = _num(t.get("speech_start")) or _num(t.get("created_at"))
        if at is None:
            continue
        out.append(TranscriptLine(at, "caller", _said(t), "turn", t.get("node"),
                                  seq=t.get("seq") if isinstance(t.get("seq"), int) else None))
    return out


def _stored_prompts(turns: Sequence[Row]) -> list[TranscriptLine]:
    """Without any ``prompt`` event (rows written before they existed, or imported): each
    turn's stored prompt, as the IVR's reply just after the caller's words (kind
    ``stored_prompt``: when it played is not known, only its place)."""
    out = []
    for t in turns:
        said = _num(t.get("speech_start")) or _num(t.get("created_at"))
        if not t.get("prompt") or said is None:
            continue
        at = max(said + 0.001, _num(t.get("reply_first_audio")) or _num(t.get("created_at"))
                 or said)
        out += [TranscriptLine(at, "ivr", text, "stored_prompt") for text in
                str(t["prompt"]).splitlines() if text.strip()]
    return out


def _handover_inputs(events: Sequence[Row]) -> list[TranscriptLine]:
    out = []
    for e in events:
        if e.get("type") != "handover_input" or _num(e.get("ts")) is None:
            continue
        data = _data(e)
        text = data.get("text") or f"[{data.get('mode') or 'no input'}]"
        out.append(TranscriptLine(float(e["ts"]), "caller", str(text), "handover_input",
                                  "handover"))
    return out


def _agent_leg(lines: Iterable[Row]) -> list[TranscriptLine]:
    return [TranscriptLine(float(r["ts"]), str(r["speaker"]), str(r.get("text") or ""),
                           "agent_leg") for r in lines
            if _num(r.get("ts")) is not None and r.get("speaker") in SPEAKERS]


def build(call: Row, agent_lines: Iterable[Row] = ()) -> list[TranscriptLine]:
    """The transcript of a call row of `CallStore.get_call` (its turns and events) and its
    stored agent-leg lines, in time order (a call without prompt events: its turns' stored
    prompts). Lines at the same instant keep the order of their
    sources: what the IVR said, the caller, the agent leg (a prompt and the turn it asked for
    never share a timestamp in a real call)."""
    events = [e for e in call.get("events") or [] if isinstance(e, Mapping)]
    turns = [t for t in call.get("turns") or [] if isinstance(t, Mapping)]
    prompts = _prompts(events) or _stored_prompts(turns)
    lines = prompts + _turns(turns) + _handover_inputs(events) + _agent_leg(agent_lines)
    return sorted(lines, key=lambda line: line.at)  # stable: same-instant sources keep order


def for_call(db: Any, call: Row) -> list[dict[str, Any]]:
    """The transcript of a stored call as JSON-ready dicts (the API and the call page), with
    `offset_s` from the answer."""
    origin = _num(call.get("answered_at")) or _num(call.get("started_at")) or 0.0
    return [{**line.as_dict(), "offset_s": round(max(0.0, line.at - origin), 2)}
            for line in build(call, agent_leg_lines(db, str(call.get("id"))))]


def text_lines(lines: Iterable[TranscriptLine]) -> list[str]:
    """``IVR: …`` / ``Caller: …`` / ``Agent: …`` lines (the LLM summary's transcript)."""
    return [f"{LABELS.get(line.speaker, line.speaker)}: {line.text}"
            + (" [interrupted]" if line.interrupted else "") for line in lines if line.text]


def with_played_prompts(call: Row) -> list[dict[str, Any]]:
    """The call's turns in order, a turn that stored no `prompt` given what the IVR then
    played until the caller's next turn (a webhook's answer is played by a later step, so its
    turn stored none). A stored prompt is kept as it is (whole, where a played one is cut at
    80 characters); prompts of the hand-over (hold messages) are left to the hand-over. For
    the agent's summary (`ivr.escalation.summary`)."""
    turns = sorted((dict(t) for t in call.get("turns") or [] if isinstance(t, Mapping)),
                   key=lambda t: t.get("seq") or 0)
    played: dict[int, list[str]] = {}
    current: int | None = None
    for line in build(call):
        if line.kind == "turn":
            current = line.seq
        elif line.kind == "prompt" and current is not None and line.node != "handover":
            played.setdefault(current, []).append(line.text)
    for t in turns:
        if not t.get("prompt") and played.get(t.get("seq") or -1):
            t["prompt"] = "\n".join(played[t["seq"]])
    return turns


# ---------------------------------------------------------------- the agent leg's rows
def agent_leg_lines(db: Any, call_id: str) -> list[dict[str, Any]]:
    """The stored agent-leg lines of a call, in time order (none before migration 017)."""
    if not db["transcript_lines"].exists():
        return []
    return list(db.query("select ts, end_ts, speaker, text, confidence from transcript_lines "
                         "where call_id = ? order by ts, id", [call_id]))


def agent_leg_state(db: Any, call_id: str) -> dict[str, Any] | None:
    """The agent leg's transcription of a call: status, lines, detail, finished_at; None
    when it has not run (or the call had no agent)."""
    if not db["agent_transcriptions"].exists():
        return None
    rows = list(db.query("select status, lines, detail, finished_at from agent_transcriptions "
                         "where call_id = ?", [call_id]))
    return rows[0] if rows else None


def save_agent_leg(db: Any, call_id: str, lines: Sequence[Mapping[str, Any]], status: str,
                   detail: str | None = None) -> None:
    """Replace the call's agent-leg lines (`ts`, `end_ts`, `speaker`, `text`, `confidence`)
    and record the transcription's `status` (done, no_speech, failed), in one transaction."""
    rows = [{"call_id": call_id, "ts": float(r["ts"]), "end_ts": r.get("end_ts"),
             "speaker": r["speaker"], "text": str(r["text"])[:MAX_LINE_CHARS],
             "confidence": r.get("confidence"), "created_at": time.time()} for r in lines
            if r.get("speaker") in SPEAKERS]
    with write_transaction(db):
        db.execute("delete from transcript_lines where call_id = ?", [call_id])
        if rows:
            db["transcript_lines"].insert_all(rows)
        db["agent_transcriptions"].insert(
            {"call_id": call_id, "status": status, "lines": len(rows),
             "detail": (detail or "")[:500] or None, "finished_at": time.time()},
            pk="call_id", replace=True)


def pending_agent_legs(db: Any, limit: int = 1, since: float = 0.0,
                       stale_s: float = CLAIM_STALE_S) -> list[dict[str, Any]]:
    """Ended calls an agent took, with a recording, not transcribed yet (or claimed by a
    worker more than `stale_s` ago that never finished), oldest first; `since`: only calls
    started after it (the indexed column: the service asks every few seconds, so it looks at
    a recent window, never the whole table)."""
    return list(db.query(
        "select c.* from calls c where c.started_at >= ? and c.status = 'ended' "
        "and c.agent_id is not null and c.recording_path is not null and not exists "
        "(select 1 from agent_transcriptions a where a.call_id = c.id and "
        "(a.status <> 'running' or a.finished_at >= ?)) "
        "order by c.ended_at limit ?", [since, time.time() - stale_s, limit]))


def claim_agent_leg(db: Any, call_id: str, worker: str,
                    stale_s: float = CLAIM_STALE_S) -> bool:
    """Take a call's agent leg for this worker (workers sharing a store do each call once):
    False when another worker holds it or it is done. A claim older than `stale_s` (a worker
    that died) can be taken again."""
    with write_transaction(db):
        rows = list(db.query("select status, finished_at from agent_transcriptions "
                             "where call_id = ?", [call_id]))
        if rows and (rows[0]["status"] != "running"
                     or (rows[0]["finished_at"] or 0) >= time.time() - stale_s):
            return False
        db["agent_transcriptions"].insert(
            {"call_id": call_id, "status": "running", "lines": 0, "detail": worker[:200],
             "finished_at": time.time()}, pk="call_id", replace=True)
    return True


def forget_orphans(db: Any, transcripts_before: float | None = None) -> int:
    """Delete agent-leg lines whose call is gone (`ivr purge`, `ivr forget`) and, with
    `transcripts_before`, those older than the transcripts' retention; the count."""
    with write_transaction(db):
        n = db.execute("delete from transcript_lines where call_id not in "
                       "(select id from calls)").rowcount
        db.execute("delete from agent_transcriptions where call_id not in "
                   "(select id from calls)")
        if transcripts_before is not None:
            n += db.execute("delete from transcript_lines where created_at < ?",
                            [transcripts_before]).rowcount
    return max(0, n or 0)
