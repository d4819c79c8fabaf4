"""Handing a call to a live agent: the queue, ringing agents, the whisper, the bridge, and
the callback or voicemail when nobody can take the call.

`Handover.run(queue, reason)` is awaited by the call's `CallSession` on a `transfer` to
`queue:NAME` and returns when the call is over (bridged mode) or handed away (REFER mode).

Bridged mode: the caller waits in the queue (hold messages with their position every
`hold_message_every_s`); an available agent with the right skills is claimed in shared
storage (so no two workers hand two callers to one agent) and dialled with the context in
SIP headers (`X-IVR-Call-ID`, `X-IVR-Summary-URL`, `X-IVR-Queue`, `X-IVR-Reason`). An agent
who does not answer is skipped (and set offline on no answer, as contact centres do:
"redirect on no answer"); the next one is tried. When an agent answers, the summary is
whispered to the agent only, then caller and agent are bridged and the recording goes on
(caller left, IVR and agent right). With `keep_caller` (the dialplan's `after_agent`), an
agent who hangs up first leaves the caller on the line: `agent_left` is set and the dialplan
goes on (a satisfaction survey); otherwise the caller is hung up with the agent. After
`max_wait_s` the caller is offered a callback
(the number is read back and confirmed) or a voicemail, which `ivr.escalation.callbacks`
books or records.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ivr.call import events as ev
from ivr.call.protocols import AgentLeg, DialFailed, first_of, play_and_wait
from ivr.dialplan.actions import CallerInput
from ivr.escalation import events as hev
from ivr.escalation.agents import Agent, AgentDirectory, RouteRequest
from ivr.escalation.callbacks import book_callback, record_voicemail
from ivr.escalation.handover_words import offer_choice, prompt, spoken_number
from ivr.understanding.intents import extract_yes_no
from ivr.understanding.slots import extract_phone

if TYPE_CHECKING:
    from ivr.call.session import CallSession

log = logging.getLogger("ivr.handover")

URGENT_QUEUE = "urgent"  # waits in this queue are served first by agents who serve it
POLL_S = 0.5  # how often a waiting call looks for a free agent
NOT_ANSWERED = {408, 480}  # the agent did not pick up: set offline (redirect on no answer)
RETRY_AGENT_S = 30.0  # an agent who failed is not rung again for this call before this

@dataclass
class _Context:
    queue: str
    reason: str
    language: str
    topic: str | None
    summary_url: str


class Handover:
    """One call's way to a person (see the module docstring)."""

    def __init__(self, session: CallSession, directory: AgentDirectory,
                 keep_caller: bool = False) -> None:
        self.session = session
        self.directory = directory
        self.keep_caller = keep_caller  # the agent hanging up first does not end the call
        self.agent_left = False  # ... and did: the caller is back in the dialplan
        self.settings = session.settings.escalation
        self._failed: dict[str, float] = {}  # agent id -> when they failed for this call
        self._hold: asyncio.Task[None] | None = None
        self._fallback = False  # nobody reachable: back to the dialplan
        self._unavailable = False

    # ------------------------------------------------------------ entry
    async def run(self, queue: str, reason: str, topic: str | None,
                  fallback: bool = False) -> bool:
        """Hand the call over; with `fallback`, return False when nobody could take it (the
        dialplan's `on_unavailable` node goes on) instead of offering the callback or
        voicemail built into the service. True otherwise."""
        self._fallback = fallback
        s = self.session
        ctx = _Context(queue, reason, s.profile_id or s.language, topic,
                       f"{s.summary_base_url()}/api/calls/{s.call_id}/summary")
        since = time.time()
        s.deps.store.update_call(s.call_id, waiting_queue=queue, waiting_since=since)
        position = self.directory.queue_position(queue, since)
        s.emit(hev.Queued(queue=queue, position=position, agents=len(self.directory.all())))
        try:
            if self.settings.mode == "refer":
                await self._refer(ctx)
            else:
                await self._bridged(ctx, since)
        finally:
            self._stop_hold()
            with contextlib.suppress(Exception):
                s.deps.store.update_call(s.call_id, waiting_queue=None)
        return not self._unavailable

    # ------------------------------------------------------------ REFER (blind) mode
    async def _refer(self, ctx: _Context) -> None:
        s = self.session
        agent = self.directory.claim(self._request(ctx), s.call_id)
        if agent is None:
            s.emit(hev.QueueUnavailable(queue=ctx.queue, detail="no agent available (refer)"))
            await self._after_wait(ctx)
            return
        s.deps.store.update_call(s.call_id, agent_id=agent.id)
        s.emit(hev.AgentRefer(agent_id=agent.id, uri=agent.uri))
        try:
            s.deps.control.transfer(s.call_id, agent.uri, self._headers(ctx))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(s.hungup.wait(), 30)
            s.set_end_reason(f"transferred:{agent.id}")
        finally:
            self.directory.release(agent.id, s.call_id)

    # ------------------------------------------------------------ bridged mode
    async def _bridged(self, ctx: _Context, since: float) -> None:
        s = self.session
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.max_wait_s
        if not any(ctx.queue in a.queues for a in self.directory.all()):
            s.emit(hev.QueueUnavailable(queue=ctx.queue, detail="no agent serves this queue"))
            deadline = loop.time()
        while not s.hungup.is_set():
            agent = self._claim(ctx, since)
            if agent is not None:
                leg = await self._ring(agent, ctx)
                if leg is not None:
                    await self._connected(agent, leg, ctx, since)
                    return
                continue  # try the next agent at once
            if loop.time() >= deadline:
                break
            if self._hold is None:
                self._hold = asyncio.create_task(self._hold_messages(ctx, since))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(s.hungup.wait(), POLL_S)
        self._stop_hold()
        if not s.hungup.is_set():
            await self._after_wait(ctx)

    def _request(self, ctx: _Context) -> RouteRequest:
        now = time.monotonic()
        recent = frozenset(a for a, t in self._failed.items() if now - t < RETRY_AGENT_S)
        return RouteRequest(ctx.queue, ctx.language, ctx.topic, recent)

    def _claim(self, ctx: _Context, since: float) -> Agent | None:
        """An agent for this caller, if it is their turn: earlier callers of the queue go
        first, and urgent callers before anyone else for the agents who serve both."""
        req = self._request(ctx)
        able = self.directory.candidates(req)
        if ctx.queue != URGENT_QUEUE and self.directory.waiting(URGENT_QUEUE):
            able = [a for a in able if URGENT_QUEUE not in a.queues]
        position = self.directory.queue_position(ctx.queue, since)
        if len(able) < position:
            return None
        for agent in able:
            if claimed := self.directory.claim_agent(agent.id, self.session.call_id):
                return claimed
        return None

    def _headers(self, ctx: _Context) -> dict[str, str]:
        return {"X-IVR-Call-ID": self.session.call_id, "X-IVR-Summary-URL": ctx.summary_url,
                "X-IVR-Queue": ctx.queue, "X-IVR-Reason": ctx.reason}

    async def _ring(self, agent: Agent, ctx: _Context) -> AgentLeg | None:
        """Dial the claimed agent; the answered leg, or None (agent released)."""
        s = self.session
        s.emit(hev.AgentRinging(agent_id=agent.id, uri=agent.uri, queue=ctx.queue))
        dial = asyncio.ensure_future(s.deps.control.dial(
            agent.uri, self._headers(ctx), self.settings.ring_timeout_s))
        hung = asyncio.ensure_future(s.hungup.wait())
        try:
            await asyncio.wait({dial, hung}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            hung.cancel()
        if not dial.done():  # the caller hung up while the agent's phone rang
            dial.cancel()
            with contextlib.suppress(asyncio.CancelledError, DialFailed):
                await dial
            self.directory.release(agent.id, s.call_id)
            s.emit(hev.AgentAbandoned(agent_id=agent.id))
            return None
        try:
            leg = dial.result()
        except DialFailed as e:
            self._failed[agent.id] = time.monotonic()
            self.directory.release(agent.id, s.call_id)
            offline = e.code in NOT_ANSWERED
            if offline:
                self.directory.set_status(agent.id, "offline")
            s.emit(hev.AgentFailed(agent_id=agent.id, code=e.code, reason=e.reason,
                                  set_offline=offline))
            return None
        if s.hungup.is_set():
            s.deps.control.release_leg(leg.call_id)
            self.directory.release(agent.id, s.call_id)
            return None
        return leg

    async def _connected(self, agent: Agent, leg: AgentLeg, ctx: _Context,
                         since: float) -> None:
        s = self.session
        self._stop_hold()
        wait_s = round(time.time() - since, 1)
        try:
            s.emit(hev.AgentAnswered(agent_id=agent.id, leg=leg.call_id))
            s.attach_agent(leg.media)
            if self.settings.whisper:
                await asyncio.gather(s.announce(prompt("connecting", s.language)),
                                     self._whisper(leg))
            if s.hungup.is_set() or leg.ended.is_set():
                return
            if not await s.deps.control.bridge(s.call_id, leg.call_id,
                                               hangup_together=not self.keep_caller):
                s.emit(ev.Error(where="bridge", error="the calls could not be bridged"))
                return
            s.deps.store.update_call(s.call_id, agent_id=agent.id, queue_wait_s=wait_s,
                                     waiting_queue=None)
            s.emit(hev.AgentConnected(agent_id=agent.id, queue=ctx.queue, wait_s=wait_s))
            s.bridged()
            await first_of(leg.ended, s.hungup)
            by_agent = leg.ended.is_set() and leg.by_remote
            if leg.ended.is_set() and self.keep_caller and not s.hungup.is_set():
                self.agent_left = True  # the caller is still here: back to the dialplan
                s.bridged(False)
                s.drain_inputs()  # keys pressed talking to the agent
            elif by_agent:
                s.set_end_reason("agent_hangup")  # the endpoint hangs up the caller too
                s.hang_up("agent_hangup")
            s.emit(hev.AgentDisconnected(agent_id=agent.id,
                                        by="agent" if by_agent else "caller"))
        finally:
            s.detach_agent()
            s.deps.control.release_leg(leg.call_id)
            self.directory.release(agent.id, s.call_id)

    async def _whisper(self, leg: AgentLeg) -> None:
        """The one-breath summary, to the agent only."""
        s = self.session
        text = s.whisper_text() or ""
        if not text:
            return
        try:
            # the caller's problem in their words: this agent's ears only, never stored
            audio = await s.deps.prompts.get(text, s.voice_for(s.language), private=True)
        except Exception as e:
            s.emit(ev.Error(where="whisper_tts", error=str(e)))
            return
        s.emit(hev.Whisper(agent_leg=leg.call_id, text=text))
        await play_and_wait(leg.media, audio, leg.ended, grace_s=5)

    # ------------------------------------------------------------ waiting
    async def _hold_messages(self, ctx: _Context, since: float) -> None:
        s = self.session
        while not s.hungup.is_set():
            position = self.directory.queue_position(ctx.queue, since)
            key = "hold_next" if position <= 1 else "hold"
            s.emit(hev.HoldMessage(queue=ctx.queue, position=position))
            await s.announce(prompt(key, s.language, position=position))
            await asyncio.sleep(self.settings.hold_message_every_s)

    def _stop_hold(self) -> None:
        if self._hold is not None:
            self._hold.cancel()
            self._hold = None
            self.session.media.clear()

    async def _after_wait(self, ctx: _Context) -> None:
        """Nobody could take the call in time: callback, voicemail, or an apology."""
        s = self.session
        cfg = self.settings
        s.emit(hev.QueueTimeout(queue=ctx.queue, waited_s=cfg.max_wait_s))
        if self._fallback:
            self._unavailable = True
            return
        if not cfg.callback and not cfg.voicemail:
            await self._close(ctx, "closed", "no_agent")
            return
        for _ in range(2):
            if not cfg.callback:
                choice = "3"
            else:
                key = "offer" if cfg.voicemail else "offer_no_voicemail"
                event = await s.ask(prompt(key, s.language), max_digits=1)
                if event is None:
                    return
                choice = offer_choice(event)
            if choice == "1":
                await self._callback(ctx)
                return
            if choice == "2":
                s.emit(hev.KeepWaiting(queue=ctx.queue))
                since = time.time()
                s.deps.store.update_call(s.call_id, waiting_queue=ctx.queue,
                                         waiting_since=since)
                await self._bridged(ctx, since)
                return
            if choice == "3" and cfg.voicemail:
                await self._voicemail(ctx)
                return
        await self._close(ctx, "closed", "no_agent")

    async def _callback(self, ctx: _Context) -> None:
        s = self.session
        number = "".join(c for c in s.caller if c.isdigit())
        for _ in range(3):
            if not number:
                event = await s.ask(prompt("enter_number", s.language), max_digits=15,
                                    digits=True)
            else:
                event = await s.ask(prompt("confirm_number", s.language,
                                           number=spoken_number(number)),
                                    max_digits=15, digits=True)
            if event is None:
                return
            if not isinstance(event, CallerInput):
                continue
            if event.kind == "dtmf":
                keys = event.text.rstrip("#")
                if keys == "1" and number:
                    break
                if len(keys) >= 5:
                    number = keys
                continue
            yes = extract_yes_no(event.text, s.language)
            if yes and number:
                break
            other = extract_phone(event.text, s.language, 5, 15)
            if other:
                number = other
        else:
            await self._close(ctx, "closed", "callback_not_confirmed")
            return
        book_callback(s, number, ctx.queue, ctx.reason, ctx.topic)
        await self._close(ctx, "callback_booked", "callback_requested")

    async def _voicemail(self, ctx: _Context) -> None:
        s = self.session
        await s.announce(prompt("voicemail", s.language))
        seconds, _said = await record_voicemail(s, s.settings.escalation.voicemail_max_s,
                                                ctx.queue, ctx.reason, ctx.topic)
        if s.hungup.is_set():
            return
        if seconds:
            await self._close(ctx, "voicemail_saved", "voicemail")
        else:
            await self._close(ctx, "closed", "no_agent")

    async def _close(self, ctx: _Context, key: str, reason: str) -> None:
        s = self.session
        await s.announce(prompt(key, s.language))
        s.emit(ev.HangupByIvr(reason=reason))
        s.hang_up(reason)
