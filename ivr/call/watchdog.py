"""Checks that keep every answered call accounted for (issue 15): the SIP stack's calls
reconciled with the sessions, and whether recordings can still be written."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any, Protocol

from ivr.call.events import Error
from ivr.call.recorder import write_failures
from ivr.storage.call_store import CallStore
from telephony import CallInfo, SipEndpoint

log = logging.getLogger("ivr.server")


class _Session(Protocol):
    def on_hangup(self, reason: str) -> None: ...


async def reconcile_calls(endpoint: SipEndpoint, sessions: Mapping[str, _Session],
                          every_s: float) -> None:
    """Every `every_s`, compare the SIP stack's answered calls with `sessions`: a call with
    no session is hung up, a session whose call the stack no longer has ends (`call_lost`).
    Either must be seen in two checks in a row, since a call may be starting or ending."""
    orphans: set[str] = set()
    lost: set[str] = set()
    while True:
        await asyncio.sleep(every_s)
        try:
            calls = await asyncio.wrap_future(endpoint.calls())
        except Exception:  # noqa: BLE001 - the endpoint is stopping
            continue
        inbound = [c for c in calls if c.direction == "inbound"]
        settled = time.monotonic() - every_s
        now_orphans = {c.call_id for c in inbound
                       if c.started_at < settled and c.call_id not in sessions}
        for cid in now_orphans & orphans:
            log.warning("call=%s answered but has no session: hanging up", cid)
            endpoint.hangup(cid)
        orphans = now_orphans
        now_lost = set(sessions) - {c.call_id for c in inbound}
        for cid in now_lost & lost:
            if session := sessions.get(cid):
                log.warning("call=%s is gone from the SIP stack: ending its session", cid)
                session.on_hangup("call_lost")
        lost = now_lost


def record_failed_start(store: CallStore, call: CallInfo, error: Exception) -> None:
    """The row of a call whose session could not start (ended at once, with the error)."""
    try:
        if store.get_call(call.call_id) is None:
            store.call_started(call.call_id, sip_call_id=call.sip_call_id, caller=call.caller,
                               callee=call.callee, remote_uri=call.remote_uri,
                               answered_at=time.time())
        failed = Error(where="session_start", error=repr(error)[:500])
        store.add_event(call.call_id, failed.TYPE, failed.data())
        store.call_ended(call.call_id, "session_start_failed")
    except Exception:  # noqa: BLE001 - the storage itself may be what failed
        log.exception("call=%s cannot record the failed start", call.call_id)


def recording_health() -> dict[str, Any]:
    """Whether recordings can be written: `ok` false once a write failed (disk full,
    permissions); `failures`, `last_error` and `last_path` say what happened."""
    f = write_failures()
    return {"ok": f["count"] == 0, "failures": f["count"], "last_error": f["last_error"],
            "last_path": f["last_path"]}
