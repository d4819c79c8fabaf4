"""HTTP JSON API (aiohttp): health, calls, one call with turns, timings and events.

Every `/api` route but `/api/health`, `/api/ready` and `/api/openapi.json` (described by
`ivr.web.openapi`) needs `Authorization: Bearer <token>`: the configured
`api_token` (an admin) or a token of `ivr token add` with its role; an agent's token sees only
the calls that agent took, and every view of a call is written to the audit log. The web pages
(`/login`, `/auth/*`, `/dash`, `/desk`, `ivr.web.auth`) sign in with session cookies, so the
bearer token is not asked there; `/` sends a browser to `/login`.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ivr.storage import transcript
from ivr.storage.call_store import CallStore
from ivr.storage.notify import FALLBACK_S
from ivr.web.auth import AUTH_KEY, audit, can_see_call, set_user
from ivr.web.signin import add_auth_routes
from ivr.web.timings import turn_timings

if TYPE_CHECKING:
    from ivr.escalation.agents import AgentConfig

HealthSource = Callable[[], dict[str, Any]]
ReadySource = Callable[[], Awaitable[dict[str, Any]]]  # `ivr.readiness.Readiness`
EVENTS_MAX_WAIT_S = 25.0  # a long poll's longest wait (below common proxies' idle timeouts)
EVENTS_FALLBACK_S = FALLBACK_S  # a waiting long poll re-reads at least this often
EVENTS_FOREIGN_POLL_S = 0.1  # ... and this often for a call of another worker (no notifier)
PUBLIC_PATHS = frozenset({"/", "/api/health", "/api/ready", "/api/openapi.json"})


def agent_callbacks(store: CallStore, agent_id: str | None, status: str | None,
                    limit: int = 100) -> list[dict[str, Any]]:
    """The callbacks an agent may see, newest first: those of calls they took and those
    left in a queue they serve (a callback exists because no agent took the call, so its
    queue is what ties it to an agent). Nothing for a token without an agent id."""
    from ivr.escalation.agents import AgentDirectory

    if not agent_id:
        return []
    agent = AgentDirectory(store).get(agent_id)
    queues = list(agent.queues) if agent else []
    mine = "c.agent_id = ?" + (f" or cb.queue in ({','.join('?' * len(queues))})"
                               if queues else "")
    sql, args = (f"select cb.* from callbacks cb left join calls c on c.id = cb.call_id "
                 f"where ({mine})"), [agent_id, *queues]
    if status:
        sql, args = sql + " and cb.status = ?", [*args, status]
    return list(store.db.query(sql + " order by cb.created_at desc limit ?", [*args, limit]))


_COOKIE_PAGES = ("/login", "/logout", "/auth", "/dash", "/desk", "/static")


def _cookie_signed(path: str) -> bool:
    """Paths of the web pages, which sign in with session cookies instead of the token."""
    return any(path == p or path.startswith(p + "/") for p in _COOKIE_PAGES)


def build_app(store: CallStore, token: str, health: HealthSource, *,
              desk_agents: Sequence[AgentConfig] = (),
              desk_secret: bytes | None = None,
              auth_secret: bytes | None = None,
              sessions: Callable[[], Mapping[str, Any] | None] | None = None,
              recording_key: bytes | None = None,
              ready: ReadySource | None = None
              ) -> web.Application:
    """The API app with sign-in (`ivr.web.auth`); with `desk_secret`, the agent desktop for
    `desk_agents` too. Session cookies are signed with `auth_secret` (default `desk_secret`;
    without either a random key, so sessions end with the process). `ready` reports the
    readiness checks of `/api/ready` (without it the app is never ready)."""

    @web.middleware
    async def auth(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path not in PUBLIC_PATHS and not _cookie_signed(request.path):
            user = request.app[AUTH_KEY].bearer_user(request.headers.get("Authorization", ""))
            if user is None:
                return web.json_response(
                    {"error": "missing or wrong bearer token"}, status=401,
                    headers={"WWW-Authenticate": "Bearer"})
            set_user(request, user)
        return await handler(request)

    async def get_health(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "time": time.time(), **health()})

    async def get_ready(_: web.Request) -> web.Response:
        """200 when every check passes, else 503 naming the failed ones (no token: load
        balancers and systemd probe it; the answer holds no secret)."""
        report = await ready() if ready is not None else {
            "ready": False, "failed": ["service"],
            "checks": {"service": {"ok": False, "detail": "no readiness source"}}}
        return web.json_response(report, status=200 if report["ready"] else 503,
                                 headers={"Cache-Control": "no-store"})

    async def get_openapi(_: web.Request) -> web.Response:
        from ivr import __version__
        from ivr.web.openapi import openapi_document

        return web.json_response(openapi_document(__version__))

    async def to_sign_in(_: web.Request) -> web.Response:
        raise web.HTTPFound("/login")

    async def list_calls(request: web.Request) -> web.Response:
        q = request.query
        try:
            limit = min(500, max(1, int(q.get("limit", "50"))))
            offset = max(0, int(q.get("offset", "0")))
        except ValueError:
            return web.json_response({"error": "limit and offset must be integers"}, status=400)
        user = request["user"]
        own = None if user.role in ("admin", "supervisor") else (user.agent_id or "")
        calls = store.list_calls(limit, offset, status=q.get("status"), caller=q.get("caller"),
                                 agent_id=own, sip_call_id=q.get("sip_call_id"))
        return web.json_response({"calls": calls, "limit": limit, "offset": offset})

    async def get_call(request: web.Request) -> web.Response:
        call = store.get_call(request.match_info["call_id"])
        if call is None or not can_see_call(request["user"], call):
            return web.json_response({"error": "no such call"}, status=404)
        audit(request, "view_call", call["id"], via="api")
        for turn in call["turns"]:
            turn["timings"] = turn_timings(turn)
        call["transcript"] = transcript.for_call(store.db, call)  # in time order (issue 21)
        call["agent_transcript"] = transcript.agent_leg_state(store.db, call["id"])
        return web.json_response(call)

    async def get_call_events(request: web.Request) -> web.Response:
        """The call's events after the `after` event id, waiting up to `wait` seconds (at
        most `EVENTS_MAX_WAIT_S`) for one when there is none yet and the call is live: a
        client follows a call with one request per batch of events, not by reloading it.
        A waiting request sleeps until this process queues a write of the call
        (`CallStore.changes`), re-reading at least every `EVENTS_FALLBACK_S` for the writes
        it cannot see; a call of another worker on the shared database, which this process
        is never told of, is re-read every `EVENTS_FOREIGN_POLL_S` (the test harness asks
        each call's own worker: `testkit.harness.ClusterProcess.call_api`)."""
        call_id = request.match_info["call_id"]
        try:
            after = max(0, min(int(request.query.get("after", "0")), 2**53))
            wait = max(0.0, min(float(request.query.get("wait", "0")), EVENTS_MAX_WAIT_S))
        except ValueError:
            return web.json_response({"error": "after must be an integer and wait a number "
                                      "of seconds"}, status=400)
        if wait != wait:  # NaN
            wait = 0.0
        call = store.db.query("select id, agent_id, worker from calls where id = ?", [call_id])
        row = next(iter(call), None)
        if row is None or not can_see_call(request["user"], row):
            return web.json_response({"error": "no such call"}, status=404)
        audit(request, "view_call", call_id, via="api", part="events")
        deadline = time.monotonic() + wait
        foreign = bool(row["worker"] and store.worker and row["worker"] != store.worker)
        every = EVENTS_FOREIGN_POLL_S if foreign else EVENTS_FALLBACK_S
        while True:
            found = store.call_events(call_id, after)
            if found is None:
                return web.json_response({"error": "no such call"}, status=404)
            status, events = found
            left = deadline - time.monotonic()
            if events or status == "ended" or left <= 0:
                return web.json_response({"id": call_id, "status": status, "events": events})
            await store.changes.wait(call_id, min(left, every))

    async def list_callbacks(request: web.Request) -> web.Response:
        """Callback requests and voicemails left while no agent was free, newest first; an
        agent's token sees only `agent_callbacks`. Audited like reading a call: they hold the
        caller's number, words and voicemail."""
        status = request.query.get("status") or None
        user = request["user"]
        rows = (store.callbacks(status) if user.role in ("admin", "supervisor")
                else agent_callbacks(store, user.agent_id, status))
        audit(request, "list_callbacks", via="api", status=status,
              call_ids=[r["call_id"] for r in rows])
        return web.json_response({"callbacks": rows})

    async def get_summary(request: web.Request) -> web.Response:
        from ivr.escalation.summary import render_text, summarise

        call = store.get_call(request.match_info["call_id"])
        if call is None or not can_see_call(request["user"], call):
            return web.json_response({"error": "no such call"}, status=404)
        audit(request, "view_call", call["id"], via="api", part="summary")
        history = store.list_calls(limit=50, caller=call.get("caller"))
        summary = summarise(call, history, None)
        language = request.query.get("language") or call.get("language") or "zh-CN"
        return web.json_response({**summary.as_dict(), "text": render_text(summary, language),
                                  "whisper": render_text(summary, language, whisper=True)})

    async def list_workers(_: web.Request) -> web.Response:
        """The service's live worker processes (shared `workers` table, `ivr.workers`)."""
        from ivr.workers import live_workers

        return web.json_response({"workers": live_workers(store)})

    from ivr.web.edge import MAX_BODY_BYTES

    app = web.Application(middlewares=[auth], client_max_size=MAX_BODY_BYTES)
    app.router.add_get("/", to_sign_in)
    app.router.add_get("/api/health", get_health)
    app.router.add_get("/api/ready", get_ready)
    app.router.add_get("/api/openapi.json", get_openapi)
    app.router.add_get("/api/workers", list_workers)
    app.router.add_get("/api/calls", list_calls)
    app.router.add_get("/api/calls/{call_id}", get_call)
    app.router.add_get("/api/calls/{call_id}/summary", get_summary)
    app.router.add_get("/api/calls/{call_id}/events", get_call_events)
    app.router.add_get("/api/callbacks", list_callbacks)
    add_auth_routes(app, store, auth_secret or desk_secret or secrets.token_bytes(32),
                    admin_token=token)
    from ivr.web.live import add_live_routes

    add_live_routes(app, store, sessions)  # `sessions()`: this process's calls, to listen to
    if desk_secret is not None:
        from ivr.web.desk import add_desk_routes

        add_desk_routes(app, store, desk_agents, desk_secret)
    from ivr.web.dashboard import add_dashboard_routes

    add_dashboard_routes(app, store, recording_key=recording_key)  # plays .wav.enc files
    return app
