"""The HTTP listener's own limits: how many connections, how long a silent one may stay, and
how many file descriptors the process may open.

Why: the HTTP server shares its process with pjsua, which opens two UDP sockets (RTP, RTCP)
per call. 1,010 idle TCP connections to the HTTP port (no request, no sign-in) once pushed the
process's descriptor numbers past 1024, after which pjsua could not open RTP sockets and
every call failed (issue 15). aiohttp keeps a silent connection open for an hour by default
and admits any number of them. So:

- `ConnectionGate` is the listening socket's protocol factory: it admits at most `limit`
  connections; the next ones get a canned 503 and are closed at once, before aiohttp sees
  them. It counts in `connection_made` / `connection_lost`, which the loop calls one at a
  time, so a burst of accepts cannot overshoot the cap.
- `header_timeout_s` is aiohttp's `keepalive_timeout`: its timer starts when a connection
  opens and again after each answer, is not reset by a partial request head, and closes the
  connection if no complete head has arrived when it fires (`RequestHandler._process_keepalive`
  only closes a handler that is waiting for a request, never one that is answering).
- `raise_open_files_limit` lifts the soft RLIMIT_NOFILE to the hard limit, so that opening a
  socket does not fail with EMFILE at a soft limit of 1024. It does not make descriptors above
  1023 usable by pjsua's select()-based ioqueue (FD_SETSIZE): only the cap keeps the numbers
  low, which is why `http.max_connections` may not exceed 768.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

_BUSY_TEXT = b"too many open connections\n"
BUSY_ANSWER = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
               b"Content-Length: %d\r\nRetry-After: 5\r\nConnection: close\r\n\r\n%s"
               % (len(_BUSY_TEXT), _BUSY_TEXT))


class ConnectionGate:
    """Protocol factory admitting at most `limit` open connections to `server` (an aiohttp
    `web.Server`); `open` and `refused` are counters for tests and logs."""

    def __init__(self, server: web.Server, limit: int) -> None:
        if limit < 1:
            raise ValueError("the connection limit must be at least 1")
        self.server = server
        self.limit = limit
        self.open = 0
        self.refused = 0

    def __call__(self) -> asyncio.Protocol:
        return _GatedConnection(self)


class _GatedConnection(asyncio.Protocol):
    """One accepted socket: handed to a fresh aiohttp request handler when the gate has room,
    else answered 503 and closed. Every protocol callback is forwarded to the handler."""

    def __init__(self, gate: ConnectionGate) -> None:
        self.gate = gate
        self.inner: asyncio.Protocol | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        gate = self.gate
        if gate.open >= gate.limit:
            gate.refused += 1
            if gate.refused == 1 or gate.refused % 1000 == 0:
                log.warning("HTTP: %d connection(s) refused, %d open is the limit",
                            gate.refused, gate.limit)
            assert isinstance(transport, asyncio.WriteTransport)
            transport.write(BUSY_ANSWER)
            transport.close()
            return
        gate.open += 1
        self.inner = gate.server()
        self.inner.connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.inner is not None:
            self.gate.open -= 1
            inner, self.inner = self.inner, None
            inner.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.inner is not None:
            self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received() if self.inner is not None else None

    def pause_writing(self) -> None:
        if self.inner is not None:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        if self.inner is not None:
            self.inner.resume_writing()


class GatedTCPSite(web.BaseSite):
    """A TCP site like `web.TCPSite` whose sockets go through a `ConnectionGate`; stopped by
    the runner's `cleanup()` like any site."""

    def __init__(self, runner: web.BaseRunner, host: str, port: int, *,
                 max_connections: int, backlog: int = 128) -> None:
        super().__init__(runner, backlog=backlog)
        self._host, self._port = host, port
        self.max_connections = max_connections
        self.gate: ConnectionGate | None = None
        self.port = port

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self.port}"

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None, "call runner.setup() first"
        self.gate = ConnectionGate(server, self.max_connections)
        listener = await asyncio.get_running_loop().create_server(
            self.gate, self._host, self._port, backlog=self._backlog)
        self._server = listener
        if listener.sockets:
            self.port = int(listener.sockets[0].getsockname()[1])


async def serve_http(app: web.Application, host: str, port: int, *, max_connections: int,
                     header_timeout_s: float, **runner_args: Any
                     ) -> tuple[web.AppRunner, GatedTCPSite]:
    """Run `app` on host:port with both limits; `runner.cleanup()` stops it."""
    runner = web.AppRunner(app, keepalive_timeout=header_timeout_s, **runner_args)
    await runner.setup()
    site = GatedTCPSite(runner, host, port, max_connections=max_connections)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    log.info("HTTP on %s: at most %d connections, %g s for a request head", site.name,
             max_connections, header_timeout_s)
    return runner, site


def raise_open_files_limit() -> tuple[int, int]:
    """Lift the soft RLIMIT_NOFILE to the hard limit (capped at 1,048,576 when the hard one
    is unlimited) and log it; returns (soft, hard) as they are afterwards."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else 1 << 20
    if soft == resource.RLIM_INFINITY or soft >= target:
        log.info("open files limit: %s (hard %s)", soft, hard)
        return soft, hard
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError) as e:
        log.warning("cannot raise the open files limit from %d to %d: %s", soft, target, e)
        return soft, hard
    log.info("open files limit raised from %d to %d (hard %s)", soft, target, hard)
    return target, hard
