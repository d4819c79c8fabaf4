"""HTTP JSON API (aiohttp): health, calls, one call with turns, timings and events.

Every route but `/api/health` needs `Authorization: Bearer <api_token>`. The agent desktop
(`/desk`, `ivr.web.desk`) is served by the same app when a session secret is given; it signs
agents in with its own cookie, so the bearer token is not asked there.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ivr.storage import CallStore

if TYPE_CHECKING:
    from ivr.agents import AgentConfig

HealthSource = Callable[[], dict[str, Any]]


def _ms(later: float | None, earlier: float | None) -> int | None:
    if later is None or earlier is None:
        return None
    return round((later - earlier) * 1000)


def turn_timings(turn: dict[str, Any]) -> dict[str, int | None]:
    """Per-turn latencies in milliseconds from the stored timestamps."""
    return {
        "speech_ms": _ms(turn.get("speech_end"), turn.get("speech_start")),
        "eos_to_asr_ms": _ms(turn.get("asr_done"), turn.get("speech_end")),
        "eos_to_reply_audio_ms": _ms(turn.get("reply_first_audio"), turn.get("speech_end")),
        "asr_ms": None if turn.get("asr_seconds") is None else round(turn["asr_seconds"] * 1000),
    }


def _cookie_signed(path: str) -> bool:
    """Paths of the web pages, which sign in with their own session cookie."""
    return path == "/desk" or path.startswith("/desk/")


def build_app(store: CallStore, token: str, health: HealthSource, *,
              desk_agents: Sequence[AgentConfig] = (),
              desk_secret: bytes | None = None) -> web.Application:
    """The API app; with `desk_secret`, the agent desktop for `desk_agents` too."""

    @web.middleware
    async def auth(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path != "/api/health" and not _cookie_signed(request.path):
            given = request.headers.get("Authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                return web.json_response(
                    {"error": "missing or wrong bearer token"}, status=401,
                    headers={"WWW-Authenticate": "Bearer"})
        return await handler(request)

    async def get_health(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "time": time.time(), **health()})

    async def list_calls(request: web.Request) -> web.Response:
        q = request.query
        try:
            limit = min(500, max(1, int(q.get("limit", "50"))))
            offset = max(0, int(q.get("offset", "0")))
        except ValueError:
            return web.json_response({"error": "limit and offset must be integers"}, status=400)
        calls = store.list_calls(limit, offset, status=q.get("status"), caller=q.get("caller"))
        return web.json_response({"calls": calls, "limit": limit, "offset": offset})

    async def get_call(request: web.Request) -> web.Response:
        call = store.get_call(request.match_info["call_id"])
        if call is None:
            return web.json_response({"error": "no such call"}, status=404)
        for turn in call["turns"]:
            turn["timings"] = turn_timings(turn)
        return web.json_response(call)

    async def list_callbacks(request: web.Request) -> web.Response:
        """Callback requests and voicemails left while no agent was free, newest first."""
        status = request.query.get("status") or None
        return web.json_response({"callbacks": store.callbacks(status)})

    async def get_summary(request: web.Request) -> web.Response:
        from ivr.summary import render_text, summarise

        call = store.get_call(request.match_info["call_id"])
        if call is None:
            return web.json_response({"error": "no such call"}, status=404)
        history = store.list_calls(limit=50, caller=call.get("caller"))
        summary = summarise(call, history, None)
        language = request.query.get("language") or call.get("language") or "zh-CN"
        return web.json_response({**summary.as_dict(), "text": render_text(summary, language),
                                  "whisper": render_text(summary, language, whisper=True)})

    app = web.Application(middlewares=[auth])
    app.router.add_get("/api/health", get_health)
    app.router.add_get("/api/calls", list_calls)
    app.router.add_get("/api/calls/{call_id}", get_call)
    app.router.add_get("/api/calls/{call_id}/summary", get_summary)
    app.router.add_get("/api/callbacks", list_callbacks)
    if desk_secret is not None:
        from ivr.web.desk import add_desk_routes

        add_desk_routes(app, store, desk_agents, desk_secret)
    return app
