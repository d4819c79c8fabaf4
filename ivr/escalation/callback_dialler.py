"""The service's call-back dialler: booked callbacks are called back, not left in a list.

Every `callbacks.poll_s` each worker looks at the shared queue of requests
(`ivr.storage.callback_queue`). A request is made when all of these hold:

- the caller's window is open (`not_before` <= now < `not_after`, stored at booking from
  `callbacks.window_h`) and, with `callbacks.calendar`, the dialplan's opening hours say open;
  requests whose window closed fail as ``window_passed``;
- its next attempt is due (retries back off: `retry_after_min`, doubled after each attempt);
- this worker has room for two more legs (`can_dial`: pjsua holds 4 calls per process) and
  is not draining;
- an agent of the request's queue who speaks its language is available.

Then the worker claims the request (one conditional UPDATE: of two workers exactly one wins),
reserves the agent (the agents' own conditional UPDATE, as for hand-overs; the agent's
`current_call` is the booking call, so the agent desktop shows its card) and makes the call
(`ivr.escalation.callback_call`). What the attempt gave decides the rest (`next_attempt`):
``completed`` -> done; customer ``no_answer``/``busy``/``unreachable``/``customer_hangup``
-> pending again after the back-off, until `max_attempts` calls were made -> failed; the
agent did not answer -> put back (pending) after `agent_retry_s`, the agent set offline as a
hand-over does on no answer. Every attempt counts against `max_attempts`, so a customer is
never called more often than that. One call back at a time per worker.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ivr.call.events import CallEvent
from ivr.escalation import callback_events as cev
from ivr.escalation.agents import Agent, AgentDirectory, RouteRequest
from ivr.escalation.callback_call import Attempt, CallbackCall, CallbackRequest
from ivr.escalation.callback_settings import CallbackSettings
from ivr.storage import callback_queue as queue
from ivr.storage.call_store import CallStore

if TYPE_CHECKING:
    from ivr.dialplan.models import Calendar

log = logging.getLogger("ivr.callbacks")

NOT_ANSWERED = frozenset({408, 480})  # the agent did not pick up: offline, as in hand-overs
FINAL = frozenset({"completed", "bad_number"})


def next_attempt(attempt: Attempt, attempts_made: int, settings: CallbackSettings,
                 now: float) -> float | None:
    """When to try again after `attempt` (the `attempts_made`-th call to the customer), or
    None: the request is over (done, or failed for good)."""
    if attempt.result in FINAL or attempts_made >= settings.max_attempts:
        return None
    if attempt.agent_failed:
        return now + settings.agent_retry_s
    return now + settings.retry_after_min * 60 * 2 ** (attempts_made - 1)


class CallbackDialler:
    """One worker's dialler (see the module docstring); `run()` is owned by the service."""

    def __init__(self, settings: CallbackSettings, store: CallStore, agents: AgentDirectory,
                 call: CallbackCall, *, worker: str, can_dial: Callable[[], bool],
                 calendar: Callable[[], Calendar | None] = lambda: None) -> None:
        self.settings = settings
        self.store = store
        self.agents = agents
        self.call = call
        self.worker = worker
        self.can_dial = can_dial
        self.calendar = calendar  # the dialplan's (it may be reloaded)

    async def run(self) -> None:
        if n := queue.release_stuck(self.store.db, self.worker):
            log.warning("%d callback(s) left dialling by an earlier run are pending again", n)
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the next poll retries; calls go on
                log.exception("callback dialler pass failed")
            await asyncio.sleep(self.settings.poll_s)

    def is_open(self, now: float) -> bool:
        cal = self.calendar()
        return cal is None or cal.is_open(dt.datetime.fromtimestamp(now, dt.UTC))

    async def tick(self, now: float | None = None) -> str | None:
        """One pass: expire closed windows, make at most one due call back; the attempt's
        status (done, pending, failed), or None when nothing was dialled."""
        now = now or time.time()
        if n := queue.expire(self.store.db, now):
            log.info("%d callback(s) failed: their window passed", n)
        if not self.can_dial() or not self.is_open(now):
            return None
        for row in queue.due(self.store.db, now):
            req = CallbackRequest.of(row)
            agent = self._free_agent(req, row.get("intent"))
            if agent is None:
                continue
            if not queue.claim(self.store.db, req.id, self.worker, now):
                continue  # another worker has it
            reserved = self.agents.claim_agent(agent.id, req.call_id)
            if reserved is None:  # taken meanwhile (a caller, another worker)
                queue.unclaim(self.store.db, req.id)
                continue
            return await self._attempt(req, reserved, now)
        return None

    def _free_agent(self, req: CallbackRequest, topic: object) -> Agent | None:
        able = self.agents.candidates(RouteRequest(
            req.queue, req.language or None, str(topic) if topic else None))
        return able[0] if able else None

    async def _attempt(self, req: CallbackRequest, agent: Agent, now: float) -> str:
        """Make the call; its end time is `now` plus the time it took (the pass's clock)."""
        started = time.monotonic()
        log.info("callback=%d call=%s: calling back (attempt %d), agent %s", req.id,
                 req.call_id, req.attempts + 1, agent.id)
        try:
            attempt = await self.call.run(req, agent)
        except asyncio.CancelledError:
            attempt = Attempt("interrupted")
            self._finish(req, agent, attempt, now + time.monotonic() - started)
            raise
        except Exception as e:  # noqa: BLE001 - counted as a failed attempt, retried
            log.exception("callback=%d failed", req.id)
            attempt = Attempt("error", getattr(e, "code", None))
        return self._finish(req, agent, attempt, now + time.monotonic() - started)

    def _finish(self, req: CallbackRequest, agent: Agent, attempt: Attempt, now: float) -> str:
        self.agents.release(agent.id, req.call_id)
        if attempt.result == "agent_no_answer" and attempt.code in NOT_ANSWERED:
            self.agents.set_status(agent.id, "offline")  # redirect on no answer
        made = req.attempts + 1
        retry_at = next_attempt(attempt, made, self.settings, now)
        status = queue.record_attempt(
            self.store.db, req.id, attempt.result, retry_at=retry_at, now=now,
            agent_id=agent.id if attempt.result == "completed" else None)
        self.call.emit(req.call_id, cev.CallbackAttempt(
            callback_id=req.id, result=attempt.result, code=attempt.code, status=status,
            attempts=made, next_attempt_at=retry_at, talk_s=attempt.talk_s))
        log.info("callback=%d: %s (attempt %d) -> %s", req.id, attempt.result, made, status)
        return status


