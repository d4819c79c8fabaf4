"""What one input to a `Conversation` did: the `TurnResult` that `ivr test` checks and
`ivr simulate` prints, and its parts (prompts said, a transfer, webhooks performed)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from ivr.dialplan.actions import (
    CallerInput,
    DialogEvent,
    Listen,
    Understanding,
    Unintelligible,
    WebhookResult,
)
from ivr.dialplan.state import Step

__all__ = ["SaidPrompt", "TransferInfo", "TurnResult", "WebhookCall", "finish_partial", "label",
           "merge", "visit"]


@dataclass(frozen=True, slots=True)
class SaidPrompt:
    """One prompt the IVR said: text (or `file:...`), its language and the node saying it."""

    text: str
    language: str
    node: str
    private: bool = False  # `Say.private`: audio of it is never stored


@dataclass(frozen=True, slots=True)
class TransferInfo:
    target: str
    reason: str


@dataclass(frozen=True, slots=True)
class WebhookCall:
    """A webhook the conversation performed, and its outcome."""

    node: str
    method: str
    url: str  # as the dialplan built it
    sent_url: str  # after `url_rewrite`
    headers: dict[str, str]
    body: Any
    result: WebhookResult
    elapsed_ms: int


@dataclass
class TurnResult:
    """What one input (or the start) did."""

    input: str  # "start", "speech: ...", "keys: 12", "no input", "emotion"
    node_before: str
    node_after: str
    prompts: list[SaidPrompt] = field(default_factory=list)
    understanding: Understanding | None = None
    intent_scores: list[tuple[str, float]] = field(default_factory=list)  # best first
    variables: dict[str, Any] = field(default_factory=dict)
    changed: dict[str, Any] = field(default_factory=dict)  # variables set in this turn
    language: str = ""
    ended: bool = False
    transfer: TransferInfo | None = None
    hangup: str | None = None  # reason, when the IVR hung up
    webhooks: list[WebhookCall] = field(default_factory=list)
    callback: dict[str, str] | None = None  # a call back booked: number, queue
    voicemail: dict[str, Any] | None = None  # a message recorded: seconds, text
    recording: bool | None = None  # the caller's answer to a consent question
    visited: list[str] = field(default_factory=list)  # nodes that said or did something
    listening: Listen | None = None  # what the IVR now waits for (None when ended)
    before: dict[str, Any] = field(default_factory=dict, repr=False)  # variables before

    @property
    def said(self) -> list[str]:
        return [p.text for p in self.prompts]

    @property
    def intent(self) -> str | None:
        return self.understanding.intent if self.understanding else None

    @property
    def score(self) -> float:
        return self.understanding.score if self.understanding else 0.0

    @property
    def outcome(self) -> str | None:
        return self.understanding.outcome if self.understanding else None

    @property
    def slots(self) -> dict[str, Any]:
        return dict(self.understanding.slots) if self.understanding else {}



def visit(result: TurnResult, node: str) -> None:
    if node and (not result.visited or result.visited[-1] != node):
        result.visited.append(node)


def merge(results: list[TurnResult]) -> TurnResult:
    """Several inputs made by one `press` as one result (the last one's understanding)."""
    first, last = results[0], results[-1]
    merged = replace(last, input=" + ".join(r.input for r in results),
                     node_before=first.node_before,
                     prompts=[p for r in results for p in r.prompts],
                     webhooks=[w for r in results for w in r.webhooks],
                     changed={k: v for r in results for k, v in r.changed.items()})
    merged.visited = []
    for r in results:
        for n in r.visited:
            visit(merged, n)
    merged.transfer = next((r.transfer for r in results if r.transfer), None)
    merged.hangup = next((r.hangup for r in results if r.hangup), None)
    merged.callback = next((r.callback for r in results if r.callback), None)
    merged.voicemail = next((r.voicemail for r in results if r.voicemail), None)
    merged.recording = next((r.recording for r in results if r.recording is not None), None)
    return merged


def label(event: DialogEvent) -> str:
    if isinstance(event, CallerInput):
        return f"keys: {event.text}" if event.kind == "dtmf" else f"speech: {event.text}"
    if isinstance(event, Unintelligible):
        return f"speech: {event.text}"
    return "no input"


def finish_partial(r: TurnResult, before: Step) -> None:
    """A result followed by another answer of the same input ends where that one began."""
    r.node_after = before.state.node
    r.variables = dict(before.state.variables)
    r.language = before.state.language
