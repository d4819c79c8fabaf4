"""The test file of `ivr test` (`*.test.yaml`, format in `ivr.dialplan.testing`): its pydantic
models (`SuiteSpec` > `CaseSpec` > `StepSpec` > `Expect`), `load_test_file`, which validates a
file and loads its dialplan, and the located issues (`file:line: message`) of a malformed one.
`step_text` shows a step as written, for the runner's messages.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ivr.dialplan.engine import DialogEngine
from ivr.dialplan.fake_webhooks import FakeResponse
from ivr.dialplan.loader import (
    DialplanError,
    Issue,
    LoadedDialplan,
    Positions,
    load_dialplan,
    parse_file,
    yaml_load,
)

__all__ = [
    "CallerHistorySpec",
    "CaseSpec",
    "Expect",
    "LoadedTests",
    "MalformedTestFile",
    "StepSpec",
    "SuiteSpec",
    "TransferExpect",
    "WebhookExpect",
    "load_test_file",
    "step_text",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("the time needs a UTC offset, e.g. 2026-11-23T10:00:00+08:00")
    return value


class TransferExpect(_Model):
    target: str | None = None
    reason: str | None = None


class CallbackExpect(_Model):
    number: str | None = None
    queue: str | None = None


class VoicemailExpect(_Model):
    text: str | None = None  # contained in what was recognised of the message
    empty: bool | None = None  # true: the caller left nothing


class WebhookExpect(_Model):
    method: str | None = None
    path: str | None = None
    query: dict[str, Any] | None = None
    body: dict[str, Any] | None = None
    status: int | None = None


Texts = str | list[str]


class Expect(_Model):
    node: str | None = None
    said: Texts | None = None
    not_said: Texts | None = None
    intent: str | None = None
    answer: str | None = None  # the knowledge entry answered (its id) at an `answer` node
    confirm: str | None = None
    outcome: Literal["match", "no_match", "no_input", "unintelligible"] | None = None
    slots: dict[str, Any] | None = None
    variables: dict[str, Any] | None = None
    language: str | None = None
    transfer: TransferExpect | bool | None = None
    hangup: str | bool | None = None
    webhook: WebhookExpect | None = None
    callback: CallbackExpect | bool | None = None
    voicemail: VoicemailExpect | bool | None = None
    recording: bool | None = None
    ended: bool | None = None

    @model_validator(mode="after")
    def _something(self) -> Expect:
        if not self.model_fields_set:
            raise ValueError("an empty `expect` checks nothing")
        return self


_ACTIONS = ("caller", "keys", "silence", "audio", "emotion")


class StepSpec(_Model):
    caller: str | None = None
    confidence: float | None = Field(None, ge=0, le=1)
    keys: str | None = None
    silence: bool | None = None
    audio: str | None = None
    emotion: dict[str, float] | None = None
    expect: Expect | None = None

    @field_validator("keys", mode="before")
    @classmethod
    def _keys(cls, v: Any) -> Any:
        if isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 9:
            return str(v)  # `keys: 2` is harmless; longer numbers may have lost a leading 0
        if isinstance(v, int):
            raise ValueError('quote keys longer than one digit, e.g. keys: "0123"')
        if isinstance(v, str) and (not v.strip() or any(c not in "0123456789*#"
                                                         for c in v.strip())):
            raise ValueError(f"keys are digits, * and #, got {v!r}")
        return v

    @model_validator(mode="after")
    def _one_action(self) -> StepSpec:
        actions = [a for a in _ACTIONS if getattr(self, a) is not None]
        if len(actions) > 1:
            raise ValueError(f"a step does one thing, got {', '.join(actions)}")
        if not actions and self.expect is None:
            raise ValueError(f"a step needs one of {', '.join(_ACTIONS)} or `expect`")
        if self.silence is False:
            raise ValueError("`silence: false` does nothing; write `silence: true`")
        if self.confidence is not None and self.caller is None:
            raise ValueError("`confidence` goes with `caller`")
        return self

    @property
    def action(self) -> str | None:
        return next((a for a in _ACTIONS if getattr(self, a) is not None), None)


class CallerHistorySpec(_Model):
    """A returning caller: the call's `history` variable as the service would find it in
    the store (`ivr.call.caller_history`; the same keys). Unset in a test: the dialplan's own
    `history` variable, if it declares one (a first-time caller)."""

    calls: int = Field(1, ge=0)
    last_intent: str | None = None
    last_outcome: str | None = None
    last_call_days: int | None = Field(None, ge=0)
    open_callback: bool = False


class CaseSpec(_Model):
    name: str = Field(min_length=1)
    variables: dict[str, Any] = Field(default_factory=dict)
    caller_history: CallerHistorySpec | None = None
    time: dt.datetime | None = None
    language: str | None = None
    agents: Literal["available", "unavailable"] | None = None
    steps: list[StepSpec] = Field(min_length=1)

    _time = field_validator("time")(_aware)


class SuiteSpec(_Model):
    dialplan: str
    description: str = ""
    time: dt.datetime | None = None
    variables: dict[str, Any] = Field(default_factory=dict)
    language: str | None = None
    agents: Literal["available", "unavailable"] = "available"
    webhooks: list[FakeResponse] = Field(default_factory=list)
    tests: list[CaseSpec] = Field(min_length=1)

    _time = field_validator("time")(_aware)


@dataclass
class LoadedTests:
    path: Path
    spec: SuiteSpec
    dialplan: LoadedDialplan
    positions: Positions
    raw: dict[str, Any]  # the YAML as written, for messages

    def line(self, *where: str | int) -> int:
        return self.positions.locate(tuple(where))[1]

    def raw_step(self, case: int, step: int) -> dict[str, Any]:
        return self.raw["tests"][case]["steps"][step]


class MalformedTestFile(ValueError):
    """A malformed test file; `issues` locate the problems."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


