"""Dialplan nodes (pydantic): a node performs exactly one verb (see `VERBS`); these are the
verbs' fields. The root `Dialplan` and its settings are in `models.py`.

Prompts are one text for every language or a mapping language -> text; a text starting with
`file:` names a recorded audio file (relative to the dialplan); `{name}` in a text is
replaced by a call variable, `{name|filter}` read aloud as the say-as filter says (say_as.py;
an unknown filter is a load error). Conditions use the safe expression language of `expr.py`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from ivr.dialplan.expr import ExprError, compile_expr
from ivr.dialplan.say_as import template_problems


def _check_filters(prompt: str | dict[str, str]) -> str | dict[str, str]:
    """A prompt whose `{name|filter}` templates name only known say-as filters."""
    texts = {"": prompt} if isinstance(prompt, str) else prompt
    problems = [f"{lang + ': ' if lang else ''}{p}" for lang, text in texts.items()
                for p in template_problems(text)]
    if problems:
        raise ValueError("; ".join(problems))
    return prompt


Prompt = Annotated[str | dict[str, str], AfterValidator(_check_filters)]
Scalar = str | int | float | bool | None

VERBS = ("say", "menu", "gather", "answer", "set", "branch", "webhook", "hours", "language",
         "flow", "return", "consent", "callback", "voicemail", "survey", "transfer", "hangup")
_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
CHECK_PROMPT = {"zh": "这个回答解决您的问题了吗？", "en": "Did that answer your question?"}


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


def per_language(values: Mapping[str, float], language: str, default: float) -> float:
    """The value for `language` (zh-CN) from values keyed by a full tag or its first part."""
    return values.get(language, values.get(language.split("-")[0], default))


class StrictModel(BaseModel):
    # every dialplan model: an unknown key is an error (a typo must not pass silently)
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


class Choice(StrictModel):
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


class Retry(StrictModel):
    """No-input / no-match handling of a listening node (defaults come from `defaults`)."""

    no_input: list[Prompt] | None = Field(None, description="Escalating prompts after silence.")
    no_match: list[Prompt] | None = Field(None, description="Escalating prompts after no match.")
    max_attempts: int | None = Field(None, ge=1, description="Failures before `on_failure`.")
    on_failure: str | None = Field(None, description="Node after too many failures.")
    timeout_s: float | None = Field(None, gt=0, description="Seconds of silence = no input.")


class Menu(Retry):
    prompt: Prompt = Field(description="What the caller hears.")
    choices: list[Choice] = Field(min_length=1, description="Options.")
    questions: str | None = Field(
        None, description="An `answer` node: a spoken question that no choice here takes (or "
        "that takes a choice going to that node) and that its knowledge base answers "
        "confidently is answered there at once, without the caller asking it again; any "
        "other utterance is routed as without it (dialplans/README.md, \"Questions asked at "
        "a menu\").")
    offer_prompt: Prompt | None = Field(
        None, description="With `questions`: the question asked when a question a service "
        "intent heard is nearly as close to a knowledge entry (\"Did you want to {service}, "
        "or hear about {entry}?\": the intent's `label`, the entry's `title`); without it a "
        "built-in wording (dialplans/README.md, \"A question with a service word\").")


SlotType = Literal["digits", "number", "amount", "date", "time", "phone", "id_card",
                   "yes_no", "text", "regex"]


class Slot(StrictModel):
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


class Answer(Retry):
    """Answer the caller's free question from a knowledge base (dialplans/README.md,
    "Knowledge bases"): the best entry's answer is said, then `check` is asked; yes goes to the
    entry's `follow_up` (or `next`), no and questions without a close enough entry are failed
    attempts (the `no_match` prompts, then `on_failure`)."""

    prompt: Prompt = Field(description="What the caller hears (\"What is your question?\").")
    knowledge: str = Field(
        pattern=r"^[^\x00]{1,300}$",
        description="Folder of `<language>.yaml` knowledge files, relative to the file "
        "that names it (e.g. knowledge/hotline).")
    min_score: dict[str, float] = Field(
        default_factory=lambda: {"zh": 0.92, "yue": 0.92, "en": 0.90},
        description="Lowest retrieval score (0..1) of an entry that is answered, per language "
        "(a full tag like zh-CN, or its first part); below it the question counts as not "
        "understood.")
    check: Prompt | None = Field(
        None, description="Asked after the answer; default 这个回答解决您的问题了吗？/ Did that "
        "answer your question? (1 or yes, 2 or no).")
    next: str = Field(description="Node after a yes (unless the entry has a `follow_up`).")

    def threshold(self, language: str) -> float:
        return per_language(self.min_score, language, 0.9)

    def check_prompt(self, languages: list[str]) -> Prompt:
        """`check`, or the default question in each of `languages`."""
        return self.check or {lang: CHECK_PROMPT["zh" if lang.startswith(("zh", "yue"))
                                                 else "en"] for lang in languages}


class BranchCase(StrictModel):
    if_: str = Field(alias="if", description="Condition (expression language).")
    goto: str = Field(description="Node when the condition holds.")

    _expr = field_validator("if_")(_check_expr)


class Webhook(StrictModel):
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
    irreversible: bool | None = Field(
        None, description="Does the request change something the caller cannot undo by "
        "calling again (block a card, cancel, pay)? null: every method but GET does. `ivr "
        "lint` warns when an intent leads here without `confirm: always`."
    )

    @property
    def is_irreversible(self) -> bool:
        """Irreversible as declared, else by method (any but GET)."""
        return self.method != "GET" if self.irreversible is None else self.irreversible


class Hours(StrictModel):
    calendar: str = Field(description="Calendar (from `calendars`) to check now against.")
    open: str = Field(description="Node when open.")
    closed: str = Field(description="Node when closed (outside hours or on a holiday).")


class Transfer(StrictModel):
    say: Prompt | None = Field(None, description="Announcement before transferring.")
    target: str = Field(description="`queue:NAME` or a SIP URI of an agent.")
    reason: str = Field("dialplan", description="Why (stored as the escalation reason).")
    on_unavailable: str | None = Field(
        None, description="Node when no agent of the queue takes the call within "
        "`escalation.max_wait_s` (e.g. a `callback` or `voicemail` node); unset: the service "
        "offers its own call back or voicemail (`escalation.callback`, `.voicemail`)."
    )
    after_agent: str | None = Field(
        None, description="Node when the agent hangs up first and the caller is still on the "
        "line (a queue's bridged call), e.g. a `survey`; unset: the caller is hung up with "
        "the agent."
    )


class Consent(StrictModel):
    """Ask the caller before recording; they agree with 1 or yes, refuse with 2 or no."""

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


class Callback(StrictModel):
    """Book a call back: an agent of `queue` calls the caller later."""

    number: str = Field(
        "{caller}", description="The number to call; `{name}` inserts a variable (e.g. a "
        "`phone` slot); digits only are kept."
    )
    queue: str = Field("general", description="Queue whose agents make the call back.")
    reason: str = Field("callback", description="Why (shown to the agent).")
    say: Prompt | None = Field(None, description="Said once it is booked.")


class Voicemail(StrictModel):
    """Record a message after a beep, until '#', 4 s of silence after speech, or `max_s`."""

    prompt: Prompt = Field(description="Said before the beep (e.g. how to end the message).")
    max_s: float = Field(60, gt=0, le=600, description="Longest message, in seconds.")
    queue: str = Field("general", description="Queue whose agents get the message.")
    on_empty: str | None = Field(
        None, description="Node when the caller left no message (default: `next`)."
    )


class Survey(StrictModel):
    """A satisfaction question at the end of a call (`ivr.dialplan.survey`): a score from 1 to
    5 by key or by voice (五 / 非常满意, five / "very satisfied"), then an optional spoken
    comment; stored with the call and counted (the metrics page's satisfaction). A caller
    who gives no score after `max_attempts` is thanked and the call goes on at `next`."""

    name: str = Field("satisfaction", pattern=_NAME, description="Survey name, stored with "
                      "each answer (a dialplan may ask more than one survey).")
    question: Prompt = Field(description="The question, naming the scale (1 very "
                             "dissatisfied .. 5 very satisfied).")
    comment: Prompt | None = Field(
        None, description="Asked after the score: a spoken comment, transcribed with the "
        "call's recognition and stored with the answer ('#' or silence skips it); null: none.")
    thanks: Prompt | None = Field(None, description="Said after the answer (or the last "
                                  "attempt), before `next`.")
    no_input: list[Prompt] | None = Field(None, description="Escalating prompts after silence.")
    no_match: list[Prompt] | None = Field(
        None, description="Escalating prompts after an answer that is not a score.")
    max_attempts: int = Field(2, ge=1, le=5, description="Questions asked before giving up.")
    timeout_s: float | None = Field(None, gt=0, description="Seconds of silence = no input.")
    comment_timeout_s: float = Field(8.0, gt=0, le=60, description="Silence before the "
                                     "comment counts as none.")


class Hangup(StrictModel):
    say: Prompt | None = Field(None, description="Goodbye prompt.")
    reason: str = Field("completed", description="End reason stored with the call.")


class Node(StrictModel):
    """A step of the conversation: exactly one verb plus common fields."""

    say: Prompt | None = Field(None, description="Play a prompt, then go to `next`.")
    menu: Menu | None = None
    gather: Gather | None = None
    answer: Answer | None = None
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
    consent: Consent | None = Field(
        None, description="Ask for consent to record, then `next` (or end on refusal)."
    )
    callback: Callback | None = Field(None, description="Book a call back, then `next`.")
    voicemail: Voicemail | None = Field(None, description="Record a message, then `next`.")
    survey: Survey | None = Field(None, description="Ask for a satisfaction score (1-5) and "
                                  "an optional comment, then `next`.")
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
        if verbs[0] in ("say", "set", "branch", "webhook", "language", "flow", "consent",
                        "callback", "voicemail", "survey") and not self.next:
            raise ValueError(f"a `{verbs[0]}` node needs `next`")
        _check_set(self.set or {})
        return self

    def verb_value(self, verb: str) -> Any:
        return getattr(self, "return_" if verb == "return" else verb)

    @property
    def verb(self) -> str:
        return next(v for v in VERBS if self.verb_value(v) is not None)

    @property
    def listener(self) -> Menu | Gather | Answer | None:
        """The verb that waits for the caller (menu, gather or answer), if any."""
        return self.menu or self.gather or self.answer
