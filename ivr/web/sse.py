"""Server-Sent Events as the live board (`ivr.web.live`) and the agent desk (`ivr.web.desk`)
send them: one wire format, so both pages' scripts read the same thing.

A stream is never cached nor buffered by a proxy (`X-Accel-Buffering: no` for nginx): an event
must reach the page when it happens. An event's data is compact JSON on one line (UTF-8, not
escaped; values JSON cannot hold, such as times, as their text); a comment line keeps an idle
connection open through proxies that close quiet ones.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

__all__ = ["KEEPALIVE", "message", "open_stream"]

HEADERS = {"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-store",
           "X-Accel-Buffering": "no"}
KEEPALIVE = b": keepalive\n\n"


def message(name: str, data: Any) -> bytes:
    """One event message: its name and its data as one line of JSON (not named `event`:
    call events are `event(kind, {...})` calls, which tests/unit/test_call_events.py checks
    against ivr/call/events.py)."""
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)
    return f"event: {name}\ndata: {payload}\n\n".encode()


async def open_stream(request: web.Request) -> web.StreamResponse:
    """The response of an event stream, its headers sent."""
    resp = web.StreamResponse(headers=HEADERS)
    await resp.prepare(request)
    return resp
