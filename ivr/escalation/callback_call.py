"""One automatic call back, as a phone call: dial the customer, say who is calling, dial the
reserved agent with the booking call's context, whisper its summary, bridge the two.

`CallbackCall.run(request, agent)` returns what happened (`Attempt`); the dialler
(`ivr.escalation.callback_dialler`) decides from it whether to retry. No `CallSession` is
involved: nothing is recognised on this call, so it only needs call control, prompts and the
two legs' media (the service's outbound legs, `ivr.call.control.SipAgentLeg`).

Why the customer first, then the agent (as the request's wording promises: "we call you
back"): an agent is only rung for a customer who is on the line, so no agent waits on a
phone nobody answers. The agent is reserved before the customer is dialled, so the customer
never answers into an empty queue; the customer hears who is calling and that an automated
assistant placed the call while the agent's phone rings.

The agent's leg carries the same context as a hand-over (`ivr.escalation.handover`):
`X-IVR-Call-ID` (the booking call), `X-IVR-Summary-URL`, `X-IVR-Queue`, `X-IVR-Reason`,
plus `X-IVR-Callback-ID`; the whisper is the booking call's stored one-breath summary.
The customer's leg carries none of it (it leaves our network): only the presented number
(`P-Asserted-Identity`) when `callbacks.caller_id` is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ivr.call.events import CallEvent
from ivr.call.protocols import (
    AgentLeg,
    CallControl,
    DialFailed,
    PromptSource,
    first_of,
    play_and_wait,
)
from ivr.escalation import callback_events as cev
from ivr.escalation.agents import Agent
from ivr.escalation.callback_settings import CallbackSettings
from ivr.privacy.disclosure import disclosure_lines

log = logging.getLogger("ivr.callbacks")

BUSY = frozenset({486, 600, 603})
NOT_ANSWERED = frozenset({408, 480, 487})
GRACE_S = 3.0  # a prompt that has not finished this long after its length is given up on


@dataclass(frozen=True)
class CallbackRequest:
    """What the dialler read of a `callbacks` row."""

    id: int
    call_id: str  # the call that booked it
    number: str
    queue: str
    language: str
    reason: str
    attempts: int  # made before this one

    @classmethod
    def of(cls, row: dict[str, Any]) -> CallbackRequest:
        return cls(id=int(row["id"]), call_id=str(row.get("call_id") or ""),
                   number=str(row.get("number") or ""),
                   queue=str(row.get("queue") or "general"),
                   language=str(row.get("language") or ""),
                   reason=str(row.get("reason") or "callback"),
                   attempts=int(row.get("attempts") or 0))


@dataclass(frozen=True)
class Attempt:
    """How one attempt ended. `result`: completed, no_answer, busy, unreachable,
    bad_number, customer_hangup, agent_no_answer, agent_unavailable, bridge_failed."""

    result: str
    code: int | None = None
    talk_s: float | None = None

    @property
    def agent_failed(self) -> bool:
        return self.result in ("agent_no_answer", "agent_unavailable", "bridge_failed")


def dialable(number: str) -> str | None:
    """The number as dialled (digits, an optional leading +), or None when it is not one:
    it was keyed or spoken by a caller, so it is checked before it goes into a URI."""
    n = number.strip()
    digits = n[1:] if n.startswith("+") else n
    return n if digits.isdigit() and 3 <= len(digits) <= 20 else None


def customer_result(code: int) -> str:
    return "busy" if code in BUSY else "no_answer" if code in NOT_ANSWERED else "unreachable"


class CallbackCall:
    """The call script of one call back (see the module docstring)."""

    def __init__(self, control: CallControl, prompts: PromptSource, settings: CallbackSettings,
                 *, agent_ring_s: float, languages: Sequence[str], summary_url: str,
                 whisper: Callable[[str, str], str | None],
                 emit: Callable[[str, CallEvent], None]) -> None:
        self.control = control
        self.prompts = prompts
        self.settings = settings
        self.agent_ring_s = agent_ring_s
        self.languages = list(languages)  # the dialplan's: the announcement's other languages
        self.summary_url = summary_url  # base URL of the API, as in hand-overs
        self.whisper = whisper  # (booking call id, language) -> one-breath summary or None
        self.emit = emit  # (booking call id, event)

    async def run(self, req: CallbackRequest, agent: Agent) -> Attempt:
        number = dialable(req.number)
        if number is None:
            return Attempt("bad_number")
        self.emit(req.call_id, cev.CallbackDialling(callback_id=req.id,
                                                    attempt=req.attempts + 1,
                                                    agent_id=agent.id))
        uri = self.settings.customer_uri.replace("{number}", number)
        headers = ({"P-Asserted-Identity": f"<tel:{self.settings.caller_id}>"}
                   if self.settings.caller_id else {})
        try:
            customer = await self.control.dial(uri, headers, self.settings.ring_timeout_s)
        except DialFailed as e:
            return Attempt(customer_result(e.code), e.code)
        try:
            return await self._answered(req, agent, customer)
        finally:
            self.control.release_leg(customer.call_id)

    async def _answered(self, req: CallbackRequest, agent: Agent, customer: AgentLeg) -> Attempt:
        lines = disclosure_lines(self.settings.announcement, [req.language, *self.languages])
        self.emit(req.call_id, cev.CallbackAnswered(callback_id=req.id,
                                                    languages=[lang for _, lang in lines]))
        answered: list[AgentLeg] = []  # the agent's leg once up, to release it in any case
        # the agent's phone rings, and the agent hears the summary, while the customer hears
        # who is calling: neither waits for the other's prompt
        agent_side = asyncio.ensure_future(self._agent_ready(req, agent, answered))
        try:
            for text, language in lines:
                if customer.ended.is_set():
                    break
                await self._say(customer, text, language)
            await first_of(customer.ended, _done_event(agent_side))
            if customer.ended.is_set():
                return Attempt("customer_hangup")
            try:
                agent_leg = agent_side.result()
            except DialFailed as e:
                await self._apologise(req, customer)
                result = "agent_no_answer" if e.code in NOT_ANSWERED else "agent_unavailable"
                return Attempt(result, e.code)
            return await self._connect(req, agent, customer, agent_leg)
        finally:
            if not agent_side.done():
                agent_side.cancel()  # (a leg answered after all is hung up by `dial`)
                with contextlib.suppress(asyncio.CancelledError, DialFailed):
                    await agent_side
            for leg in answered:
                self.control.release_leg(leg.call_id)

    async def _agent_ready(self, req: CallbackRequest, agent: Agent,
                           answered: list[AgentLeg]) -> AgentLeg:
        """Dial the reserved agent with the booking call's context, then whisper its
        summary to them; the answered leg (DialFailed when they do not answer)."""
        self.emit(req.call_id, cev.CallbackAgentRinging(callback_id=req.id, agent_id=agent.id))
        headers = {"X-IVR-Call-ID": req.call_id,
                   "X-IVR-Summary-URL": f"{self.summary_url}/api/calls/{req.call_id}/summary",
                   "X-IVR-Queue": req.queue, "X-IVR-Reason": req.reason,
                   "X-IVR-Callback-ID": str(req.id)}
        leg = await self.control.dial(agent.uri, headers, self.agent_ring_s)
        answered.append(leg)
        if text := self.whisper(req.call_id, req.language):
            await self._say(leg, text, req.language or "zh-CN", private=True)
        return leg

    async def _connect(self, req: CallbackRequest, agent: Agent, customer: AgentLeg,
                       agent_leg: AgentLeg) -> Attempt:
        if agent_leg.ended.is_set():  # the agent put the phone down during the whisper
            await self._apologise(req, customer)
            return Attempt("agent_unavailable")
        if not await self.control.bridge(customer.call_id, agent_leg.call_id):
            return Attempt("bridge_failed")
        self.emit(req.call_id, cev.CallbackConnected(callback_id=req.id, agent_id=agent.id))
        started = time.monotonic()
        await first_of(customer.ended, agent_leg.ended)
        return Attempt("completed", talk_s=round(time.monotonic() - started, 1))

    async def _say(self, leg: AgentLeg, text: str, language: str,
                   private: bool = False) -> None:
        try:
            audio = await self.prompts.get(text, language, private=private)
        except Exception:  # noqa: BLE001 - a prompt that cannot be rendered is skipped
            log.exception("callback prompt could not be rendered (%s)", language)
            return
        await play_and_wait(leg.media, audio, leg.ended, grace_s=GRACE_S)

    async def _apologise(self, req: CallbackRequest, customer: AgentLeg) -> None:
        lines = disclosure_lines(self.settings.apology, [req.language, *self.languages])
        if lines and not customer.ended.is_set():
            await self._say(customer, *lines[0])


def _done_event(task: asyncio.Future[Any]) -> asyncio.Event:
    """An event set when `task` finishes (to wait for it with `first_of`)."""
    done = asyncio.Event()
    task.add_done_callback(lambda _t: done.set())
    return done
