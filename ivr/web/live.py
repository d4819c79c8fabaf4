"""Supervisor live board and live listen (issue 7).

The board reads every ``active`` call in shared storage, whichever worker holds it, with its
events (node, transcript, emotion) and review flags (`ivr.web.flags.flags_for`): one row per
call, built in `ivr.web.live_rows`. Live listen
needs the audio, which only the worker holding the call has: `/dash/api/live/{call_id}/listen`
streams it from this process's sessions or relays the WebSocket of the worker holding the
call (shared `workers` table; the cookie or token is passed on, checked and audited again).

Routes (supervisor or admin only):

- ``GET /dash/live``: the page (`static/live.html`, `live.js`, `live.css`).
- ``GET /dash/api/live``: JSON snapshot ``{"now", "calls": [...]}``, flagged calls first (most
  severe, then longest), then the longest calls.
- ``GET /dash/api/live/events``: Server-Sent Events, a ``snapshot`` event on every change and a
  keepalive comment every `KEEPALIVE_S`; ends on client disconnect and app shutdown.
- ``GET /dash/api/live/{call_id}/listen``: WebSocket; first a JSON text message with the
  format, then binary messages of 16-bit little-endian stereo PCM (left: the caller, right:
  what the caller hears: prompts, the agent). Closed when the call ends. Audited.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import numpy as np
from aiohttp import WSMsgType, web

from ivr.storage.call_store import CallStore
from ivr.web import sse
from ivr.web.auth import AUTH_KEY, PAGE_HEADERS, audit, can_see_call, require
from ivr.web.live_rows import holder_url, snapshot

STATIC_DIR = Path(__file__).parent / "static"
ROLES = ("supervisor", "admin")
POLL_S = 0.5  # how often a stream looks for changes
CACHE_S = 0.4  # one database read serves every open board within this time
KEEPALIVE_S = 15.0
RECHECK_S = 5.0  # an open event stream re-checks its sign-in this often (sign-out ends it)
LISTEN_QUEUE = 100  # batches (a few ms each) waiting per listener; more are dropped
MAX_LAG_S = 0.3  # one side silent for this long: the other is sent with silence beside it

SessionsProvider = Callable[[], Mapping[str, Any] | None]


class StereoPacker:
    """Pairs caller and far-side PCM into interleaved stereo; a side that stays silent (no
    frames) for `max_lag` bytes is filled with zeros, so one direction never stalls the other."""

    def __init__(self, sample_rate: int) -> None:
        self.left, self.right = bytearray(), bytearray()
        self.max_lag = int(sample_rate * MAX_LAG_S) * 2

    def push(self, caller: bytes, far: bytes) -> bytes:
        self.left += caller
        self.right += far
        for a, b in ((self.left, self.right), (self.right, self.left)):
            if len(a) - len(b) > self.max_lag:
                b += bytes(len(a) - len(b))
        n = min(len(self.left), len(self.right)) // 2 * 2
        if n == 0:
            return b""
        out = np.empty(n, dtype="<i2")  # n // 2 samples per side
        out[0::2] = np.frombuffer(bytes(self.left[:n]), "<i2")
        out[1::2] = np.frombuffer(bytes(self.right[:n]), "<i2")
        del self.left[:n], self.right[:n]
        return out.tobytes()


class LiveBoard:
    """Handlers of the live board over one store and this process's sessions."""

    def __init__(self, store: CallStore, sessions: SessionsProvider,
                 poll_s: float = POLL_S) -> None:
        self.store = store
        self.sessions = sessions
        self.poll_s = poll_s
        self.closing = asyncio.Event()
        self.tasks: set[asyncio.Task[Any]] = set()
        self._cache: tuple[float, dict[str, Any]] | None = None

    def current(self) -> dict[str, Any]:
        """The snapshot, read at most once per `CACHE_S` for all boards."""
        mono = time.monotonic()
        if self._cache is None or mono - self._cache[0] >= CACHE_S:
            self._cache = (mono, snapshot(self.store, self.sessions()))
        return self._cache[1]

    def visible(self, request: web.Request) -> dict[str, Any]:
        snap = self.current()
        user = request.get("user")
        return {**snap, "calls": [c for c in snap["calls"] if can_see_call(user, c)]}

    async def page(self, _: web.Request) -> web.Response:
        return web.Response(text=(STATIC_DIR / "live.html").read_text(encoding="utf-8"),
                            content_type="text/html", charset="utf-8", headers=PAGE_HEADERS)

    async def api(self, request: web.Request) -> web.Response:
        return web.json_response(self.visible(request), headers={"Cache-Control": "no-store"},
                                 dumps=lambda d: json.dumps(d, ensure_ascii=False, default=str))

    def _track(self) -> asyncio.Task[Any]:
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        return task

    async def events(self, request: web.Request) -> web.StreamResponse:
        """SSE: the snapshot whenever a call, node, line, emotion or flag changes."""
        resp = await sse.open_stream(request)
        task = self._track()
        try:
            await resp.write(b"retry: 2000\n\n")
            last, last_write, checked = None, time.monotonic(), time.monotonic()
            while not self.closing.is_set():
                if request.transport is None or request.transport.is_closing():
                    break
                if time.monotonic() - checked >= RECHECK_S:
                    checked = time.monotonic()
                    auth = request.app.get(AUTH_KEY)
                    if auth is not None and auth.resolve(request) is None:
                        break  # signed out, disabled or revoked since the stream opened
                snap = self.visible(request)
                key = json.dumps([{k: v for k, v in c.items() if k != "duration_s"}
                                  for c in snap["calls"]], default=str)
                if key != last:
                    last = key
                    await resp.write(sse.message("snapshot", snap))
                    last_write = time.monotonic()
                elif time.monotonic() - last_write >= KEEPALIVE_S:
                    await resp.write(sse.KEEPALIVE)
                    last_write = time.monotonic()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.closing.wait(), self.poll_s)
        except ConnectionError:
            pass  # the client went away
        finally:
            self.tasks.discard(task)
        return resp

    async def listen(self, request: web.Request) -> web.StreamResponse:
        """WebSocket: the call's audio both ways, from the session this process holds."""
        call_id = request.match_info["call_id"]
        origin = request.headers.get("Origin")
        if origin and urlsplit(origin).netloc != request.host:
            return web.json_response({"error": "cross-origin listen refused"}, status=403)
        call = self.store.get_call(call_id)
        if call is None or call.get("status") != "active":
            return web.json_response({"error": "no such active call"}, status=404)
        if not can_see_call(request.get("user"), call):
            return web.json_response({"error": "not your call"}, status=403)
        session = (self.sessions() or {}).get(call_id)
        if session is None:
            if (base := holder_url(self.store, call)) is not None:
                return await self._relay(request, call_id, base)
            return web.json_response({"error": "the worker holding the call is not reachable"},
                                     status=409)
        ws = web.WebSocketResponse(heartbeat=20.0, max_msg_size=4096)
        await ws.prepare(request)
        audit(request, "listen_live", call_id=call_id)
        task = self._track()
        queue: asyncio.Queue[tuple[bytes, bytes]] = asyncio.Queue(LISTEN_QUEUE)
        dropped = 0

        def tap(caller: list[bytes], far: list[bytes]) -> None:
            nonlocal dropped
            try:
                queue.put_nowait((b"".join(caller), b"".join(far)))
            except asyncio.QueueFull:
                dropped += 1  # a slow listener loses audio; the call never waits

        rate = int(session.media.clock_rate)
        remove = session.tap_audio(tap)
        reader = asyncio.create_task(self._read_until_closed(ws))
        try:
            await ws.send_json({"type": "format", "call_id": call_id, "sample_rate": rate,
                                "channels": 2, "encoding": "s16le",
                                "left": "caller", "right": "far"})
            packer = StereoPacker(rate)
            while not (self.closing.is_set() or reader.done() or session.hungup.is_set()):
                try:
                    caller, far = await asyncio.wait_for(queue.get(), self.poll_s)
                except TimeoutError:
                    continue
                if chunk := packer.push(caller, far):
                    await ws.send_bytes(chunk)
            if not ws.closed:
                reason = "call ended" if session.hungup.is_set() else "closing"
                await ws.send_json({"type": "end", "reason": reason, "dropped": dropped})
        except ConnectionError:
            pass  # the listener went away
        finally:
            remove()
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
            with contextlib.suppress(Exception):
                await ws.close()
            self.tasks.discard(task)
        return ws

    async def _relay(self, request: web.Request, call_id: str,
                     base: str) -> web.StreamResponse:
        """Live listen of a call another worker holds: that worker's WebSocket, passed on."""
        headers = {k: v for k in ("Cookie", "Authorization") if (v := request.headers.get(k))}
        url = f"{base}/dash/api/live/{call_id}/listen"
        async with aiohttp.ClientSession() as http:
            try:
                upstream = await http.ws_connect(url, headers=headers, heartbeat=20.0,
                                                 timeout=aiohttp.ClientWSTimeout(ws_close=5),
                                                 max_msg_size=1 << 20)
            except (aiohttp.ClientError, TimeoutError) as e:
                return web.json_response(
                    {"error": f"the worker holding the call refused listen: {e}"}, status=502)
            ws = web.WebSocketResponse(heartbeat=20.0, max_msg_size=4096)
            await ws.prepare(request)
            audit(request, "listen_live", call_id=call_id, relayed_from=base)
            task = self._track()
            reader = asyncio.create_task(self._read_until_closed(ws))
            try:
                while not (self.closing.is_set() or reader.done()):
                    try:
                        msg = await asyncio.wait_for(upstream.receive(), self.poll_s)
                    except TimeoutError:
                        continue
                    if msg.type == WSMsgType.BINARY:
                        await ws.send_bytes(msg.data)
                    elif msg.type == WSMsgType.TEXT:
                        await ws.send_str(msg.data)
                    else:
                        break  # the holder closed: the call ended or it is stopping
            except ConnectionError:
                pass  # the listener went away
            finally:
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)
                await upstream.close()
                with contextlib.suppress(Exception):
                    await ws.close()
                self.tasks.discard(task)
        return ws

    @staticmethod
    async def _read_until_closed(ws: web.WebSocketResponse) -> None:
        async for msg in ws:  # nothing is expected from the browser; a close ends the loop
            if msg.type == WSMsgType.ERROR:
                return

    async def shutdown(self, _: web.Application) -> None:
        """End every open stream and listener (on_shutdown), cancelling stragglers."""
        self.closing.set()
        tasks = list(self.tasks)
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=1.0)
            for task in pending:
                task.cancel()


async def _asset(request: web.Request) -> web.FileResponse:
    name = request.match_info["name"]
    if name not in ("live.js", "live.css"):
        raise web.HTTPNotFound()
    return web.FileResponse(STATIC_DIR / name, headers={"Cache-Control": "no-cache"})


LIVE_KEY = web.AppKey("live_board", LiveBoard)


def add_live_routes(app: web.Application, store: CallStore,
                    sessions_provider: SessionsProvider | None = None) -> LiveBoard:
    """Add the live board's routes to `app`; `sessions_provider()` returns this process's
    sessions by call id (None or an empty dict: nothing to listen to here)."""
    board = LiveBoard(store, sessions_provider or (lambda: None))
    app[LIVE_KEY] = board
    guard = require(*ROLES)
    app.router.add_get("/dash/live", guard(board.page))
    app.router.add_get("/dash/live/{name}", _asset)
    app.router.add_get("/dash/api/live", guard(board.api))
    app.router.add_get("/dash/api/live/events", guard(board.events))
    app.router.add_get("/dash/api/live/{call_id}/listen", guard(board.listen))
    app.on_shutdown.append(board.shutdown)
    return board
