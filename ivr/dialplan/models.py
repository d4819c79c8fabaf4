"""Dialplan data model (pydantic). The loader validates YAML against these models.

A dialplan is a set of named nodes; each node performs exactly one verb:
`say`, `menu`, `gather`, `transfer` or `hangup`. Prompts are either one text for every
language or a mapping of language -> text; a text starting with `file:` names a recorded
audio file (relative to the dialplan). `{name}` in a text is replaced by a call variable.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Prompt = str | dict[str, str]
PerLanguageList = list[str] | dict[str, list[str]]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Intent(_Model):
    """Something a caller may want, recognised from examples and keywords."""

    examples: PerLanguageList = Field(default_factory=list, description="Example utterances.")
    keywords: PerLanguageList = Field(
        default_factory=list, description="Words or phrases that alone identify the intent."
    )


class Choice(_Model):
    """One way out of a menu: a key, an intent, or both."""

    dtmf: str | None = Field(None, pattern=r"^[0-9*#]{1,8}$", description="Key(s) selecting it.")
    intent: str | None = Field(None, description="Intent (from `intents`) selecting it.")
    say: Prompt | None = Field(None, description="Prompt played when chosen.")
    language: str | None = Field(None, description="Switch the call to this language.")
    set: dict[str, str | int | float | bool] = Field(
        default_factory=dict, description="Variables set when chosen."
    )
    goto: str = Field(description="Node to continue at.")

    @model_validator(mode="after")
    def _needs_trigger(self) -> Choice:
        if self.dtmf is None and self.intent is None:
            raise ValueError("a choice needs `dtmf`, `intent` or both")
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


class Slot(_Model):
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="Variable receiving it.")
    type: Literal["digits", "number", "yes_no", "text"] = Field(
        description="digits: a digit string (account, phone); number: a cardinal amount;"
        " yes_no: true/false; text: what was said."
    )
    min_length: int = Field(1, ge=1, description="Fewest digits (digits, number keyed in).")
    max_length: int = Field(20, ge=1, description="Most digits (digits, number keyed in).")
    min_value: float | None = Field(None, description="Smallest accepted value (number).")
    max_value: float | None = Field(None, description="Largest accepted value (number).")


class Gather(Retry):
    prompt: Prompt = Field(description="What the caller hears.")
    slot: Slot
    next: str = Field(description="Node after the slot is filled.")


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
    transfer: Transfer | None = None
    hangup: Hangup | None = None
    next: str | None = Field(None, description="Following node (for `say`).")
    barge_in: bool | None = Field(None, description="May the caller interrupt this prompt?")
    prompt_language: str | None = Field(
        None, description="Speak this node's prompt in this language whatever the call's is."
    )

    @model_validator(mode="after")
    def _one_verb(self) -> Node:
        verbs = [v for v in ("say", "menu", "gather", "transfer", "hangup") if getattr(self, v)]
        if len(verbs) != 1:
            raise ValueError(
                f"a node needs exactly one verb (say, menu, gather, transfer, hangup), got {verbs}"
            )
        if verbs[0] == "say" and not self.next:
            raise ValueError("a `say` node needs `next`")
        return self

    @property
    def verb(self) -> str:
        return next(v for v in ("say", "menu", "gather", "transfer", "hangup") if getattr(self, v))


class Defaults(Retry):
    intent_threshold: float = Field(0.5, ge=0, le=1, description="Lowest intent score accepted.")


class Dialplan(_Model):
    name: str
    description: str = ""
    languages: list[str] = Field(min_length=1, description="Languages prompts are written in.")
    default_language: str
    start: str = Field(description="First node.")
    defaults: Defaults = Field(default_factory=Defaults)
    intents: dict[str, Intent] = Field(default_factory=dict)
    global_choices: list[Choice] = Field(
        default_factory=list, description="Choices valid in every menu (e.g. 0 = agent)."
    )
    nodes: dict[str, Node]

    @model_validator(mode="after")
    def _references(self) -> Dialplan:
        if self.default_language not in self.languages:
            raise ValueError(f"default_language {self.default_language!r} is not in languages")
        missing: list[str] = []

        def need(target: str | None, where: str) -> None:
            if target is not None and target not in self.nodes:
                missing.append(f"{where} -> {target!r}")

        need(self.start, "start")
        need(self.defaults.on_failure, "defaults.on_failure")
        for c in self.global_choices:
            need(c.goto, "global_choices")
            if c.intent and c.intent not in self.intents:
                missing.append(f"global_choices: unknown intent {c.intent!r}")
        for nid, node in self.nodes.items():
            need(node.next, f"nodes.{nid}.next")
            listener = node.menu or node.gather
            if listener is not None:
                need(listener.on_failure, f"nodes.{nid}.on_failure")
            if node.gather:
                need(node.gather.next, f"nodes.{nid}.gather.next")
            for c in node.menu.choices if node.menu else []:
                need(c.goto, f"nodes.{nid}.menu.choices")
                if c.intent and c.intent not in self.intents:
                    missing.append(f"nodes.{nid}.menu.choices: unknown intent {c.intent!r}")
        if missing:
            raise ValueError("undefined references: " + "; ".join(missing))
        return self


def dialplan_json_schema() -> dict[str, object]:
    """JSON Schema of a dialplan file, from the models the loader validates with."""
    schema = Dialplan.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "IVR dialplan"
    return schema
