"""The live-agent desktop: a web page where an agent signs in, sees the caller's summary the
moment their phone rings (Server-Sent Events) and marks the call's outcome.

Everything is read from shared storage (the `agents` row, the call, its turns and events), so
the desk works whichever worker process handles the call; each open page polls its agent's
row every `poll_s` seconds. Routes (`/desk/api/*` answer 401 JSON without a valid cookie):

    GET  /desk                         the page (sign-in form, or the desk when signed in)
    GET  /desk/static/...              its script and style sheet
    POST /desk/login                   {agent, password} (JSON or form) -> session cookie;
                                       `agent` is a configured agent id (its password_hash)
                                       or the name of an agent user (`ivr user add`)
    POST /desk/logout                  clears the cookie; offline unless on a call
    GET  /desk/api/me                  the agent: id, name, status, queues, current_call
    POST /desk/api/status              {status: available|offline}; 409 while busy
    GET  /desk/api/events              text/event-stream: status, call, update, keepalive
    GET  /desk/api/calls/{id}          the call card (own calls only)
    POST /desk/api/calls/{id}/outcome  {outcome, note}
    GET  /desk/api/history             My calls: the calls this agent took or picked up,
                                       newest first (`ivr.web.desk_calls`); each opens
                                       with the outcome form, to record or change it
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from aiohttp import web

from ivr.escalation.agents import AgentConfig, AgentDirectory
from ivr.escalation.events import AgentOutcome
from ivr.privacy.audit import append as audit_append
from ivr.storage.call_store import CallStore
from ivr.web import sse
from ivr.web.auth import (
    SessionSigner,
    clear_session_cookie,
    dummy_hash,
    set_session_cookie,
    verify_password,
)
from ivr.web.card import call_card, call_state
from ivr.web.desk_calls import answered_by, intent_labels, my_calls
from ivr.web.edge import install_security_headers, read_json
from ivr.web.sessions import SessionRevocations
from ivr.web.throttle import SignInThrottle
from ivr.web.users import UserStore

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
COOKIE = "ivr_desk"
COOKIE_PATH = "/desk"
ROLE = "agent"
OUTCOMES = ("resolved", "unresolved", "callback_needed", "transferred", "other")
NOTE_CHARS = 2000
HISTORY_LIMIT = 50
KEEPALIVE_S = 15.0
MAX_STREAMS_PER_AGENT = 4

Handler = Callable[[web.Request, str], Awaitable[web.StreamResponse]]


def _error(status: int, message: str, **headers: str) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers or None)


async def _body(request: web.Request) -> dict[str, Any] | None:
    """The request's JSON object or form fields; None when neither parses (`read_json`)."""
    if request.content_type == "application/json":
        try:
            data = await read_json(request)
        except ValueError:
            return None
        return data if isinstance(data, dict) else None
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return dict(await request.post())
    return None


