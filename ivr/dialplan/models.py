"""Dialplan data model (pydantic). The loader validates YAML against these models, and the
JSON Schema shipped for editors is generated from them.

A dialplan is a set of named nodes; each node performs exactly one verb (see `VERBS`).
Prompts are one text for every language or a mapping language -> text; a text starting with
`file:` names a recorded audio file (relative to the dialplan); `{name}` in a text is
replaced by a call variable. Conditions use the safe expression language of `expr.py`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ivr.dialplan.expr import ExprError, compile_expr

Prompt = str | dict[str, str]
PerLanguageList = list[str] | dict[str, list[str]]
Scalar = str | int | float | bool | None

VERBS = ("say", "menu", "gather", "set", "branch", "webhook", "hours", "language", "flow",
         "return", "transfer", "hangup")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"



def pick_text(texts: Mapping[str, str] | str | None, language: str) -> str | None:
    """The text for `language` (zh-CN) from per-language texts: an exact key, else one of the
    same base language (zh), else None."""
    if not texts:
        return None
    if isinstance(texts, str):
        return texts
    if language in texts:
        return texts[language]
    base = language.split("-")[0]
    return next((t for k, t in texts.items() if k.split("-")[0] == base), None)

class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _check_expr(text: str) -> str:
    try:
        compile_expr(text)
    except ExprError as e:
        raise ValueError(f"bad expression {text!r} at column {e.position + 1}: {e}") from e
    return text


def _check_set(values: dict[str, Scalar]) -> None:
    for name, value in values.items():
        if not re.match(_NAME, name):
            raise ValueError(f"invalid variable name {name!r}")
        if isinstance(value, str) and value.startswith("="):
            _check_expr(value[1:])


class Intent(_Model):
    """Something a caller may want, recognised from examples and keywords."""

    examples: PerLanguageList = Field(default_factory=list, description="Example utterances.")
    keywords: PerLanguageList = Field(
        default_factory=list, description="Words or phrases that alone identify the intent."
    )
    label: Prompt | None = Field(
        None, description="How to name it when asking the caller to confirm it (查询话费)."
    )


class Choice(_Model):
    """One way out of a menu: a key, an intent, or both."""

    dtmf: str | None = Field(None, pattern=r"^[0-9*#]{1,8}$", description="Key(s) selecting it.")
    intent: str | None = Field(None, description="Intent (from `intents`) selecting it.")
    say: Prompt | None = Field(None, description="Prompt played when chosen.")
    language: str | None = Field(None, description="Switch the call to this language.")
    set: dict[str, Scalar] = Field(
        default_factory=dict, description="Variables set when chosen (like the `set` verb)."
    )
    goto: str = Field(description="Node to continue at.")

    @model_validator(mode="after")
    def _needs_trigger(self) -> Choice:
        if self.dtmf is None and self.intent is None:
            raise ValueError("a choice needs `dtmf`, `intent` or both")
        _check_set(self.set)
        return self


class Retry(_Model):
    """No-input / no-match handling of a listening node (defaults come from `defaults`)."""

    no_input: list[Prompt] | None = Field(None, description="Escalating prompts after silence.")
    no_match: list[Prompt] | None = Field(None, description="Escalating prompts after no match.")
    max_attempts: int | None = Field(None, ge=1, description="Failures before `on_failure`.")
    on_failure: str | None = Field(None, description="Node after too many failures.")
    timeout_s: float | None = Field(None, gt=0, description="Seconds of silence = no input.")


class Menu(Retry):
    prompt: Prompt = Field(description="What the caller hears.")
    choices: list[Choice] = Field(min_length=1, description="Options.")


SlotType = Literal["digits", "number", "amount", "date", "time", "phone", "id_card",
                   "yes_no", "text", "regex"]


class Slot(_Model):
    name: str = Field(pattern=_NAME, description="Variable receiving it.")
    type: SlotType = Field(description="What to collect (see dialplans/README.md).")
    min_length: int = Field(1, ge=1, description="Fewest digits (digits, keyed number).")
    max_length: int = Field(20, ge=1, description="Most digits (digits, keyed number).")
    min_value: float | None = Field(None, description="Smallest accepted value (number, amount).")
    max_value: float | None = Field(None, description="Largest accepted value (number, amount).")
    pattern: str | None = Field(None, description="Regular expression to match (regex).")
    sensitive: bool = Field(
        False, description="Personal data (card, ID, password): masked in everything stored "
        "and logged, keys masked, recording paused while it is asked."
    )

    @model_validator(mode="after")
    def _pattern(self) -> Slot:
        if self.type == "regex":
            if not self.pattern:
                raise ValueError("a `regex` slot needs `pattern`")
            try:
                re.compile(self.pattern)
            except re.error as e:
                raise ValueError(f"invalid pattern {self.pattern!r}: {e}") from e
        return self


class Gather(Retry):
    prompt: Prompt = Field(description="What the caller hears.")
    slot: Slot
    confirm: bool = Field(False, description="Read the value back and ask yes/no.")
    confirm_prompt: Prompt | None = Field(
        None, description="Read-back prompt; `{value}` is the value heard (has a default)."
    )
    next: str = Field(description="Node after the slot is filled.")


class BranchCase(_Model):
    if_: str = Field(alias="if", description="Condition (expression language).")
    goto: str = Field(description="Node when the condition holds.")

    _expr = field_validator("if_")(_check_expr)


class Webhook(_Model):
    url: str = Field(description="http(s) URL; `{name}` inserts a variable (URL-encoded).")
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = Field("GET", description="Method.")
    headers: dict[str, str] = Field(default_factory=dict, description="Request headers.")
    body: dict[str, Any] | None = Field(
        None, description="JSON body; string values may use `{name}`."
    )
    timeout_s: float = Field(3.0, gt=0, le=30, description="Seconds per attempt.")
    retries: int = Field(1, ge=0, le=5, description="Extra attempts after a failure.")
    save: dict[str, str] = Field(
        default_factory=dict, description="Variable -> dotted path in the JSON response."
    )
    on_failure: str | None = Field(None, description="Node when every attempt failed.")


class Hours(_Model):
    calendar: str = Field(description="Calendar (from `calendars`) to check now against.")
    open: str = Field(description="Node when open.")
    closed: str = Field(description="Node when closed (outside hours or on a holiday).")


class Transfer(_Model):
    say: Prompt | None = Field(None, description="Announcement before transferring.")
    target: str = Field(description="`queue:NAME` or a SIP URI of an agent.")
    reason: str = Field("dialplan", description="Why (stored as the escalation reason).")


class Hangup(_Model):
    say: Prompt | None = Field(None, description="Goodbye prompt.")
    reason: str = Field("completed", description="End reason stored with the call.")


class Node(_Model):
    """A step of the conversation: exactly one verb plus common fields."""

    say: Prompt | None = Field(None, description="Play a prompt, then go to `next`.")
    menu: Menu | None = None
    gather: Gather | None = None
    set: dict[str, Scalar] | None = Field(
        None, description="Set variables; a string starting with '=' is an expression."
    )
    branch: list[BranchCase] | None = Field(
        None, description="First case whose condition holds wins; otherwise `next`."
    )
    webhook: Webhook | None = None
    hours: Hours | None = None
    language: str | None = Field(None, description="Switch the call's language, then `next`.")
    flow: str | None = Field(None, description="Run the sub-flow starting at this node; "
                             "its `return` comes back to `next`.")
    return_: bool | None = Field(None, alias="return",
                                 description="End a sub-flow: continue at the caller's `next`.")
    transfer: Transfer | None = None
    hangup: Hangup | None = None
    soothing: Prompt | None = Field(
        None, description="Calmer wording of this node's prompt, used in soothing mode."
    )
    optional: bool = Field(False, description="A `say` node skipped in soothing mode.")
    next: str | None = Field(None, description="Following node.")
    barge_in: bool | None = Field(None, description="May the caller interrupt this prompt?")
    prompt_language: str | None = Field(
        None, description="Speak this node's prompt in this language whatever the call's is."
    )

    @model_validator(mode="after")
    def _one_verb(self) -> Node:
        verbs = [v for v in VERBS if self.verb_value(v) is not None]
        if len(verbs) != 1:
            raise ValueError(f"a node needs exactly one verb ({', '.join(VERBS)}), got {verbs}")
        if verbs[0] in ("say", "set", "branch", "webhook", "language", "flow") and not self.next:
            raise ValueError(f"a `{verbs[0]}` node needs `next`")
        _check_set(self.set or {})
        return self

    def verb_value(self, verb: str) -> Any:
        return getattr(self, "return_" if verb == "return" else verb)

    @property
    def verb(self) -> str:
        return next(v for v in VERBS if self.verb_value(v) is not None)


class Calendar(_Model):
    """Opening hours: weekly ranges in a time zone, minus holidays."""

    timezone: str = Field("Asia/Shanghai", description="IANA time zone, e.g. Asia/Shanghai.")
    weekly: dict[str, str | list[str]] = Field(
        description='Day or day range -> "HH:MM-HH:MM" (or a list): {mon-fri: "09:00-18:00"}.'
    )
    holidays: list[dt.date] = Field(default_factory=list, description="Closed all day.")

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        return _valid_timezone(v)

    @field_validator("weekly")
    @classmethod
    def _weekly(cls, v: dict[str, str | list[str]]) -> dict[str, str | list[str]]:
        for days, spans in v.items():
            _days(days)
            for span in [spans] if isinstance(spans, str) else spans:
                _span(span)
        return v

    def is_open(self, when: dt.datetime) -> bool:
        """Is `when` (timezone-aware) within opening hours?"""
        from zoneinfo import ZoneInfo

        local = when.astimezone(ZoneInfo(self.timezone))
        if local.date() in self.holidays:
            return False
        day = WEEKDAYS[local.weekday()]
        minute = local.hour * 60 + local.minute
        for days, spans in self.weekly.items():
            if day in _days(days):
                for span in [spans] if isinstance(spans, str) else spans:
                    start, end = _span(span)
                    if start <= minute < end:
                        return True
        return False


def _valid_timezone(name: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise ValueError(f"unknown time zone {name!r}") from e
    return name


def _days(spec: str) -> list[str]:
    spec = spec.strip().lower()
    if "-" in spec:
        a, b = (s.strip() for s in spec.split("-", 1))
        if a not in WEEKDAYS or b not in WEEKDAYS:
            raise ValueError(f"bad day range {spec!r} (use mon..sun)")
        i, j = WEEKDAYS.index(a), WEEKDAYS.index(b)
        return list(WEEKDAYS[i : j + 1]) if i <= j else list(WEEKDAYS[i:] + WEEKDAYS[: j + 1])
    if spec not in WEEKDAYS:
        raise ValueError(f"bad day {spec!r} (use mon..sun or mon-fri)")
    return [spec]


def _span(span: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", span)
    if not m:
        raise ValueError(f'bad hours {span!r} (use "HH:MM-HH:MM")')
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if not (0 <= start < end <= 24 * 60):
        raise ValueError(f"bad hours {span!r}: start must be before end, within the day")
    return start, end


class EmotionHandling(_Model):
    """How the hotline reacts to the caller's emotion."""

    sensitivity: float = Field(
        1.0, gt=0, le=3, description="Scales emotion scores: >1 reacts sooner, <1 later."
    )
    apology: Prompt | None = Field(
        None, description="Said once when soothing mode starts, before the next prompt."
    )
    escalate_to: str | None = Field(
        None, description="Node (usually a transfer) after repeated anger; null: never."
    )


