"""What a phone call does for the dialplan's hand-over verbs: `transfer` (to a queue of live
agents through `ivr.escalation.handover`, or blind to a SIP URI), `callback` and `voicemail`.

A transfer with `on_unavailable` in the dialplan (`Transfer.fallback`) that finds nobody in
time returns `TransferFailed`, and the dialplan goes on at that node; without it the
hand-over makes the service's own call-back or voicemail offer, as before. A transfer with
`after_agent` (`Transfer.after_agent`) whose agent hangs up first returns `AgentLeft`: the
caller stays on the line and the dialplan goes on there (a satisfaction survey).

The escalation reason stored (the `transfer` event, the agent's `X-IVR-Reason`, a booked
callback) is the dialplan's, corrected by the path that reached the transfer node
(`transfer_reason`, `ivr.storage.outcomes.escalation_reason`): the `caller_request` node
reached through `on_failure` is a `repeated_failure`.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace
from typing import TYPE_CHECKING

from ivr.call import events as ev
from ivr.dialplan.actions import (
    AgentLeft,
    BookCallback,
    MessageRecorded,
    RecordMessage,
    SetVariables,
    Transfer,
    TransferFailed,
)
from ivr.dialplan.engine import Step
from ivr.escalation.callbacks import book_callback, record_voicemail
from ivr.escalation.handover import Handover
from ivr.storage.outcomes import FAILED_TURNS, Path, escalation_reason

if TYPE_CHECKING:
    from ivr.call.session import CallSession

REFER_WAIT_S = 30.0  # after a blind transfer, how long to wait for the caller's leg to go


def step_path(step: Step | None) -> Path:
    """How the dialogue reached the step that transfers: the caller's understood request,
    exhausted attempts (`on_failure`), the emotion policy, a failed webhook, or unknown."""
    if step is None:
        return None
    u = step.understanding
    if u is None:
        failed = any(isinstance(a, SetVariables) and a.values.get("webhook_error")
                     for a in step.actions)
        return "webhook_failure" if failed else None
    if u.intent == "emotion_escalation":
        return "emotion"
    if u.outcome in FAILED_TURNS:
        return "failure"
    return "request" if u.outcome == "match" else None


def transfer_reason(action: Transfer, step: Step | None) -> str:
    """The escalation reason of `action` reached by `step` (see the module docstring)."""
    why = step.state.variables.get("escalation_reason") if step is not None else None
    return escalation_reason(action.reason, step_path(step), why)


async def transfer(s: CallSession, action: Transfer,
                   step: Step | None = None) -> TransferFailed | AgentLeft | None:
    """Hand the call over (returns when the call is over or handed away); `step`: the one
    whose action this is, for the escalation reason."""
    action = replace(action, reason=transfer_reason(action, step))
    s.deps.store.update_call(s.call_id, escalated=1, transfer_target=action.target,
                             escalation_reason=action.reason)
    s.emit(ev.Transfer(target=action.target, reason=action.reason))
    s.make_summary()
    if action.target.startswith("queue:") and s.deps.agents is not None:
        topic = (s.summary_data() or {}).get("intent")
        handover = Handover(s, s.deps.agents, keep_caller=action.after_agent)
        taken = await handover.run(action.target[6:], action.reason, topic,
                                   fallback=action.fallback)
        if handover.agent_left:
            return AgentLeft()  # the dialplan's `after_agent` node (a survey)
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
