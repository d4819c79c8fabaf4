"""Supervisor dashboard: call review, recordings, metrics (issue 7).

Pages (plain HTML and JS from ``static/``; signed-out browsers are sent to ``/login``):

    GET  /dash                       -> /dash/calls (the nav bar also links /dash/live)
    GET  /dash/calls                 review list: search and filters
    GET  /dash/calls/{id}            one call: transcript following playback, emotion, events
    GET  /dash/metrics               charts over a chosen period

JSON (session cookie; POST needs the ``X-CSRF-Token`` from ``GET /auth/me``):

    GET  /dash/api/calls?from=&to=&flag=&intent=&dialect=&escalated=&agent=&reviewed=&q=
                        &limit=&offset=         calls with their flags, newest first
    GET  /dash/api/calls/{id}                   call, turns with timings, events, flags,
                                                summary, review, the complete transcript
                                                (`ivr.storage.transcript`; audited:
                                                view_call, view_transcript)
    GET  /dash/api/calls/{id}/recording?channel=caller|ivr|mixed
                                                mono WAV, HTTP Range aware (play_recording)
    POST /dash/api/calls/{id}/review            {reviewed, note, tags} (review_call)
    POST /dash/api/forget                       {caller}: admins only; deletes every call,
                                                recording and callback of that number
                                                (`ivr.privacy.retention.forget`; audited)
    GET  /dash/api/metrics?from=&to=            `ivr.web.metrics.compute`
    GET  /metrics                               Prometheus text for ops: admin or supervisor
                                                ``Authorization: Bearer <token>`` (the
                                                configured api_token or `ivr token add`)

Supervisors and admins see everything; agents only the calls they took and no metrics.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from ivr.call.events import EscalationSummary
from ivr.storage import transcript
from ivr.storage.call_store import CallStore
from ivr.storage.db import like
from ivr.web import dash_audio
from ivr.web.auth import audit, can_see_call, require
from ivr.web.edge import read_json
from ivr.web.flags import FLAG_CODES, flags_for
from ivr.web.metrics import compute, prometheus_text

STATIC_DIR = Path(__file__).parent / "static"
# Prometheus lines of the worker's SIP edge (`ivr.sip_edge.endpoint_metrics`), set by `ivr serve`
SIP_EDGE_METRICS: web.AppKey[Callable[[], str]] = web.AppKey("sip_edge_metrics")
SCAN_LIMIT = 5000  # calls scanned per list request when filtering by computed flags
MAX_NOTE = 4000
MAX_TAGS = 20
ALL_ROLES = ("admin", "supervisor", "agent")
STAFF = ("admin", "supervisor")
PAGES = {"calls": "dash_calls.html", "call": "dash_call.html", "metrics": "dash_metrics.html"}


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _float(value: str | None) -> float | None:
    if value in (None, ""):
        return None
    return float(value)


def _recording(call: dict[str, Any]) -> Path | None:
    """The call's recording file, when it has one that exists (a cheap stat)."""
    path = Path(call.get("recording_path") or "")
    return path if call.get("recording_path") and path.is_file() else None


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class Dashboard:
    """Handlers over one CallStore; reviews live in the ``reviews`` table (migration 007)."""

    def __init__(self, store: CallStore, active_calls: Callable[[], int] | None = None,
                 recording_key: bytes | None = None) -> None:
        self.store = store
        self.active_calls = active_calls
        self.recording_key = recording_key  # decrypts .wav.enc recordings in memory

    # ------------------------------------------------------------ pages
    @staticmethod
    def page(name: str) -> Callable[[web.Request], Any]:
        """A handler serving one page to a signed-in user (others go to ``/login``)."""

        @require(*ALL_ROLES)
        async def serve(_: web.Request) -> web.StreamResponse:
            return web.FileResponse(STATIC_DIR / PAGES[name],
                                    headers={"Cache-Control": "no-store"})

        return serve

    # ------------------------------------------------------------ data
    def _reviews(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        if not ids or not self.store.db["reviews"].exists():
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.store.db.query(f"select * from reviews where call_id in ({marks})", ids)
        return {r["call_id"]: {**r, "tags": json.loads(r["tags"] or "[]")} for r in rows}

    def _details(self, ids: list[str]) -> dict[str, dict[str, list[dict[str, Any]]]]:
        """Turns and the events the flags need, for many calls at once."""
        out: dict[str, dict[str, list[dict[str, Any]]]] = {
            i: {"turns": [], "events": []} for i in ids}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for t in self.store.db.query(
                    "select call_id, seq, outcome, input_mode, asr_confidence, emotion, intent "
                    f"from turns where call_id in ({marks}) order by seq", chunk):
                if t["emotion"]:
                    t["emotion"] = json.loads(t["emotion"])
                out[t["call_id"]]["turns"].append(t)
            for e in self.store.db.query(
                    f"select call_id, type, data from events where call_id in ({marks}) and "
                    "type in ('transfer', 'emotion_escalation', 'no_input') order by ts", chunk):
                e["data"] = json.loads(e["data"] or "{}")
                out[e["call_id"]]["events"].append(e)
        return out

    def search(self, user: Any, query: dict[str, str]) -> dict[str, Any]:
        """The review list: SQL filters first, then computed flags, then the page."""
        limit = min(200, max(1, int(query.get("limit", "50"))))
        offset = max(0, int(query.get("offset", "0")))
        where, args = ["1 = 1"], []
        if (since := _float(query.get("from"))) is not None:
            where.append("c.started_at >= ?")
            args.append(since)
        if (until := _float(query.get("to"))) is not None:
            where.append("c.started_at < ?")
            args.append(until)
        if query.get("dialect"):
            where.append("c.profile = ?")
            args.append(query["dialect"])
        if query.get("escalated") in ("1", "true", "yes", "0", "false", "no"):
            where.append("coalesce(c.escalated, 0) = ?")
            args.append(1 if query["escalated"] in ("1", "true", "yes") else 0)
        if query.get("agent"):
            where.append("c.agent_id = ?")
            args.append(query["agent"])
        if getattr(user, "role", None) not in STAFF:
            if agent_id := getattr(user, "agent_id", None):
                where.append("c.agent_id = ?")
                args.append(agent_id)
            else:
                where.append("1 = 0")  # an agent user of no agent sees no call
        if query.get("intent"):
            where.append("exists (select 1 from turns t where t.call_id = c.id and t.intent = ?)")
            args.append(query["intent"])
        if q := query.get("q", "").strip():
            op = like(self.store.db)  # case-insensitive on both databases
            where.append(f"(c.caller {op} ? escape '\\' or exists (select 1 from turns t "
                         f"where t.call_id = c.id and t.caller_text {op} ? escape '\\'))")
            args += [_like(q), _like(q)]
        rows = list(self.store.db.query(
            f"select c.* from calls c where {' and '.join(where)} "
            "order by c.started_at desc limit ?", [*args, SCAN_LIMIT]))
        details = self._details([r["id"] for r in rows])
        for row in rows:
            row["flags"] = [f.as_dict() for f in flags_for({**row, **details[row["id"]]})]
            row["intents"] = sorted({t["intent"] for t in details[row["id"]]["turns"]
                                     if t.get("intent")})
        if flag := query.get("flag"):
            rows = [r for r in rows if any(f["code"] == flag for f in r["flags"])]
        rows = [r for r in rows if can_see_call(user, r)]
        reviews = self._reviews([r["id"] for r in rows])
        if query.get("reviewed") in ("1", "0"):
            want = query["reviewed"] == "1"
            rows = [r for r in rows if bool(reviews.get(r["id"], {}).get("reviewed")) == want]
        page = rows[offset:offset + limit]
        for row in page:
            row["review"] = reviews.get(row["id"])
        return {"calls": page, "total": len(rows), "limit": limit, "offset": offset,
                "flag_codes": list(FLAG_CODES)}

    async def list_calls(self, request: web.Request) -> web.Response:
        try:
            result = self.search(request["user"], dict(request.query))
        except ValueError:
            return _error(400, "from, to, limit and offset must be numbers")
        return web.json_response(result)

    def _visible_call(self, request: web.Request) -> dict[str, Any]:
        call = self.store.get_call(request.match_info["call_id"])
        if call is None:
            raise web.HTTPNotFound(text='{"error": "no such call"}',
                                   content_type="application/json")
        if not can_see_call(request["user"], call):
            raise web.HTTPForbidden(text='{"error": "not your call"}',
                                    content_type="application/json")
        return call

    async def get_call(self, request: web.Request) -> web.Response:
        from ivr.web.timings import turn_timings

        call = self._visible_call(request)
        for turn in call["turns"]:
            turn["timings"] = turn_timings(turn)
        call["flags"] = [f.as_dict() for f in flags_for(call)]
        summaries = [e["data"] for e in call["events"] if e["type"] == EscalationSummary.TYPE]
        call["summary"] = summaries[-1] if summaries else None
        call["review"] = self._reviews([call["id"]]).get(call["id"])
        call["has_recording"] = _recording(call) is not None
        call["transcript"] = transcript.for_call(self.store.db, call)  # issue 21
        call["agent_transcript"] = transcript.agent_leg_state(self.store.db, call["id"])
        call.pop("recording_path", None)  # a server path is none of the browser's business
        audit(request, "view_call", call["id"])
        audit(request, "view_transcript", call["id"], turns=len(call["turns"]))
        return web.json_response(call)

    async def recording(self, request: web.Request) -> web.StreamResponse:
        call = self._visible_call(request)
        channel = request.query.get("channel", "mixed")
        if channel not in dash_audio.CHANNELS:
            return _error(400, "channel must be caller, ivr or mixed")
        path = _recording(call)
        if path is None:
            return _error(404, "no recording for this call")
        try:
            wav = await asyncio.get_running_loop().run_in_executor(
                None, dash_audio.channel_wav, path, channel, self.recording_key)
        except (OSError, RuntimeError, ValueError) as e:
            return _error(500, f"cannot read the recording: {e}")
        size = len(wav)
        headers = {"Accept-Ranges": "bytes", "Content-Type": "audio/wav",
                   "Cache-Control": "private, no-store"}
        try:
            span = dash_audio.byte_range(request.headers.get("Range"), size)
        except dash_audio.RangeNotSatisfiable:
            return web.Response(status=416, headers={**headers, "Content-Range": f"bytes */{size}"})
        if span is None or span[0] == 0:  # a fresh play, not a seek: one audit row
            audit(request, "play_recording", call["id"], channel=channel)
        if span is None:
            return web.Response(body=wav, headers=headers)
        start, end = span
        return web.Response(status=206, body=wav[start:end + 1], headers={
            **headers, "Content-Range": f"bytes {start}-{end}/{size}"})

    async def review(self, request: web.Request) -> web.Response:
        call = self._visible_call(request)
        try:
            body = await read_json(request)  # size and depth caps
        except ValueError:
            return _error(400, "the body must be JSON")
        if not isinstance(body, dict):
            return _error(400, "the body must be a JSON object")
        tags = body.get("tags") or []
        note = body.get("note") or ""
        if not isinstance(note, str) or len(note) > MAX_NOTE:
            return _error(400, f"note must be text of at most {MAX_NOTE} characters")
        if not isinstance(tags, list) or len(tags) > MAX_TAGS or not all(
                isinstance(t, str) and 0 < len(t.strip()) <= 40 for t in tags):
            return _error(400, f"tags must be a list of at most {MAX_TAGS} short texts")
        user = request["user"]
        row = {"call_id": call["id"], "reviewed": 1 if body.get("reviewed") else 0,
               "reviewed_by": getattr(user, "username", None), "reviewed_at": time.time(),
               "note": note, "tags": json.dumps(sorted({t.strip() for t in tags}),
                                                ensure_ascii=False)}
        self.store.db["reviews"].insert(row, pk="call_id", replace=True)
        audit(request, "review_call", call["id"], reviewed=bool(row["reviewed"]),
                     tags=json.loads(row["tags"]))
        return web.json_response({**row, "tags": json.loads(row["tags"])})

    async def forget(self, request: web.Request) -> web.Response:
        """Right to be forgotten (admins): everything of one caller number goes."""
        from ivr.privacy.retention import forget

        try:
            body = await read_json(request)  # size and depth caps
        except ValueError:
            return _error(400, "the body must be JSON")
        caller = body.get("caller") if isinstance(body, dict) else None
        if not isinstance(caller, str) or not caller.strip() or len(caller) > 64:
            return _error(400, "caller must be the number as stored")
        user = request["user"]
        counts = forget(self.store, caller, getattr(user, "username", None),
                        role=getattr(user, "role", None), ip=request.remote)
        return web.json_response(counts)

    async def metrics_json(self, request: web.Request) -> web.Response:
        now = time.time()
        try:
            until = _float(request.query.get("to")) or now
            since = _float(request.query.get("from")) or until - 7 * 86400
        except ValueError:
            return _error(400, "from and to must be UNIX seconds")
        if since >= until:
            return _error(400, "from must be before to")
        return web.json_response(compute(self.store, since, until))

    async def prometheus(self, request: web.Request) -> web.Response:
        active = self.active_calls() if self.active_calls else None
        text = prometheus_text(self.store, active)
        if (sip_edge := request.app.get(SIP_EDGE_METRICS)) is not None:  # trunks, allow-list
            text += sip_edge()
        return web.Response(text=text,
                            content_type="text/plain", charset="utf-8",
                            headers={"X-Content-Type-Options": "nosniff"})


async def _to_calls(_: web.Request) -> web.Response:
    raise web.HTTPSeeOther("/dash/calls")


def add_dashboard_routes(app: web.Application, store: CallStore,
                         active_calls: Callable[[], int] | None = None, *,
                         recording_key: bytes | None = None) -> Dashboard:
    """Mount the dashboard pages, its JSON API and ``/metrics`` on `app`; `recording_key`
    plays recordings encrypted at rest."""
    dash = Dashboard(store, active_calls, recording_key)
    r = app.router
    r.add_get("/dash", _to_calls)
    r.add_get("/dash/", _to_calls)
    r.add_get("/dash/calls", dash.page("calls"))
    r.add_get("/dash/calls/{call_id}", dash.page("call"))
    r.add_get("/dash/metrics", dash.page("metrics"))
    r.add_static("/dash/static/", STATIC_DIR)
    r.add_get("/dash/api/calls", require(*ALL_ROLES)(dash.list_calls))
    r.add_get("/dash/api/calls/{call_id}", require(*ALL_ROLES)(dash.get_call))
    r.add_get("/dash/api/calls/{call_id}/recording", require(*ALL_ROLES)(dash.recording))
    r.add_post("/dash/api/calls/{call_id}/review", require(*STAFF)(dash.review))
    r.add_post("/dash/api/forget", require("admin")(dash.forget))
    r.add_get("/dash/api/metrics", require(*STAFF)(dash.metrics_json))
    r.add_get("/metrics", require(*STAFF)(dash.prometheus))
    return dash


register = add_dashboard_routes