class Consent(_Model):
    """Ask the caller before recording (after the disclosure, before the first node)."""

    prompt: Prompt = Field(
        description="The question; the caller agrees with 1 or yes, refuses with 2 or no."
    )
    refuse: Literal["continue", "hangup"] = Field(
        "continue", description="On refusal (or no answer): go on unrecorded, or end the call."
    )
    refused_say: Prompt | None = Field(
        None, description="Said when the caller refuses (before going on or hanging up)."
    )
    timeout_s: float = Field(6, gt=0, description="How long to wait for the answer.")


class Defaults(Retry):
    intent_threshold: float = Field(0.5, ge=0, le=1, description="Lowest intent score accepted.")
    confirm_threshold: float | None = Field(
        0.4, ge=0, le=1,
        description="Between this and intent_threshold, ask whether the caller meant the best "
        "intent (when it has a `label`); null: never ask.",
    )
    confirm_intent_prompt: Prompt | None = Field(
        None, description="The question; `{label}` is the intent's label (has a default)."
    )


class Dialplan(_Model):
    name: str
    description: str = ""
    languages: list[str] = Field(min_length=1, description="Languages prompts are written in.")
    default_language: str
    start: str = Field(description="First node.")
    timezone: str = Field(
        "Asia/Shanghai", description="The hotline's time zone: dates, times and `now.*`."
    )
    include: list[str] = Field(
        default_factory=list, description="Other files whose nodes, intents and calendars join."
    )
    variables: dict[str, Scalar] = Field(
        default_factory=dict, description="Variables a call starts with (declared defaults)."
    )
    profiles: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Language/dialect profiles to add or adjust for this hotline (lexicon "
        "words, initial prompt, model...), see the profiles section.",
    )
    language_detection: bool = Field(
        True, description="Detect the caller's language and dialect on the first utterance "
        "(once per call) unless they chose one by key or speech."
    )
    defaults: Defaults = Field(default_factory=Defaults)
    emotion: EmotionHandling = Field(default_factory=EmotionHandling)
    consent: Consent | None = Field(
        None, description="Ask for consent to record before the first node; null: the "
        "disclosure alone (see Personal data in the main README)."
    )
    intents: dict[str, Intent] = Field(default_factory=dict)
    calendars: dict[str, Calendar] = Field(default_factory=dict)
    global_choices: list[Choice] = Field(
        default_factory=list, description="Choices valid in every menu (e.g. 0 = agent)."
    )
    nodes: dict[str, Node]

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, v: str) -> str:
        return _valid_timezone(v)

    @model_validator(mode="after")
    def _languages(self) -> Dialplan:
        if self.default_language not in self.languages:
            raise ValueError(f"default_language {self.default_language!r} is not in languages")
        return self

    def has(self, kind: str, name: str) -> bool:
        table = {"node": self.nodes, "intent": self.intents, "calendar": self.calendars}[kind]
        return name in table


