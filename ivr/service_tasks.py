"""The service's background work: retention purges, the worker heartbeat and the call-back
dialler."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from ivr import workers
from ivr.call.control import SipCallControl
from ivr.config import Settings
from ivr.storage.call_store import CallStore, open_store

if TYPE_CHECKING:
    from ivr.dialplan.models import Calendar
    from ivr.escalation.callback_dialler import CallbackDialler

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


def callback_dialler(service: Any) -> CallbackDialler:
    """The worker's call-back dialler (`ivr.escalation.callback_dialler`), wired to the
    service's SIP endpoint, prompts, agents and dialplan (`service`: the `IvrService`)."""
    from ivr.escalation.callback_call import CallbackCall
    from ivr.escalation.callback_dialler import CallbackDialler, booking_whisper, event_writer
    from telephony.sip_types import PJSUA_HARD_CALL_CAP

    s: Settings = service.settings
    store: CallStore = service.store
    if s.callbacks.calendar and s.callbacks.calendar not in service.dialplan.plan.calendars:
        raise ValueError(f"callbacks.calendar {s.callbacks.calendar!r} is not a calendar of "
                         f"the dialplan (it has: {', '.join(service.dialplan.plan.calendars)})")
    http = s.http
    call = CallbackCall(
        SipCallControl(service.endpoint, service.legs), service.prompts, s.callbacks,
        agent_ring_s=s.escalation.ring_timeout_s,
        languages=service.dialplan.plan.languages,
        summary_url=(s.escalation.public_url or f"http://{http.host}:{http.port}").rstrip("/"),
        whisper=lambda call_id, language: booking_whisper(store, call_id, language),
        emit=event_writer(store))

    def can_dial() -> bool:  # two legs: the customer's and the agent's
        return (not service.draining and service.endpoint is not None
                and service.endpoint.active_calls() + 2 <= PJSUA_HARD_CALL_CAP)

    def calendar() -> Calendar | None:
        name = s.callbacks.calendar
        return service.dialplan.plan.calendars.get(name) if name else None

    return CallbackDialler(s.callbacks, store, service.agents, call,
                           worker=store.worker or "", can_dial=can_dial, calendar=calendar)
