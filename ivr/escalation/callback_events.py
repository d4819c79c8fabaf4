"""Events of an automatic call back (`ivr.escalation.callback_call`), stored on the call that
booked it, so its page tells the whole story: the request, each attempt, the agent who
called back. Same contract as `ivr.call.events`: `TYPE` and the fields, in stored order,
are what the `events` table holds. The customer's number is never in them (events are
shown to every supervisor; the request row holds it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ivr.call.events import CallEvent

__all__ = ["CallbackAgentRinging", "CallbackAnswered", "CallbackAttempt", "CallbackConnected",
           "CallbackDialling"]


@dataclass(frozen=True, slots=True, kw_only=True)
class CallbackDialling(CallEvent):
    """The IVR is calling the customer back (attempt `attempt`), an agent reserved."""

    TYPE: ClassVar[str] = "callback_dialling"
    callback_id: int
    attempt: int
    agent_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CallbackAnswered(CallEvent):
    TYPE: ClassVar[str] = "callback_answered"
    callback_id: int
    languages: list[str]  # the announcement was said in these, in order


@dataclass(frozen=True, slots=True, kw_only=True)
class CallbackAgentRinging(CallEvent):
    TYPE: ClassVar[str] = "callback_agent_ringing"
    callback_id: int
    agent_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CallbackConnected(CallEvent):
    """Customer and agent are bridged."""

    TYPE: ClassVar[str] = "callback_connected"
    callback_id: int
    agent_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CallbackAttempt(CallEvent):
    """An attempt is over: its `result` and what became of the request (`status`: done,
    pending with `next_attempt_at`, failed)."""

    TYPE: ClassVar[str] = "callback_attempt"
    callback_id: int
    result: str
    code: int | None
    status: str
    attempts: int
    next_attempt_at: float | None
    talk_s: float | None
