"""A conversation with a dialplan without audio: the call's own driver on scripted input.

`Conversation` runs the same `ivr.call.driver.CallDriver` and `TurnTaking` as a phone call,
with a `CallIO` that collects prompts instead of playing them and caller input from
`ivr.call.scripted.ScriptedInputs` on a virtual clock. Webhooks are performed for real over
HTTP (`ivr.call.webhooks.perform`, on the conversation's own event loop); `Transfer` and `Hangup`
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
the service's disclosure (`disclosure=`, in the languages of `disclosure_order` or the
dialplan's, or only in `language=` when given) come first, as on a call. Used by
`ivr simulate` and `ivr test`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ivr.call.driver import CallDriver
from ivr.call.inputs import KeyPressed, SpeechHeard, typed_transcript
from ivr.call.scripted import ScriptedInputs
from ivr.call.turn_taking import TurnRules, TurnTaking
from ivr.dialplan.actions import Listen
from ivr.dialplan.conversation_io import ConversationIO
from ivr.dialplan.engine import INTENT, DialogEngine, DialogState
from ivr.dialplan.loader import LoadedDialplan, load_dialplan
from ivr.dialplan.models import Dialplan
from ivr.dialplan.service_or_answer import OFFER
from ivr.dialplan.turn_result import (
    SaidPrompt,
    TransferInfo,
    TurnResult,
    WebhookCall,
    merge,
)
from ivr.understanding.intents import match_intents

__all__ = ["Conversation", "ConversationEnded", "SaidPrompt", "TransferInfo", "TurnResult",
           "WebhookCall", "quiet_webhook_log"]

UrlRewrite = Callable[[str], str]


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
        disclosure_order: Sequence[str] = (),
        no_input_timeout_s: float = 6.0,
        interdigit_timeout_s: float = 3.0,
        agents_available: bool = True,
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
        self.callbacks: list[dict[str, str]] = []  # call backs booked (number, queue)
        self.voicemails: list[dict[str, Any]] = []  # messages recorded (seconds, text)
        self.recording: bool | None = None  # the answer to a consent question
        self.agents_available = agents_available  # False: transfers with a fallback fail
        self.history: list[TurnResult] = []
        self.events: list[tuple[str, dict[str, Any]]] = []  # what a call would log
        rules = TurnRules(no_input_timeout_s, interdigit_timeout_s, min_confidence,
                          max_no_speech_prob)
        self.turns = TurnTaking(rules, lambda type_, **data: self.events.append((type_, data)))
        self.inputs = ScriptedInputs()
        self.io = ConversationIO(self)
        self.driver = CallDriver(self.engine, self.io, self.turns,
                                 variables=self.initial_variables, language=language,
                                 disclosure=disclosure, disclosure_order=disclosure_order)
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
        return self.state.node if self.state else self.engine.plan.start

    def confirming_intent(self) -> str | None:
        """The intent of the "did you mean" question the call is waiting on, if any
        ("a|b" for "X or Y?"; "<intent>|answer:<entry id>" for a menu's "<service>, or
        <entry>?", `service_or_answer`)."""
        c = self.state.confirming if self.state else None
        if c is not None and c[0] == OFFER:
            return f"{c[1][0]}|answer:{c[1][1]}"
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
        result = self._results[0] if len(self._results) == 1 else merge(self._results)
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
        node = self.engine.plan.nodes[state.node]
        choices = (node.menu.choices if node.menu else []) + list(self.plan.global_choices)
        names = list(dict.fromkeys(c.intent for c in choices if c.intent))
        if state.confirming is not None:
            return []
        return [(m.intent, round(m.score, 3))
                for m in match_intents(text, self.plan.intents, state.language, names,
                                       self.engine.profile(state))]

@contextlib.contextmanager
def quiet_webhook_log() -> Iterator[None]:
    """Without configured logging, keep `ivr.call.webhooks` retry warnings off the terminal (the
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


