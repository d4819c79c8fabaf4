"""What a phone call does for the dialplan's hand-over verbs: `transfer` (to a queue of live
agents through `ivr.escalation.handover`, or blind to a SIP URI), `callback` and `voicemail`.

A transfer with `on_unavailable` in the dialplan (`Transfer.fallback`) that finds nobody in
time returns `TransferFailed`, and the dialplan goes on at that node; without it the
hand-over makes the service's own call-back or voicemail offer, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from ivr.call import events as ev
from ivr.dialplan.actions import (
    BookCallback,
    MessageRecorded,
    RecordMessage,
    Transfer,
    TransferFailed,
)
from ivr.escalation.callbacks import book_callback, record_voicemail
from ivr.escalation.handover import Handover

if TYPE_CHECKING:
    from ivr.call.session import CallSession

REFER_WAIT_S = 30.0  # after a blind transfer, how long to wait for the caller's leg to go


async def transfer(s: CallSession, action: Transfer) -> TransferFailed | None:
    """Hand the call over (returns when the call is over or handed away)."""
    s.deps.store.update_call(s.call_id, escalated=1, transfer_target=action.target)
    s.emit(ev.Transfer(target=action.target, reason=action.reason))
    s.make_summary()
    if action.target.startswith("queue:") and s.deps.agents is not None:
        topic = (s.summary_data() or {}).get("intent")
        taken = await Handover(s, s.deps.agents).run(action.target[6:], action.reason, topic,
                                                     fallback=action.fallback)
        return None if taken else TransferFailed("no_agent")
    if action.target.startswith("sip:"):
        s.deps.control.transfer(s.call_id, action.target, {
            "X-IVR-Call-ID": s.call_id,
            "X-IVR-Summary-URL": f"{s.summary_base_url()}/api/calls/{s.call_id}/summary"})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(s.hungup.wait(), REFER_WAIT_S)
        s.set_end_reason(s.end_reason or f"transferred:{action.target}")
        return None
    s.emit(ev.TransferUnavailable(
        target=action.target, detail="no agent directory; call ended after announcement"
        if not action.fallback else "no agent directory; the dialplan goes on"))
    if action.fallback:
        return TransferFailed("no_agent")
    s.hang_up(f"transfer:{action.target}")
    return None


def callback(s: CallSession, action: BookCallback) -> None:
    """Book the call back for the agents of the action's queue."""
    book_callback(s, action.number, action.queue, action.reason)


async def voicemail(s: CallSession, action: RecordMessage) -> MessageRecorded:
    """A beep, then the caller's message, stored for the agents of the action's queue."""
    seconds, said = await record_voicemail(s, action.max_s, action.queue, "voicemail")
    return MessageRecorded(round(seconds, 1), said)