class AgentDesk:
    """Handlers of the agent desktop over one store and the configured agents."""

    def __init__(self, store: CallStore, agents: Sequence[AgentConfig], secret: bytes,
                 poll_s: float) -> None:
        self.store = store
        self.directory = AgentDirectory(store)
        self.configs = {a.id: a for a in agents}
        self.signer = SessionSigner(secret)
        self.throttle = SignInThrottle(db=store.db, realm="desk")
        self.revocations = SessionRevocations(store.db)
        self.users = UserStore(store)
        self.poll_s = poll_s
        self.closing = asyncio.Event()
        self.streams: dict[asyncio.Task[Any], str] = {}
        page = (STATIC_DIR / "desk.html").read_text(encoding="utf-8")
        self.pages = {False: page, True: page.replace('data-signed-in="no"',
                                                      'data-signed-in="yes"')}

    # ------------------------------------------------------------ sessions
    def agent_of(self, request: web.Request) -> str | None:
        """The signed-in agent of a request (a valid cookie of a configured agent that was
        not signed out)."""
        cookie = request.cookies.get(COOKIE) or ""
        principal = self.signer.verify(cookie, ROLE)
        if principal is None or principal.id not in self.configs \
                or self.revocations.is_revoked(cookie):
            return None
        return principal.id

    def _audit(self, request: web.Request, action: str, user: str, **detail: Any) -> None:
        audit_append(self.store.db, action, user=user, role=ROLE, ip=request.remote,
                     detail={"via": "desk", **detail})  # audited like /login's sign-ins

    def signed_in(self, handler: Handler) -> Callable[[web.Request], Awaitable[Any]]:
        """Wrap an API handler: 401 JSON without a valid session."""
        async def guarded(request: web.Request) -> web.StreamResponse:
            agent_id = self.agent_of(request)
            if agent_id is None:
                return _error(401, "not signed in")
            return await handler(request, agent_id)
        return guarded

    async def page(self, request: web.Request) -> web.Response:
        return web.Response(text=self.pages[self.agent_of(request) is not None],
                            content_type="text/html", charset="utf-8",
                            headers={"Cache-Control": "no-store"})

    async def login(self, request: web.Request) -> web.StreamResponse:
        body = await _body(request)
        if body is None:
            return _error(400, "send JSON or a form with agent and password")
        agent_id = str(body.get("agent") or "").strip()
        password = str(body.get("password") or "")
        if not agent_id or not password:
            return _error(400, "agent and password are required")
        verdict = self.throttle.check(agent_id, request.remote)
        if verdict.retry_after_s > 0:
            self._audit(request, "sign_in_failed", agent_id, reason="rate_limited")
            return _error(429, "too many failed sign-ins; try again later",
                          **{"Retry-After": str(int(verdict.retry_after_s) + 1)})
        await asyncio.sleep(verdict.delay_s)
        config = self.configs.get(agent_id)
        stored = config.password_hash if config is not None else ""
        ok = await asyncio.get_running_loop().run_in_executor(
            None, lambda: verify_password(password, stored or dummy_hash()))
        signed = agent_id if ok and stored else await self._user_agent(agent_id, password)
        if signed is None:
            self.throttle.failed(agent_id, request.remote)
            self._audit(request, "sign_in_failed", agent_id)
            log.warning("desk sign-in failed for agent %r from %s", agent_id, request.remote)
            return _error(401, "wrong agent or password")
        self.throttle.succeeded(agent_id, request.remote)
        self._audit(request, "sign_in", agent_id, agent=signed)
        agent_id = signed
        with self.store.db.conn:
            self.store.db.execute(
                "update agents set status = 'available', since = ? "
                "where id = ? and status = 'offline'", [time.time(), agent_id])
        log.info("desk: agent %s signed in", agent_id)
        if request.content_type == "application/json":
            resp: web.StreamResponse = web.json_response(self.me_dict(agent_id))
        else:
            resp = _see_other("/desk")
        set_session_cookie(resp, COOKIE, self.signer.issue(agent_id, ROLE), path=COOKIE_PATH,
                           max_age=self.signer.ttl_s, secure=request.secure)
        return resp

    async def _user_agent(self, username: str, password: str) -> str | None:
        """The configured agent of a `users` row (role agent, `ivr user add`) whose name and
        password these are, else None."""
        user = await self.users.verify_async(username, password)
        if user is None or user.role != "agent" or user.agent_id not in self.configs:
            return None
        return user.agent_id

    async def logout(self, request: web.Request) -> web.StreamResponse:
        agent_id = self.agent_of(request)
        if agent_id is not None:
            self.revocations.revoke(request.cookies[COOKIE], time.time() + self.signer.ttl_s)
            self._audit(request, "sign_out", agent_id)
            with self.store.db.conn:
                self.store.db.execute(
                    "update agents set status = 'offline', since = ?, current_call = null "
                    "where id = ? and status != 'busy'", [time.time(), agent_id])
            log.info("desk: agent %s signed out", agent_id)
        if request.content_type == "application/json":
            resp: web.StreamResponse = web.json_response({"signed_out": True})
        else:
            resp = _see_other("/desk")
        clear_session_cookie(resp, COOKIE, path=COOKIE_PATH)
        return resp

    # ------------------------------------------------------------ agent
    def me_dict(self, agent_id: str) -> dict[str, Any]:
        config = self.configs[agent_id]
        agent = self.directory.get(agent_id)
        return {"id": agent_id, "name": config.name or agent_id,
                "status": agent.status if agent else "offline",
                "current_call": agent.current_call if agent else None,
                "since": agent.since if agent else None,
                "queues": config.queues, "languages": config.languages,
                "topics": config.topics}

    async def me(self, _: web.Request, agent_id: str) -> web.Response:
        return web.json_response(self.me_dict(agent_id))

    async def set_status(self, request: web.Request, agent_id: str) -> web.Response:
        body = await _body(request)
        status = body.get("status") if body else None
        if status not in ("available", "offline"):
            return _error(400, "status must be available or offline")
        if self.directory.get(agent_id) is None:
            return _error(404, "agent is not in the directory")
        with self.store.db.conn:
            cur = self.store.db.execute(
                "update agents set status = ?, since = ?, current_call = null "
                "where id = ? and status != 'busy'", [status, time.time(), agent_id])
        if cur.rowcount != 1:
            return _error(409, "on a call: the status changes when the call is over")
        return web.json_response(self.me_dict(agent_id))

    async def history(self, _: web.Request, agent_id: str) -> web.Response:
        """My calls: the agent's calls (`ivr.web.desk_calls`), each openable to record or
        change its outcome."""
        calls = my_calls(self.store, agent_id, HISTORY_LIMIT)
        labels = intent_labels(self.store, [c["id"] for c in calls])
        for c in calls:
            c["intent_label"] = labels.get(c["id"])
        return web.json_response({"calls": calls})

    # ------------------------------------------------------------ calls
    def _access(self, agent_id: str, call_id: str) -> web.Response | None:
        """None when the agent may see the call, else the 404/403 answer."""
        rows = list(self.store.db.query("select agent_id from calls where id = ?", [call_id]))
        if not rows:
            return _error(404, "no such call")
        if rows[0]["agent_id"] == agent_id:
            return None
        agent = self.directory.get(agent_id)
        if agent is not None and agent.current_call == call_id:
            return None
        if rows[0]["agent_id"] is None and answered_by(self.store, call_id, agent_id):
            return None  # picked up, never bridged: still theirs to mark (desk_calls.py)
        return _error(403, "not your call")

    async def get_call(self, request: web.Request, agent_id: str) -> web.Response:
        call_id = request.match_info["call_id"]
        refused = self._access(agent_id, call_id)
        if refused is not None:
            return refused
        return web.json_response(call_card(self.store, call_id, agent_id))

    async def outcome(self, request: web.Request, agent_id: str) -> web.Response:
        call_id = request.match_info["call_id"]
        refused = self._access(agent_id, call_id)
        if refused is not None:
            return refused
        body = await _body(request)
        if body is None:
            return _error(400, "send JSON: {outcome, note}")
        outcome, note = body.get("outcome"), body.get("note")
        note = "" if note is None else note
        if outcome not in OUTCOMES:
            return _error(400, f"outcome must be one of {', '.join(OUTCOMES)}")
        if not isinstance(note, str) or len(note) > NOTE_CHARS:
            return _error(400, f"note must be text of at most {NOTE_CHARS} characters")
        self.store.update_call(call_id, agent_outcome=outcome, agent_note=note)
        self.store.db.execute("update calls set agent_id = ? where id = ? and agent_id is null",
                              [agent_id, call_id])  # taken off the agent's row: theirs now
        marked = AgentOutcome(agent_id=agent_id, outcome=outcome, note=note)
        self.store.add_event(call_id, marked.TYPE, marked.data())
        log.info("desk: agent %s marked call %s %s", agent_id, call_id, outcome)
        return web.json_response({"call_id": call_id, "outcome": outcome, "note": note})

    # ------------------------------------------------------------ events
    async def events(self, request: web.Request, agent_id: str) -> web.StreamResponse:
        """Server-Sent Events: `status` on every status change, `call` with the full card
        when the agent gets a call, `update` when that call's hand-over state changes, and a
        keepalive comment every `KEEPALIVE_S` seconds."""
        if sum(1 for a in self.streams.values() if a == agent_id) >= MAX_STREAMS_PER_AGENT:
            return _error(429, "too many open desks for this agent")
        task = asyncio.current_task()
        assert task is not None
        resp = await sse.open_stream(request)
        self.streams[task] = agent_id
        try:
            await resp.write(b"retry: 2000\n\n")
            await self._stream(request, resp, agent_id)
        except ConnectionError:
            pass  # the client went away
        finally:
            self.streams.pop(task, None)
        return resp

    async def _stream(self, request: web.Request, resp: web.StreamResponse,
                      agent_id: str) -> None:
        last_status: tuple[str, str | None] | None = None
        call_id: str | None = None  # the call on screen, followed until the next one
        state: dict[str, Any] | None = None
        last_write = time.monotonic()
        while not self.closing.is_set() and self.agent_of(request) == agent_id:  # signed in
            if request.transport is None or request.transport.is_closing():
                return
            agent = self.directory.get(agent_id)
            status = (agent.status, agent.current_call) if agent else ("offline", None)
            out: list[bytes] = []
            if status != last_status:
                last_status = status
                out.append(sse.message("status", {"status": status[0],
                                                "current_call": status[1],
                                                "since": agent.since if agent else None}))
            if status[1] and status[1] != call_id:
                card = call_card(self.store, status[1], agent_id)
                if card is not None:
                    call_id = status[1]
                    state = call_state(self.store, call_id, agent_id)
                    out.append(sse.message("call", card))
            elif call_id is not None:
                now = call_state(self.store, call_id, agent_id)
                if now is not None and now != state:
                    update = dict(now)
                    if state is None or now["summary_version"] != state["summary_version"]:
                        update["card"] = call_card(self.store, call_id, agent_id)
                    state = now
                    out.append(sse.message("update", update))
            if not out and time.monotonic() - last_write >= KEEPALIVE_S:
                out.append(sse.KEEPALIVE)
            if out:
                await resp.write(b"".join(out))
                last_write = time.monotonic()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.closing.wait(), self.poll_s)

    async def shutdown(self, _: web.Application) -> None:
        """End every open stream (on_shutdown): they stop within one poll, the rest are
        cancelled after a second."""
        self.closing.set()
        tasks = list(self.streams)
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=1.0)
            for task in pending:
                task.cancel()