RefPath = tuple[str | int, ...]


def references(plan: Dialplan) -> Iterator[tuple[RefPath, str, str]]:
    """(YAML path, kind, name) of every reference to a node, intent or calendar."""
    yield ("start",), "node", plan.start
    if plan.defaults.on_failure:
        yield ("defaults", "on_failure"), "node", plan.defaults.on_failure
    if plan.emotion.escalate_to:
        yield ("emotion", "escalate_to"), "node", plan.emotion.escalate_to
    for i, c in enumerate(plan.global_choices):
        yield ("global_choices", i, "goto"), "node", c.goto
        if c.intent:
            yield ("global_choices", i, "intent"), "intent", c.intent
    for nid, node in plan.nodes.items():
        at: RefPath = ("nodes", nid)
        if node.next:
            yield (*at, "next"), "node", node.next
        if node.flow:
            yield (*at, "flow"), "node", node.flow
        for verb in ("menu", "gather"):
            listener = getattr(node, verb)
            if listener is not None and listener.on_failure:
                yield (*at, verb, "on_failure"), "node", listener.on_failure
        if node.gather:
            yield (*at, "gather", "next"), "node", node.gather.next
        for i, c in enumerate(node.menu.choices if node.menu else []):
            yield (*at, "menu", "choices", i, "goto"), "node", c.goto
            if c.intent:
                yield (*at, "menu", "choices", i, "intent"), "intent", c.intent
        for i, case in enumerate(node.branch or []):
            yield (*at, "branch", i, "goto"), "node", case.goto
        if node.webhook and node.webhook.on_failure:
            yield (*at, "webhook", "on_failure"), "node", node.webhook.on_failure
        if node.hours:
            yield (*at, "hours", "calendar"), "calendar", node.hours.calendar
            yield (*at, "hours", "open"), "node", node.hours.open
            yield (*at, "hours", "closed"), "node", node.hours.closed


def dialplan_json_schema() -> dict[str, object]:
    """JSON Schema of a dialplan file, from the models the loader validates with."""
    schema = Dialplan.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "IVR dialplan"
    return schema
