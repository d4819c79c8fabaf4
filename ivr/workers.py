"""The worker processes of one service, as the shared database knows them.

Each `ivr serve` announces itself (its SIP address, which the calls it holds carry in
`calls.worker`, and the base URL of its HTTP API) at start-up, refreshes `seen_at` while it
runs and removes its row when it stops. Another worker's dashboard uses it to reach the
worker that holds a call (live listen is relayed there), and the API lists the workers.
"""

from __future__ import annotations

import os
import socket
import time
from typing import Any

HEARTBEAT_S = 10.0
STALE_AFTER_S = 3 * HEARTBEAT_S  # no heartbeat for this long: the worker is gone


def migrate(db: Any) -> None:
    """Migration 010: the `workers` table."""
    db["workers"].create(
        {"id": str, "http_url": str, "host": str, "pid": int, "started_at": float,
         "seen_at": float},
        pk="id",
    )


def announce(store: Any, worker_id: str, http_url: str | None) -> None:
    now = time.time()
    store.db["workers"].insert(
        {"id": worker_id, "http_url": http_url, "host": socket.gethostname(),
         "pid": os.getpid(), "started_at": now, "seen_at": now},
        pk="id", replace=True)


def heartbeat(store: Any, worker_id: str) -> None:
    store.db.execute("update workers set seen_at = ? where id = ?", [time.time(), worker_id])


def retire(store: Any, worker_id: str) -> None:
    store.db.execute("delete from workers where id = ?", [worker_id])


def http_url_of(store: Any, worker_id: str | None) -> str | None:
    """The HTTP API of a live worker (None when unknown, stopped or silent too long)."""
    if not worker_id:
        return None
    rows = list(store.db.query("select http_url, seen_at from workers where id = ?",
                               [worker_id]))
    if not rows or not rows[0]["http_url"]:
        return None
    if time.time() - (rows[0]["seen_at"] or 0) > STALE_AFTER_S:
        return None
    return str(rows[0]["http_url"])


def live_workers(store: Any) -> list[dict[str, Any]]:
    cutoff = time.time() - STALE_AFTER_S
    return list(store.db.query(
        "select * from workers where seen_at >= ? order by id", [cutoff]))


def own_http_url(http_host: str, http_port: int, public_host: str | None) -> str | None:
    """How other workers reach this one's API (None with the API off)."""
    if not http_port:
        return None
    host = http_host
    if host in ("0.0.0.0", "::", ""):
        host = public_host or "127.0.0.1"
    return f"http://{host}:{http_port}"
