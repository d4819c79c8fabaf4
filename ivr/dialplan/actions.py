"""Events the dialogue engine consumes and actions it asks the call to perform."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from audio_models.grammar import Grammar


# ---------------------------------------------------------------- events
@dataclass(frozen=True, slots=True)
class CallerInput:
    """What the caller said (speech) or pressed (dtmf)."""

    kind: Literal["speech", "dtmf"]
    text: str
    confidence: float = 1.0


@dataclass(frozen=True, slots=True)
class NoInput:
    """The caller stayed silent for the node's timeout."""


@dataclass(frozen=True, slots=True)
class Unintelligible:
    """Speech was heard but not recognised with enough confidence."""

    text: str = ""
    confidence: float = 0.0


@dataclass(frozen=True, slots=True)
class WebhookResult:
    """The outcome of a `Webhook` action."""

    ok: bool
    status: int | None = None
    data: Any = None  # parsed JSON body
    error: str = ""


@dataclass(frozen=True, slots=True)
class MessageRecorded:
    """The outcome of a `RecordMessage` action: how long the caller spoke, what was heard."""

    seconds: float
    text: str = ""


@dataclass(frozen=True, slots=True)
class TransferFailed:
    """A `Transfer` with a fallback node could not reach anyone (no agent in time)."""

    reason: str = "no_agent"


@dataclass(frozen=True, slots=True)
class AgentLeft:
    """The agent of a bridged `Transfer` with `after_agent` hung up first: the caller is still
    on the line, back in the dialplan (a satisfaction survey)."""


DialogEvent = (CallerInput | NoInput | Unintelligible | WebhookResult | MessageRecorded
               | TransferFailed | AgentLeft)
# results of actions, not input
CALL_RESULTS = (WebhookResult, MessageRecorded, TransferFailed, AgentLeft)


# ---------------------------------------------------------------- actions
@dataclass(frozen=True, slots=True)
class Say:
    text: str  # already in the call's language, variables substituted; "file:..." = recording
    language: str
    barge_in: bool | None = None  # None: the service default (dialog.barge_in)
    node: str = ""
    # values were filled into a template: the words are this call's (not part of equality:
    # two Says of the same words are the same prompt)
    dynamic: bool = field(default=False, compare=False)

    @property
    def private(self) -> bool:
        """Audio of this text is for this call only, never stored (disk or memory): a filled-in
        template reads back values ("your card ending 4821", a balance), and a digit in any
        text may be one of them. Texts fixed in the dialplan are rendered and stored at
        start-up, so a private request for one of them still plays the stored copy."""
        return self.dynamic or any(c.isdigit() for c in self.text)


@dataclass(frozen=True, slots=True)
class Listen:
    """Wait for caller input at `node` (always the last action of a step).

    `grammar` is what the question expects, for recognition by grammar (issue 19): digits of a
    length (a digit slot), yes or no (a read-back, a consent, "did that answer it?"), or one
    of the choices reachable from a menu; None for an open question (free transcription
    only). The call asks the recogniser for it and decides which to believe
    (`ivr.call.grammar_fusion`). Pure data; not part of equality (it is what the recogniser
    is told, not what the dialogue waits for)."""

    node: str
    language: str
    timeout_s: float | None  # None: use the service default
    max_digits: int = 1
    min_digits: int = 1
    digits_slot: bool = False  # collect several digits ('#' ends early)
    dtmf_choices: tuple[str, ...] = ()  # a menu's key sequences: input ends on a full match
    sensitive: bool = False  # a `sensitive` slot (or its read-back): keys masked, recording paused
    grammar: Grammar | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class SetLanguage:
    language: str  # the dialplan language of prompts and intents
    profile: str | None = None  # the caller's language/dialect profile (zh-sichuan, yue, ...)


@dataclass(frozen=True, slots=True)
class Transfer:
    target: str
    reason: str
    fallback: bool = False  # nobody reachable: `TransferFailed` goes back to the dialplan
    after_agent: bool = False  # the agent hangs up first: the caller stays, `AgentLeft`


@dataclass(frozen=True, slots=True)
class RecordingConsent:
    """The caller's answer to a `consent` question: record the call (from now) or not."""

    node: str
    given: bool
    answer: Literal["yes", "no", "none"] = "yes"
    then: Literal["continue", "hangup"] = "continue"  # after a refusal


@dataclass(frozen=True, slots=True)
class BookCallback:
    """Book a call back to `number` (a person from `queue` calls)."""

    node: str
    number: str
    queue: str
    reason: str


@dataclass(frozen=True, slots=True)
class RecordMessage:
    """Record the caller's message (after a beep) until '#', silence or `max_s`; the outcome
    comes back as `MessageRecorded`."""

    node: str
    max_s: float
    queue: str


@dataclass(frozen=True, slots=True)
class Hangup:
    reason: str


@dataclass(frozen=True, slots=True)
class Webhook:
    """An HTTP request the call performs; the result comes back as a `WebhookResult`."""

    node: str
    method: str
    url: str
    headers: dict[str, str]
    body: Any
    timeout_s: float
    retries: int


@dataclass(frozen=True, slots=True)
class SetVariables:
    """Variables changed by the dialplan (for the call's record; the engine already has them)."""

    values: dict[str, Any]


Action = (Say | Listen | SetLanguage | Transfer | Hangup | Webhook | SetVariables
          | RecordingConsent | BookCallback | RecordMessage)


@dataclass(frozen=True, slots=True)
class Understanding:
    """How the engine understood one input (stored with the turn)."""

    outcome: Literal["match", "no_match", "no_input", "unintelligible"]
    intent: str | None = None
    score: float = 0.0
    slots: dict[str, Any] = field(default_factory=dict)
    choice: str | None = None  # goto target chosen
    answer: str | None = None  # the knowledge entry answered (its id), at an `answer` node
