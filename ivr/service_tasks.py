"""The service's periodic background work: retention purges and the worker heartbeat."""

from __future__ import annotations

import asyncio
import logging

from ivr import workers
from ivr.config import Settings
from ivr.storage.call_store import CallStore, open_store

log = logging.getLogger("ivr.server")


async def purge_loop(settings: Settings) -> None:
    """Apply the retention periods every `privacy.purge_every_s` (the first time at
    start-up), off the event loop on a connection of its own."""
    while True:
        try:
            await asyncio.to_thread(purge_once, settings)
        except Exception:  # noqa: BLE001 - retried next period; the calls go on
            log.exception("purge failed")
        await asyncio.sleep(settings.privacy.purge_every_s)


def purge_once(settings: Settings) -> dict[str, int]:
    """One retention pass on its own connection (SQLite connections stay in their thread)."""
    from ivr.privacy.retention import purge

    store = open_store(settings.database_url, settings.db_path)
    try:
        return purge(store, settings)
    finally:
        store.close()


async def heartbeat_loop(store: CallStore) -> None:
    """Keep this worker's row in the shared `workers` table fresh."""
    while True:
        await asyncio.sleep(workers.HEARTBEAT_S)
        try:
            workers.heartbeat(store, store.worker or "")
        except Exception:  # noqa: BLE001 - the next beat retries; calls are unaffected
            log.exception("worker heartbeat failed")