def load_test_file(path: Path) -> LoadedTests:
    """Parse and validate a test file and load its dialplan; raises MalformedTestFile."""
    pos = Positions()
    problems: list[Issue] = []
    try:
        data, _raw = parse_file(path, pos, problems, "dialplan tests")
    except DialplanError as e:
        raise MalformedTestFile([_reissue(i, path) for i in e.issues]) from e
    if problems:
        raise MalformedTestFile(problems)
    if not isinstance(data, dict):
        raise MalformedTestFile([Issue(str(path), 1, 1, "a test file is a mapping with `dialplan` "
                                   "and `tests`")])
    try:
        spec = SuiteSpec.model_validate(data)
    except ValidationError as e:
        raise MalformedTestFile(_validation_issues(e, pos, path)) from e
    issues: list[Issue] = []
    seen: dict[str, int] = {}
    for i, case in enumerate(spec.tests):
        _f, line, col = pos.locate(("tests", i, "name"))
        if case.name in seen:
            issues.append(Issue(str(path), line, col, f"duplicate test name {case.name!r} "
                                f"(first at line {seen[case.name]})"))
        seen.setdefault(case.name, line)
        for j, step in enumerate(case.steps):
            if step.audio is not None and not (path.parent / step.audio).is_file():
                _f, ln, col = pos.locate(("tests", i, "steps", j, "audio"))
                issues.append(Issue(str(path), ln, col, f"audio file not found: {step.audio} "
                                    f"(relative to {path.parent})"))
    target = path.parent / spec.dialplan
    if not target.is_file():
        _f, ln, col = pos.locate(("dialplan",))
        issues.append(Issue(str(path), ln, col, f"dialplan not found: {spec.dialplan} "
                            f"(relative to {path.parent})"))
    if issues:
        raise MalformedTestFile(issues)
    try:
        loaded = load_dialplan(target)
    except DialplanError as e:
        _f, ln, col = pos.locate(("dialplan",))
        raise MalformedTestFile([Issue(str(path), ln, col, f"dialplan {spec.dialplan} does not "
                                   f"load:\n  " + "\n  ".join(str(i) for i in e.issues))]) from e
    langs = loaded.plan.languages
    profiles = DialogEngine(loaded.plan).profiles
    for where, lang in [(("language",), spec.language)] + [
            (("tests", i, "language"), c.language) for i, c in enumerate(spec.tests)]:
        if lang is not None and lang not in langs and lang not in profiles:
            _f, ln, col = pos.locate(where)
            issues.append(Issue(str(path), ln, col, f"language {lang!r} is neither one of the "
                                f"dialplan's ({', '.join(langs)}) nor a profile "
                                f"({', '.join(sorted(profiles))})"))
    for i, case in enumerate(spec.tests):
        known = case.caller_history and case.caller_history.last_intent
        if known and known not in loaded.plan.intents:
            _f, ln, col = pos.locate(("tests", i, "caller_history", "last_intent"))
            issues.append(Issue(str(path), ln, col, f"caller_history.last_intent {known!r} is "
                                f"not an intent of the dialplan"))
    if issues:
        raise MalformedTestFile(issues)
    return LoadedTests(path, spec, loaded, pos, data)