DESK_KEY = web.AppKey("agent_desk", AgentDesk)


def _see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


async def _to_desk(_: web.Request) -> web.Response:
    return _see_other("/desk")


def add_desk_routes(app: web.Application, store: CallStore, agents: Sequence[AgentConfig],
                    secret: bytes, poll_s: float = 0.5) -> None:
    """Serve the agent desktop under `/desk` on `app` (see the module doc for the routes).
    `agents` are the configured agents (names, password hashes); `secret` signs the session
    cookies (`ivr.web.auth.load_or_create_secret`); open pages poll storage every `poll_s`."""
    desk = AgentDesk(store, agents, secret, poll_s)
    app[DESK_KEY] = desk
    install_security_headers(app)
    app.on_shutdown.append(desk.shutdown)
    r = app.router
    r.add_get("/desk", desk.page)
    r.add_get("/desk/", _to_desk)
    r.add_static("/desk/static/", STATIC_DIR)
    r.add_post("/desk/login", desk.login)
    r.add_post("/desk/logout", desk.logout)
    r.add_get("/desk/api/me", desk.signed_in(desk.me))
    r.add_post("/desk/api/status", desk.signed_in(desk.set_status))
    r.add_get("/desk/api/events", desk.signed_in(desk.events))
    r.add_get("/desk/api/calls/{call_id}", desk.signed_in(desk.get_call))
    r.add_post("/desk/api/calls/{call_id}/outcome", desk.signed_in(desk.outcome))
    r.add_get("/desk/api/history", desk.signed_in(desk.history))
