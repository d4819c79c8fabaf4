"""A conversation with a dialplan without audio: the call's own driver on scripted input.

`Conversation` runs the same `ivr.call.driver.CallDriver` and `TurnTaking` as a phone call,
with a `CallIO` that collects prompts instead of playing them and caller input from
`ivr.call.scripted.ScriptedInputs` on a virtual clock. Webhooks are performed for real over
HTTP (`ivr.webhooks.perform`, on the conversation's own event loop); `Transfer` and `Hangup`
end the call. Each input returns a `TurnResult` telling what the IVR said and understood.

    with Conversation(load_dialplan("dialplans/hotline.yaml"), caller="13800138000") as conv:
        conv.start()
        turn = conv.say_text("我想查一下话费")
        turn.intent, turn.node_after, turn.prompts

Each input is given at once and then the caller stays silent: keys are cut into answers by
the call's rules (a menu takes a key sequence as soon as it matches a choice, a digit slot
takes keys up to `#` or its maximum length, a '#' after a slot answer complete by its length
is dropped, keys left over go to the next question, keys then silence are judged after the
interdigit timeout); typed text and `hear(transcript)` are judged like recognised speech
(noise ignored, too low a confidence = not understood). The dialplan's consent question and
the service's disclosure (`disclosure=`) come first, as on a call. Used by `ivr simulate` and
`ivr test`.
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

from ivr.call.driver import CallDriver
from ivr.call.inputs import KeyPressed, SpeechHeard, typed_transcript
from ivr.call.scripted import ScriptedInputs
from ivr.call.turn_taking import TurnRules, TurnTaking
from ivr.dialplan.actions import (
    CallerInput,
    DialogEvent,
    Listen,
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
        disclosure: Mapping[str, str] | None = None,
        no_input_timeout_s: float = 6.0,
        interdigit_timeout_s: float = 3.0,
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
        self.initial_variables = dict(variables or {})
        if caller is not None:
            self.initial_variables["caller"] = caller
        if now is not None and now.tzinfo is None:
            raise ValueError("the fixed clock `now` needs a time zone (e.g. +08:00)")
        self.now = now
        self.url_rewrite = url_rewrite
        self.min_confidence = min_confidence
        self.emotion: dict[str, Any] = {}
        self.state: DialogState | None = None
        self.listening: Listen | None = None
        self.transfer: TransferInfo | None = None
        self.hangup: str | None = None
        self.webhooks: list[WebhookCall] = []  # every webhook of the call, in order
        self.history: list[TurnResult] = []
        self.events: list[tuple[str, dict[str, Any]]] = []  # what a call would log
        rules = TurnRules(no_input_timeout_s, interdigit_timeout_s, min_confidence,
                          max_no_speech_prob)
        self.turns = TurnTaking(rules, lambda type_, **data: self.events.append((type_, data)))
        self.inputs = ScriptedInputs()
        self.io = _ConversationIO(self)
        self.driver = CallDriver(self.engine, self.io, self.turns,
                                 variables=self.initial_variables, language=language,
                                 disclosure=disclosure)
        self._results: list[TurnResult] = []  # of the input being handled
        self._pending_label = False
        self._task: asyncio.Task[None] | None = None
        self._runner: asyncio.Runner | None = None
        self._http: Any = None  # aiohttp.ClientSession, made on the first webhook
        self._closed = False

    # ------------------------------------------------------------ lifecycle
    def __enter__(self) -> Conversation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """End the call's driver, close the HTTP client and the event loop (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self._runner is not None:
            try:
                if self._task is not None and not self._task.done():
                    self._task.cancel()
                    self._runner.run(asyncio.wait([self._task]))
                if self._http is not None:
                    self._runner.run(self._http.close())
            finally:
                self._http = None
                self._runner.close()
                self._runner = None

    # ------------------------------------------------------------ state
    @property
    def started(self) -> bool:
        return self._task is not None

    @property
    def ended(self) -> bool:
        return self._task is not None and (self._task.done() or (
            self.state is not None and self.state.ended))

    @property
    def node(self) -> str:
        if self.state is None and self.listening is not None:
            return self.listening.node  # the opening's question (consent)
        return self.state.node if self.state else self.plan.start

    def confirming_intent(self) -> str | None:
        """The intent of the "did you mean" question the call is waiting on, if any."""
        c = self.state.confirming if self.state else None
        return c[1] if c is not None and c[0] == INTENT else None

    @property
    def language(self) -> str:
        return self.state.language if self.state is not None else self.driver.language

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
        if self._task is not None:
            raise RuntimeError("the conversation has already started")
        self._check_open()
        self._runner = asyncio.Runner()
        return self._run("start", lambda: None, start=True)

    def say_text(self, text: str, confidence: float = 1.0) -> TurnResult:
        """The caller says `text` (as the ASR would deliver it), judged like recognised
        speech: below `min_confidence` it is not understood, like in a call."""
        if not text.strip():
            return self.silence()
        return self.hear(typed_transcript(text, self.language, confidence))

    def hear(self, transcript: Any) -> TurnResult:
        """Recognised speech (an `audio_models.protocols.Transcript`), judged like the call
        judges it: nothing or a typical Whisper invention is silence, low confidence (or
        likely no speech) is not understood."""
        self._check_listening()
        return self._run(f"speech: {transcript.text}",
                         lambda: self.inputs.feed(SpeechHeard(transcript)))

    def press(self, keys: str) -> TurnResult:
        """The caller presses `keys` ("1", "123456#") at once, then stays silent. Keys are
        cut into answers like a call cuts them; keys left when the call ends are dropped."""
        keys = keys.strip()
        if not keys or not re.fullmatch(r"[0-9*#]+", keys):
            raise ValueError(f"keys must be digits, * or #, got {keys!r}")
        self._check_listening()

        def feed() -> None:
            now = self.inputs.now()
            self.inputs.feed(*(KeyPressed(k, now) for k in keys if self.turns.key(k, now)))

        return self._run(f"keys: {keys}", feed)

    def silence(self) -> TurnResult:
        """The caller says nothing until the node's timeout."""
        self._check_listening()
        return self._run("no input", self.inputs.feed)

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
        if self._task is None:
            raise RuntimeError("start() the conversation first")
        if self.ended:
            raise ConversationEnded("the call has ended")

    def _run(self, label: str, feed: Callable[[], None], start: bool = False) -> TurnResult:
        """Feed the caller's action, run the call until it waits for more (or ends), and
        return what happened (several answers, e.g. keys for two menus, as one result)."""
        assert self._runner is not None
        first = TurnResult(label, self.node, self.node)
        first.before = self.variables
        self._results = [first]
        self._pending_label = True  # the first answer names the result
        if start:
            self._task = self._runner.get_loop().create_task(self.driver.run())
        feed()
        self._runner.run(self._settle())
        for r in self._results:
            self._finish(r)
        result = self._results[0] if len(self._results) == 1 else _merge(self._results)
        self.history.append(result)
        return result

    async def _settle(self) -> None:
        assert self._task is not None
        waiting = asyncio.ensure_future(self.inputs.waiting.wait())
        await asyncio.wait([self._task, waiting], return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()
        if self._task.done() and not self._task.cancelled() and self._task.exception():
            raise self._task.exception()  # type: ignore[misc]

    def _finish(self, r: TurnResult) -> None:
        if r is self._results[-1]:
            state = self.state
            r.node_after = state.node if state else self.node
            r.variables = self.variables
            r.language = self.language
            r.ended = self.ended
            r.listening = None if self.ended else self.listening
        r.changed = {k: v for k, v in r.variables.items()
                     if k not in r.before or r.before[k] != v}

    def _scores(self, text: str, state: DialogState) -> list[tuple[str, float]]:
        node = self.plan.nodes[state.node]
        choices = (node.menu.choices if node.menu else []) + list(self.plan.global_choices)
        names = list(dict.fromkeys(c.intent for c in choices if c.intent))
        if state.confirming is not None:
            return []
        return [(m.intent, round(m.score, 3))
                for m in match_intents(text, self.plan.intents, state.language, names,
                                       self.engine.profile(state))]

class _ConversationIO:
    """The driver's `CallIO` for a `Conversation`: prompts are collected into the turn's
    result instead of played, input comes from `ScriptedInputs`, webhooks are real HTTP."""

    def __init__(self, conv: Conversation) -> None:
        self.conv = conv
        self.inputs = conv.inputs

    @property
    def _results(self) -> list[TurnResult]:
        return self.conv._results

    def facts(self) -> dict[str, Any]:
        return self.conv.facts()

    @property
    def hung_up(self) -> bool:
        return self.conv.hangup is not None

    def event(self, type_: str, **data: Any) -> None:
        self.conv.events.append((type_, data))

    async def say(self, say: Say, sensitive: bool = False) -> None:
        r = self._results[-1]
        r.prompts.append(SaidPrompt(say.text, say.language, say.node, say.private))
        _visit(r, say.node)

    async def wait_playout(self) -> None:
        return None

    def listening(self, listen: Listen | None, step: Step | None) -> None:
        self.conv.listening = listen
        if listen is not None:
            _visit(self._results[-1], listen.node)
        else:
            self.inputs.answered()

    def stepped(self, step: Step) -> None:
        self.conv.state = step.state

    def turn(self, before: Step, answer: tuple[DialogEvent, dict[str, Any]], new: Step) -> None:
        event = answer[0]
        label = _label(event)
        conv = self.conv
        if conv._pending_label:
            conv._pending_label = False
            r = self._results[-1]
            r.input, r.node_before, r.understanding = label, before.state.node, new.understanding
        else:
            _finish_partial(self._results[-1], before)
            r = TurnResult(label, before.state.node, new.state.node,
                           understanding=new.understanding)
            r.before = dict(before.state.variables)
            self._results.append(r)
        if isinstance(event, (CallerInput, Unintelligible)) and getattr(
                event, "kind", "speech") == "speech":
            r.intent_scores = conv._scores(event.text, before.state)
        conv.state = new.state

    def set_language(self, action: SetLanguage) -> None:
        return None  # the state carries the language

    async def webhook(self, hook: Webhook) -> WebhookResult:
        rewrite = self.conv.url_rewrite
        sent = replace(hook, url=rewrite(hook.url)) if rewrite else hook
        started = time.monotonic()
        outcome = await self._request(sent)
        call = WebhookCall(hook.node, hook.method, hook.url, sent.url, dict(hook.headers),
                           hook.body, outcome, round((time.monotonic() - started) * 1000))
        self._results[-1].webhooks.append(call)
        _visit(self._results[-1], hook.node)
        self.conv.webhooks.append(call)
        return outcome

    async def _request(self, hook: Webhook) -> WebhookResult:
        import aiohttp

        from ivr.webhooks import perform

        if self.conv._http is None:
            self.conv._http = aiohttp.ClientSession()
        return await perform(hook, self.conv._http)

    async def transfer(self, action: Transfer, step: Step) -> None:
        self.conv.transfer = self._results[-1].transfer = TransferInfo(action.target,
                                                                      action.reason)
        _visit(self._results[-1], step.state.node)

    def hang_up(self, reason: str, step: Step | None) -> None:
        self.conv.hangup = self._results[-1].hangup = reason
        _visit(self._results[-1], step.state.node if step else "consent")

    def consented(self, answer: bool | None) -> None:
        if answer:
            self.event("recording_consented")


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


def _label(event: DialogEvent) -> str:
    if isinstance(event, CallerInput):
        return f"keys: {event.text}" if event.kind == "dtmf" else f"speech: {event.text}"
    if isinstance(event, Unintelligible):
        return f"speech: {event.text}"
    return "no input"


def _finish_partial(r: TurnResult, before: Step) -> None:
    """A result followed by another answer of the same input ends where that one began."""
    r.node_after = before.state.node
    r.variables = dict(before.state.variables)
    r.language = before.state.language