def _reissue(issue: Issue, path: Path) -> Issue:
    return Issue(issue.file or str(path), issue.line or 1, issue.column or 1,
                 issue.message.removeprefix(f"{path}: "))


def _where(err: Any) -> tuple[str | int, ...]:
    # pydantic puts union branch names ("str", "list[str]", "TransferExpect") into locations
    return tuple(p for p in err["loc"] if isinstance(p, int) or (
        isinstance(p, str) and "[" not in p and not p[:1].isupper()
        and p not in ("str", "int", "float", "bool", "list", "dict")))


def _validation_issues(e: ValidationError, pos: Positions, path: Path) -> list[Issue]:
    """One issue per location; a union's alternatives are joined ("a string or a list"),
    and an alternative that failed deeper inside wins over one that failed at the top."""
    errors = e.errors()
    wheres = [_where(err) for err in errors]
    merged: dict[tuple[str | int, ...], Issue] = {}
    for err, where in zip(errors, wheres, strict=True):
        if any(len(w) > len(where) and w[:len(where)] == where for w in wheres):
            continue
        issue = _validation_issue(err, where, pos, path)
        if where in merged:
            old = merged[where]
            extra = issue.message.split(": Input should be ", 1)
            if len(extra) == 2 and ": Input should be " in old.message:
                issue = Issue(old.file, old.line, old.column, f"{old.message} or {extra[1]}")
            else:
                continue
        merged[where] = issue
    return list(merged.values())


def _validation_issue(err: Any, where: tuple[str | int, ...], pos: Positions,
                      path: Path) -> Issue:
    shown = ".".join(str(p) for p in where) or "<root>"
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = f"unknown key {where[-1]!r}"
        if len(where) >= 4 and where[-2] == "expect":
            msg += f" (expect keys: {', '.join(Expect.model_fields)})"
        elif len(where) >= 3 and where[-3] == "steps":
            msg += f" (a step has one of {', '.join(_ACTIONS)}, and/or expect)"
    elif err["type"] == "missing":
        msg = f"missing required key {where[-1]!r}"
    where_pos = tuple("json" if p == "json_" else p for p in where)
    _f, line, col = pos.locate(where_pos)
    return Issue(str(path), line, col, f"{shown}: {msg}")


# ---------------------------------------------------------------- a step as written
def _flow(value: Any) -> str:
    """A YAML value in compact flow style, for messages."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    if isinstance(value, str):
        plain = value and not any(c in value for c in ",:{}[]#'\"") and value.strip() == value
        if plain:
            try:
                plain = isinstance(yaml_load(value), str)  # "1", "true" need quotes
            except Exception:  # noqa: BLE001 - anything odd is quoted
                plain = False
        return value if plain else json.dumps(value, ensure_ascii=False)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return json.dumps(value, ensure_ascii=False)


def step_text(raw: Any, *, with_expect: bool = True) -> str:
    """A step of the file as written (`LoadedTests.raw_step`), on one line."""
    if not isinstance(raw, dict):
        return _flow(raw)
    return "; ".join(f"{k}: {_flow(v)}" for k, v in raw.items()
                     if with_expect or k != "expect")
