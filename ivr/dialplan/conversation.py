"""A conversation with a dialplan without audio: the engine driven exactly like a call does.

`Conversation` starts a `DialogEngine` and performs its actions the way `ivr.session` does
for a real call — prompts are collected instead of played, `Listen` waits for the next
method call, `SetLanguage` switches the call's language, webhooks are performed for real over
HTTP (`ivr.webhooks.perform`, on the conversation's own event loop), `Transfer` and `Hangup`
end the call. Each input returns a `TurnResult` telling what the IVR said and understood.

    with Conversation(load_dialplan("dialplans/hotline.yaml"), caller="13800138000") as conv:
        conv.start()
        turn = conv.say_text("我想查一下话费")
        turn.intent, turn.node_after, turn.prompts

Keys follow the call's rules: a menu takes a key sequence as soon as it matches a choice, a
digit slot takes keys up to `#` or its maximum length; keys left over go to the next node.
`hear(transcript)` applies the call's rules for recognised speech (ignored noise, too low a
confidence = not understood). Used by `ivr simulate` and `ivr test`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ivr.dialplan.actions import (
    CallerInput,
    DialogEvent,
    Hangup,
    Listen,
    NoInput,
    Say,
    SetLanguage,
    Transfer,
    Understanding,
    Unintelligible,
    Webhook,
    WebhookResult,
)
from ivr.dialplan.engine import INTENT, DialogEngine, DialogState, Step
from ivr.dialplan.loader import LoadedDialplan, load_dialplan
from ivr.dialplan.models import Dialplan
from ivr.input_rules import dtmf_complete, expects_terminator, judge_speech
from ivr.understanding import match_intents

UrlRewrite = Callable[[str], str]


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
    visited: list[str] = field(default_factory=list)  # nodes that said or did something
    listening: Listen | None = None  # what the IVR now waits for (None when ended)

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


class ConversationEnded(RuntimeError):
    """Input was given after the call ended."""


class Conversation:
    """One call's conversation over a dialplan, driven by method calls. Not thread-safe."""

    def __init__(
        self,
        dialplan: LoadedDialplan | Dialplan | Path | str,
        *,
        variables: Mapping[str, Any] | None = None,
        caller: str | None = None,
        now: dt.datetime | None = None,
        language: str | None = None,
        url_rewrite: UrlRewrite | None = None,
        min_confidence: float = 0.25,
        max_no_speech_prob: float = 0.7,
    ) -> None:
        if isinstance(dialplan, (str, Path)):
            dialplan = load_dialplan(dialplan)
        plan = dialplan.plan if isinstance(dialplan, LoadedDialplan) else dialplan
        self.plan = plan
        self.loaded = dialplan if isinstance(dialplan, LoadedDialplan) else None
        self.engine = DialogEngine(plan)
        if language is not None and language not in plan.languages and (
                language not in self.engine.profiles):
            raise ValueError(f"language {language!r} is neither one of the dialplan's languages "
                             f"({', '.join(plan.languages)}) nor a profile "
                             f"({', '.join(sorted(self.engine.profiles))})")
        self.start_language = language
        self.initial_variables = dict(variables or {})
        if caller is not None:
            self.initial_variables["caller"] = caller
        if now is not None and now.tzinfo is None:
            raise ValueError("the fixed clock `now` needs a time zone (e.g. +08:00)")
        self.now = now
        self.url_rewrite = url_rewrite
        self.min_confidence = min_confidence
        self.max_no_speech_prob = max_no_speech_prob
        self.emotion: dict[str, Any] = {}
        self.state: DialogState | None = None
        self.listening: Listen | None = None
        self.transfer: TransferInfo | None = None
        self.hangup: str | None = None
        self.webhooks: list[WebhookCall] = []  # every webhook of the call, in order
        self.history: list[TurnResult] = []
        self._runner: asyncio.Runner | None = None
        self._http: Any = None  # aiohttp.ClientSession, made on the first webhook
        self._closed = False

    # ------------------------------------------------------------ lifecycle
    def __enter__(self) -> Conversation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP client and the event loop (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self._runner is not None:
            try:
                if self._http is not None:
                    self._runner.run(self._http.close())
            finally:
                self._http = None
                self._runner.close()
                self._runner = None

    # ------------------------------------------------------------ state
    @property
    def started(self) -> bool:
        return self.state is not None

    @property
    def ended(self) -> bool:
        return self.state is not None and self.state.ended

    @property
    def node(self) -> str:
        return self.state.node if self.state else self.plan.start

    def confirming_intent(self) -> str | None:
        """The intent of the "did you mean" question the call is waiting on, if any."""
        c = self.state.confirming if self.state else None
        return c[1] if c is not None and c[0] == INTENT else None

    @property
    def language(self) -> str:
        if self.state is not None:
            return self.state.language
        if self.start_language:  # before the start: the language it will start in
            from ivr.dialplan.engine import DialogState

            preview = DialogState(self.plan.start, self.plan.default_language)
            return self.engine.switch(preview, self.start_language)[0].language
        return self.plan.default_language

    @property
    def variables(self) -> dict[str, Any]:
        return dict(self.state.variables) if self.state else dict(self.initial_variables)

    def facts(self) -> dict[str, Any]:
        """What the engine may not fetch itself, like `CallSession.facts()`."""
        now = self.now.astimezone(dt.UTC) if self.now else dt.datetime.now(dt.UTC)
        return {"now": now, "emotion": dict(self.emotion)}

    # ------------------------------------------------------------ inputs
    def start(self) -> TurnResult:
        """Answer the call: run the dialplan up to the first question (or the end)."""
        if self.state is not None:
            raise RuntimeError("the conversation has already started")
        self._check_open()
        step = self.engine.start(self.initial_variables, self.facts(), self.start_language)
        return self._drive("start", self.plan.start, {}, step)

    def say_text(self, text: str, confidence: float = 1.0) -> TurnResult:
        """The caller says `text` (as the ASR would deliver it). Below `min_confidence` it
        is not understood, like in a call."""
        event: DialogEvent
        if not text.strip():
            return self.silence()
        if confidence < self.min_confidence:
            event = Unintelligible(text, confidence)
        else:
            event = CallerInput("speech", text, confidence)
        return self._input(f"speech: {text}", event, scores_for=text)

    def hear(self, transcript: Any) -> TurnResult:
        """Recognised speech (an `audio_models.protocols.Transcript`), judged like the call
        judges it: nothing or a typical Whisper invention is silence, low confidence (or
        likely no speech) is not understood."""
        text = transcript.text
        verdict = judge_speech(transcript, self.min_confidence, self.max_no_speech_prob)
        if verdict == "noise":
            return self.silence()
        if verdict == "unintelligible":
            return self._input(f"speech: {text}",
                               Unintelligible(text, transcript.confidence), scores_for=text)
        return self._input(f"speech: {text}", CallerInput("speech", text, transcript.confidence),
                           scores_for=text)

    def press(self, keys: str) -> TurnResult:
        """The caller presses `keys` ("1", "123456#"). Sequences are cut like a call cuts
        them; keys left when the call ends are dropped."""
        keys = keys.strip()
        if not keys or not re.fullmatch(r"[0-9*#]+", keys):
            raise ValueError(f"keys must be digits, * or #, got {keys!r}")
        self._check_listening()
        results: list[TurnResult] = []
        digits = ""
        terminator = False  # a '#' now only ends a slot answer already complete: dropped
        for i, key in enumerate(keys):
            if self.ended or self.listening is None:
                break
            if terminator and key == "#":
                terminator = False
                continue
            terminator = False
            digits += key
            if dtmf_complete(self.listening, digits):
                keyed = digits[:-1] if digits.endswith("#") and len(digits) > 1 else digits
                terminator = expects_terminator(self.listening, digits)
                digits = ""
                if keyed == "#" and self.listening.digits_slot:
                    continue  # a lone '#' in a slot is ignored
                results.append(self._input(f"keys: {keyed}", CallerInput("dtmf", keyed)))
            elif i == len(keys) - 1:  # then silence: the engine judges what was keyed
                results.append(self._input(f"keys: {digits}", CallerInput("dtmf", digits)))
        if not results:  # only ignored keys: the caller then stays silent
            return self.silence()
        return results[0] if len(results) == 1 else _merge(results)

    def silence(self) -> TurnResult:
        """The caller says nothing until the node's timeout."""
        return self._input("no input", NoInput())

    def set_emotion(self, emotion: Mapping[str, Any]) -> TurnResult:
        """Set (merge) the caller's emotion, e.g. {"anger": 0.8}, for later conditions."""
        self.emotion.update(emotion)
        node = self.node
        result = TurnResult("emotion", node, node, variables=self.variables,
                            language=self.language, ended=self.ended,
                            listening=self.listening)
        self.history.append(result)
        return result

    # ------------------------------------------------------------ driving
    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the conversation is closed")

    def _check_listening(self) -> None:
        self._check_open()
        if self.state is None:
            raise RuntimeError("start() the conversation first")
        if self.state.ended:
            raise ConversationEnded("the call has ended")

    def _input(self, label: str, event: DialogEvent, scores_for: str | None = None) -> TurnResult:
        self._check_listening()
        assert self.state is not None
        before_state = self.state
        scores = self._scores(scores_for, before_state) if scores_for else []
        step = self.engine.step(before_state, event, self.facts())
        result = self._drive(label, before_state.node, dict(before_state.variables), step)
        result.intent_scores = scores
        return result

    def _scores(self, text: str, state: DialogState) -> list[tuple[str, float]]:
        node = self.plan.nodes[state.node]
        choices = (node.menu.choices if node.menu else []) + list(self.plan.global_choices)
        names = list(dict.fromkeys(c.intent for c in choices if c.intent))
        if state.confirming is not None:
            return []
        return [(m.intent, round(m.score, 3))
                for m in match_intents(text, self.plan.intents, state.language, names,
                                       self.engine.profile(state))]

    def _drive(self, label: str, node_before: str, vars_before: dict[str, Any],
               step: Step) -> TurnResult:
        """Perform the step's actions like `CallSession._perform`, stepping on webhooks."""
        result = TurnResult(label, node_before, step.state.node,
                            understanding=step.understanding)
        self.listening = None
        while True:
            self.state = step.state
            webhook: Webhook | None = None
            for action in step.actions:
                if isinstance(action, Say):
                    result.prompts.append(SaidPrompt(action.text, action.language, action.node,
                                                     action.private))
                    _visit(result, action.node)
                elif isinstance(action, SetLanguage):
                    pass  # the state carries the language
                elif isinstance(action, Webhook):
                    webhook = action
                    _visit(result, action.node)
                    break
                elif isinstance(action, Listen):
                    self.listening = action
                    _visit(result, action.node)
                    break
                elif isinstance(action, Transfer):
                    self.transfer = result.transfer = TransferInfo(action.target, action.reason)
                    _visit(result, step.state.node)
                    break
                elif isinstance(action, Hangup):
                    self.hangup = result.hangup = action.reason
                    _visit(result, step.state.node)
                    break
            if webhook is None:
                break
            call = self._perform(webhook)
            result.webhooks.append(call)
            self.webhooks.append(call)
            step = self.engine.step(step.state, call.result, self.facts())
        assert self.state is not None
        result.node_after = self.state.node
        result.variables = dict(self.state.variables)
        result.changed = {k: v for k, v in self.state.variables.items()
                          if k not in vars_before or vars_before[k] != v}
        result.language = self.state.language
        result.ended = self.state.ended
        result.listening = self.listening
        self.history.append(result)
        return result

    def _perform(self, hook: Webhook) -> WebhookCall:
        sent = replace(hook, url=self.url_rewrite(hook.url)) if self.url_rewrite else hook
        if self._runner is None:
            self._runner = asyncio.Runner()
        started = time.monotonic()
        outcome = self._runner.run(self._request(sent))
        return WebhookCall(hook.node, hook.method, hook.url, sent.url, dict(hook.headers),
                           hook.body, outcome, round((time.monotonic() - started) * 1000))

    async def _request(self, hook: Webhook) -> WebhookResult:
        import aiohttp

        from ivr.webhooks import perform

        if self._http is None:
            self._http = aiohttp.ClientSession()
        return await perform(hook, self._http)


@contextlib.contextmanager
def quiet_webhook_log() -> Iterator[None]:
    """Without configured logging, keep `ivr.webhooks` retry warnings off the terminal (the
    tools print each webhook's outcome themselves)."""
    logger = logging.getLogger("ivr.webhook")
    if logging.getLogger().handlers:
        yield
        return
    handler = logging.NullHandler()
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


def _visit(result: TurnResult, node: str) -> None:
    if node and (not result.visited or result.visited[-1] != node):
        result.visited.append(node)


def _merge(results: list[TurnResult]) -> TurnResult:
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
            _visit(merged, n)
    merged.transfer = next((r.transfer for r in results if r.transfer), None)
    merged.hangup = next((r.hangup for r in results if r.hangup), None)
    return merged
