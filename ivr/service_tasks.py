"""The service's background work: retention purges, the worker heartbeat, the call-back
dialler and the agent legs' transcription."""

from __future__ import annotations

import asyncio
import logging
import time
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


AGENT_LEG_POLL_S = 10.0  # how often the store is asked for an agent leg to transcribe
AGENT_LEG_WINDOW_S = 2 * 86400.0  # calls started longer ago than this are not looked at
AGENT_LEG_CLEAN_S = 600.0  # how often lines of purged or forgotten calls are deleted


async def agent_transcript_loop(service: Any, every_s: float = AGENT_LEG_POLL_S) -> None:
    """Transcribe the agent legs of ended calls from their recordings
    (`ivr.escalation.agent_transcript`), one call at a time, at background priority; agent-leg
    lines whose call was purged or forgotten, or older than `privacy.retention.
    transcripts_days`, are deleted on the way (`service`: the `IvrService`)."""
    from ivr.storage import transcript

    store: CallStore = service.store
    transcriber = agent_transcriber(service)
    days = service.settings.privacy.retention.transcripts_days
    cleaned = 0.0
    while True:
        try:
            if await transcribe_next_leg(store, transcriber, time.time() - AGENT_LEG_WINDOW_S):
                continue  # more may be waiting: the scheduler keeps calls first
            if time.monotonic() - cleaned >= AGENT_LEG_CLEAN_S:
                cleaned = time.monotonic()
                transcript.forget_orphans(store.db,
                                          time.time() - days * 86400 if days else None)
        except Exception:  # noqa: BLE001 - retried next period; the calls go on
            log.exception("agent leg transcription failed")
        await asyncio.sleep(every_s)


async def transcribe_next_leg(store: CallStore, transcriber: Any, since: float) -> str | None:
    """Transcribe one pending agent leg of a call started after `since` (`transcriber`: an
    `AgentLegTranscriber`) and store its lines; the call's id, or None when none is waiting
    (or another worker took it)."""
    from ivr.storage import transcript

    pending = transcript.pending_agent_legs(store.db, 1, since)
    if not pending or not transcript.claim_agent_leg(store.db, pending[0]["id"],
                                                      store.worker or ""):
        return None
    call_id = pending[0]["id"]
    call = store.get_call(call_id)
    if call is None:
        return None
    started = time.monotonic()
    lines, status, detail = await transcriber.transcribe(call)
    transcript.save_agent_leg(store.db, call_id, lines, status, detail)
    log.info("call=%s agent leg transcribed: %s, %d line(s) in %.1f s%s", call_id, status,
             len(lines), time.monotonic() - started, f" ({detail})" if detail else "")
    return str(call_id)


def agent_transcriber(service: Any) -> Any:
    """The service's `AgentLegTranscriber`: each call's language profile picks the model,
    language and prompt (as its recognition did), queued at background priority; masked
    with the privacy settings; `.wav.enc` read with the recording key."""
    from ivr.escalation.agent_transcript import AgentLegTranscriber, background_recognizer
    from ivr.privacy import Redactor
    from ivr.understanding.profiles import BUILTIN_PROFILES, resolve_profiles

    s: Settings = service.settings
    profiles = resolve_profiles(s.profiles)
    redactor = Redactor(s.privacy.redact)

    def recognizer(call: Any) -> Any:
        profile = (profiles.get(call.get("profile") or "") or profiles.get(call.get("language")
                   or "") or BUILTIN_PROFILES["zh-CN"])
        rec = service.recognizers.for_profile(profile)
        return background_recognizer(rec.asr, rec.language, rec.prompt)

    return AgentLegTranscriber(recognizer, redactor.redact_text,
                               getattr(service, "recording_key", None), asyncio.to_thread)
