"""`GET /api/ready`: may a load balancer or systemd send this worker calls now?

`/api/health` answers as long as the process runs (liveness); readiness is stricter, and
each check names what an operator has to look at when it fails:

- ``models``: the ASR model and the dialplan's engine (prompts, recognisers) are loaded;
- ``sip``: the SIP transport is bound and its thread runs;
- ``accepting_calls``: the worker is not draining (SIGTERM: new calls get 503);
- ``inference`` (workers using the machine's inference server, `asr.service: shared`): the
  server answers on its socket (a restarted one is reconnected to within a second);
- ``database``: a real write through the process's store writer (the path every call's
  events take) commits and reads back within `PROBE_TIMEOUT_S`. A read-only file, a full
  disk, a lock held by another process or a lost PostgreSQL server fail here, where a read
  would not notice.

The endpoint needs no token, so it must be cheap and say nothing secret: one probe write per
`PROBE_EVERY_S` at most whatever the request rate (concurrent requests share the result),
and failures are reported by check name and error class, never with paths, URLs or messages
that could carry a DSN.

Under systemd (`config/systemd/ivr.service`, ``Type=notify``) `notify_systemd` says
``READY=1`` once the service is up, so `systemctl start` returns and units ordered after it
start only when calls can be answered, and ``STOPPING=1`` when it drains.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ivr.storage.writer import Write

if TYPE_CHECKING:
    from ivr.server import IvrService
    from ivr.storage.call_store import CallStore

log = logging.getLogger("ivr.readiness")

PROBE_EVERY_S = 1.0  # at most one probe write per second, whatever the request rate
PROBE_TIMEOUT_S = 2.0  # queued writes not committed by then: not ready


@dataclass(frozen=True)
class Check:
    ok: bool
    detail: str = ""


ReadyReport = dict[str, Any]  # {"ready": bool, "failed": [names], "checks": {name: {...}}}
ReadySource = Callable[[], Awaitable[ReadyReport]]


def report(checks: dict[str, Check]) -> ReadyReport:
    failed = [name for name, c in checks.items() if not c.ok]
    return {"ready": not failed, "failed": failed,
            "checks": {name: {"ok": c.ok, **({"detail": c.detail} if c.detail else {})}
                       for name, c in checks.items()}}


class DbWriteProbe:
    """Updates this worker's `seen_at` in the shared `workers` table through the store's
    writer, waits for the commit and reads the value back."""

    def __init__(self, store: CallStore, worker_id: str, every_s: float = PROBE_EVERY_S,
                 timeout_s: float = PROBE_TIMEOUT_S) -> None:
        self.store, self.worker_id = store, worker_id
        self.every_s, self.timeout_s = every_s, timeout_s
        self._lock = asyncio.Lock()
        self._last: Check | None = None
        self._at = -float("inf")
        self.probes = 0  # probe writes made (tests check the rate limit)

    async def check(self) -> Check:
        async with self._lock:  # concurrent requests wait for one probe and share it
            if self._last is None or time.monotonic() - self._at >= self.every_s:
                result = await self._probe()
                if self._last is not None and result.ok != self._last.ok:
                    log.log(logging.INFO if result.ok else logging.WARNING,
                            "readiness: database %s%s", "writable again" if result.ok
                            else "not writable: ", result.detail)
                self._last, self._at = result, time.monotonic()
            return self._last

    async def _probe(self) -> Check:
        self.probes += 1
        stamp, worker = time.time(), self.worker_id

        def touch(db: Any) -> None:
            db.execute("update workers set seen_at = ? where id = ?", [stamp, worker])

        writer = self.store.writer
        try:
            if not writer.submit(Write(None, "ready_probe", touch)):
                return Check(False, "the store writer refused the write (queue full or "
                             "closed)")
            if not await asyncio.to_thread(writer.flush, self.timeout_s):
                return Check(False, f"writes not committed within {self.timeout_s:g} s")
            rows = list(self.store.db.query("select seen_at from workers where id = ?",
                                            [worker]))
        except Exception as e:  # noqa: BLE001 - reported as a failed check, by class only
            return Check(False, f"probe failed: {type(e).__name__}")
        if not rows:
            return Check(False, "this worker is missing from the workers table")
        if rows[0]["seen_at"] != stamp:
            return Check(False, "the probe write was not stored (see the service log)")
        return Check(True)


class Readiness:
    """The checks of one `IvrService`; `await readiness()` is the report."""

    def __init__(self, service: IvrService) -> None:
        self.service = service
        self.db = DbWriteProbe(service.store, service.store.worker or "")

    async def __call__(self) -> ReadyReport:
        s = self.service
        loaded = s.asr is not None and getattr(s, "engine", None) is not None and (
            not s.settings.emotion.enabled or getattr(s, "emotion_model", None) is not None)
        sip = s.endpoint is not None and s.endpoint.running
        checks = {
            "models": Check(loaded, "" if loaded else "still loading"),
            "sip": Check(sip, "" if sip else "transport not bound"),
            "accepting_calls": Check(not s.draining, "draining" if s.draining else ""),
            "database": await self.db.check(),
        }
        client = getattr(getattr(s, "asr_stack", None), "client", None)
        if client is not None:
            up = await client.reachable()
            checks["inference"] = Check(up, "" if up else "inference server unreachable")
        return report(checks)


def notify_systemd(state: str, environ: dict[str, str] | None = None) -> bool:
    """sd_notify(3) without libsystemd: one datagram to ``$NOTIFY_SOCKET`` (a path, or an
    abstract socket written ``@name``). False when not started by systemd or unreachable (a
    service must never fail because its supervisor is not listening)."""
    address = (os.environ if environ is None else environ).get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(state.encode())
    except OSError as e:
        log.warning("cannot notify systemd (%s): %s", state.split("\n")[0], e.strerror)
        return False
    return True
