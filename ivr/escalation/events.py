"""The hand-over's call events (`ivr.escalation.handover`, `.callbacks`): the queue, ringing
and bridging agents, call backs and voicemail. Same contract as `ivr.call.events`: `TYPE` and
the fields, in stored order, are what the `events` table holds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ivr.call.events import CallEvent


@dataclass(frozen=True, slots=True, kw_only=True)
class Queued(CallEvent):
    TYPE: ClassVar[str] = "queued"
    queue: str
    position: int
    agents: int


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueUnavailable(CallEvent):
    TYPE: ClassVar[str] = "queue_unavailable"
    queue: str
    detail: str


@dataclass(frozen=True, slots=True, kw_only=True)
class HoldMessage(CallEvent):
    TYPE: ClassVar[str] = "hold_message"
    queue: str
    position: int


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueTimeout(CallEvent):
    TYPE: ClassVar[str] = "queue_timeout"
    queue: str
    waited_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class KeepWaiting(CallEvent):
    TYPE: ClassVar[str] = "keep_waiting"
    queue: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentRefer(CallEvent):
    TYPE: ClassVar[str] = "agent_refer"
    agent_id: str
    uri: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentRinging(CallEvent):
    TYPE: ClassVar[str] = "agent_ringing"
    agent_id: str
    uri: str
    queue: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentAbandoned(CallEvent):
    TYPE: ClassVar[str] = "agent_abandoned"  # the caller hung up while the agent's phone rang
    agent_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentFailed(CallEvent):
    TYPE: ClassVar[str] = "agent_failed"
    agent_id: str
    code: int  # SIP status
    reason: str
    set_offline: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentAnswered(CallEvent):
    TYPE: ClassVar[str] = "agent_answered"
    agent_id: str
    leg: str  # the agent leg's call id


@dataclass(frozen=True, slots=True, kw_only=True)
class Whisper(CallEvent):
    TYPE: ClassVar[str] = "whisper"  # the summary, said to the agent only
    agent_leg: str
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentConnected(CallEvent):
    TYPE: ClassVar[str] = "agent_connected"
    agent_id: str
    queue: str
    wait_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentDisconnected(CallEvent):
    TYPE: ClassVar[str] = "agent_disconnected"
    agent_id: str
    by: str  # agent, caller


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentOutcome(CallEvent):
    TYPE: ClassVar[str] = "agent_outcome"  # marked on the agent desk (ivr.web.desk)
    agent_id: str
    outcome: str
    note: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CallbackRequested(CallEvent):
    TYPE: ClassVar[str] = "callback_requested"
    number: str
    queue: str
    callback_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class VoicemailRecording(CallEvent):
    TYPE: ClassVar[str] = "voicemail_recording"
    max_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class VoicemailEmpty(CallEvent):
    TYPE: ClassVar[str] = "voicemail_empty"


@dataclass(frozen=True, slots=True, kw_only=True)
class VoicemailSaved(CallEvent):
    TYPE: ClassVar[str] = "voicemail_saved"
    seconds: float
    callback_id: int
    text: str  # what the caller said, as recognised