def event_writer(store: CallStore) -> Callable[[str, CallEvent], None]:
    """Stores a call back's events on the call that booked it (its page tells the story)."""
    def emit(call_id: str, event: CallEvent) -> None:
        if call_id:
            store.add_event(call_id, event.TYPE, event.data())
    return emit


def booking_whisper(store: CallStore, call_id: str, language: str) -> str | None:
    """The one-breath summary the agent hears: the booking call's stored one (its
    `escalation_summary` event, what a hand-over whispers), or one made now from its rows;
    led by "Call back" so the agent knows who called whom."""
    import json

    from ivr.escalation.summary import render_text, summarise

    whisper = None
    for row in store.db.query("select data from events where call_id = ? and type = "
                              "'escalation_summary' order by ts desc, id desc limit 1",
                              [call_id]):
        try:
            whisper = json.loads(row["data"] or "{}").get("whisper")
        except (ValueError, AttributeError):
            whisper = None
    if not whisper and (call := store.get_call(call_id)) is not None:
        try:
            whisper = render_text(summarise(call, [], None), language or None, whisper=True)
        except Exception:  # noqa: BLE001 - the agent still gets the call, without it
            log.exception("call=%s: no summary for the call back", call_id)
    zh = (language or "").startswith(("zh", "yue"))
    lead = "回电。" if zh else "Call back. "
    return f"{lead}{whisper}" if whisper else lead.strip()
