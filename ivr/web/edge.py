"""What every answer of the web app carries and what every request body may be.

- `security_headers` runs on every response as it is prepared (an `on_response_prepare`
  hook, not a middleware: it also reaches static files, the 404s of the router, the streams
  that handlers prepare themselves, and the 500 page). Each page used to set its own headers
  and the dashboard's pages set none, so they could be framed (clickjacking) and had no CSP
  (issue 15). Headers a handler set itself are kept (`setdefault`): the login page's CSP, for
  instance.
- `read_json` reads a request body as JSON with a size cap (413) and a nesting cap (400)
  checked *before* parsing: 200 KB of ``[[[[...`` made `json.loads` raise RecursionError,
  which nothing caught, so `/login` answered 500 with a traceback in the log.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from aiohttp import web

MAX_JSON_BYTES = 64 * 1024  # the largest legitimate body (a review note) is a few KB
MAX_JSON_DEPTH = 32
BODY_TIMEOUT_S = 10.0  # a body sent slower than this (a slowloris) is refused with 408
MAX_BODY_BYTES = 64 * 1024  # `client_max_size` of the app: forms too
PAGE_CSP = ("default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
            "base-uri 'none'; form-action 'self'")
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.S)  # strings skipped as a whole


async def security_headers(_: web.Request, response: web.StreamResponse) -> None:
    """`SECURITY_HEADERS` on every response; HTML pages also get `PAGE_CSP` (same-origin
    scripts, styles and connections only, never framed)."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if response.content_type == "text/html":
        response.headers.setdefault("Content-Security-Policy", PAGE_CSP)


def install_security_headers(app: web.Application) -> None:
    """Add `security_headers` to `app` once (several route groups may ask)."""
    if security_headers not in app.on_response_prepare:
        app.on_response_prepare.append(security_headers)


def json_depth(text: str) -> int:
    """How deeply arrays and objects nest in `text` (brackets inside strings do not count);
    linear time and no recursion, so it is safe on hostile input."""
    depth = deepest = 0
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
            deepest = max(deepest, depth)
        elif token in ("]", "}"):
            depth -= 1
    return deepest


def _refusal(cls: type[web.HTTPException], message: str, **args: Any) -> web.HTTPException:
    return cls(text=json.dumps({"error": message}), content_type="application/json", **args)


async def read_json(request: web.Request, *, max_bytes: int = MAX_JSON_BYTES,
                    max_depth: int = MAX_JSON_DEPTH) -> Any:
    """The request body parsed as JSON. Raises 413 (`web.HTTPRequestEntityTooLarge`) past
    `max_bytes`, without reading more than that, 408 when it takes longer than
    `BODY_TIMEOUT_S` to arrive, and 400 when nested deeper than
    `max_depth`; ValueError when the body is not UTF-8 JSON, as `request.json()` did."""
    def too_large() -> web.HTTPException:
        return _refusal(web.HTTPRequestEntityTooLarge, f"the body is over {max_bytes} bytes",
                        max_size=max_bytes, actual_size=request.content_length or max_bytes + 1)

    if request.content_length is not None and request.content_length > max_bytes:
        raise too_large()
    body = bytearray()
    try:
        async with asyncio.timeout(BODY_TIMEOUT_S):
            while chunk := await request.content.read(max_bytes + 1 - len(body)):
                body += chunk
                if len(body) > max_bytes:
                    raise too_large()
    except TimeoutError:
        raise _refusal(web.HTTPRequestTimeout,
                       f"the body did not arrive within {BODY_TIMEOUT_S:.0f} s") from None
    text = body.decode("utf-8")
    if json_depth(text) > max_depth:
        raise _refusal(web.HTTPBadRequest, f"JSON nested deeper than {max_depth} levels")
    return json.loads(text)
