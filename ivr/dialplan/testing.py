"""`ivr test`: conversation tests for dialplans, written in YAML (`*.test.yaml`).

A test file names a dialplan and holds tests; each test is a fresh call whose steps are
caller inputs and expectations:

```yaml
dialplan: hotline.yaml              # relative to this test file
time: 2026-11-23T10:00:00+08:00     # optional fixed clock (for `hours` and `now.*`); needs
                                    # a UTC offset
variables: {caller: "13800138000"}  # optional call variables
language: zh-CN                     # optional: start in this language
webhooks:                           # optional fake HTTP server (real aiohttp, 127.0.0.1)
  - {method: GET, path: /customers, status: 200, json: {data: {name: 张三}}, delay_s: 0}
  - {method: POST, path: /tickets, status: 500, times: 1}   # answers once, then the next
tests:
  - name: bill enquiry by voice     # unique in the file
    variables: {vip: true}          # optional, merged over the file's (also `time`,
                                    # `language`)
    steps:
      - expect: {node: main_menu, said: 请问您需要}   # the greeting and menu prompts
      - caller: 我想查一下话费        # speech (optional `confidence: 0.2` beside it)
      - expect: {intent: bill_enquiry, said: 九十八元, node: anything_else}
      - silence: true               # no input until the node's timeout
      - expect: {outcome: no_input, said: 我没有听到}
      - emotion: {anger: 0.9}       # the caller's emotion from now on (`emotion.*`)
      - audio: recordings/yes.wav   # a recording through the real ASR (relative path)
      - expect: {node: main_menu}
      - keys: "0"                   # keys; quote them ("0123" unquoted is a number)
        expect: {transfer: {target: "queue:general", reason: caller_request}}
```

Every test starts the call (the dialplan runs to its first question). A step is one input —
`caller`, `keys`, `silence`, `audio`, `emotion` — and/or an `expect`, checked after the
step's input (input and `expect` may share a step, as in the last one above). Keys are cut
like a call cuts them: a menu takes a key as soon as it matches a choice, a digit slot takes
keys up to `#` or its maximum length, keys left over go to the next question, except a `#`
right after a slot answer complete at its maximum length: callers press it out of habit, so
it is dropped (on a call it does not interrupt the read-back either). `audio` is
transcribed in the call's current language with `--asr-model` (default `base`). `expect` keys
(all optional, all must hold):

| key | holds when |
|---|---|
| `node` | the call is at this node (the one waiting for input, or the last one) |
| `said` | text (or list of texts) each found inside one prompt said since the last input |
| `not_said` | text (or list) found in no prompt said since the last input |
| `intent` | the call went on as this intent: the last input matched it (`null`: none did) |
| `confirm` | the last input made the call ask "did you mean" this intent (`null`: it did not) |
| `outcome` | of the last input: `match`, `no_match`, `no_input` or `unintelligible` |
| `slots` | `{name: value}`: values taken from the last input |
| `variables` | `{name: value}`: call variables now (`null` = unset) |
| `language` | the call's language now |
| `transfer` | `{target, reason}` (either key) of the transfer that ended the call; `false`: none |
| `hangup` | the reason the IVR hung up (`true`: any); `false`: it did not |
| `webhook` | `{method, path, query: {subset}, body: {subset}, status}` of the last webhook |
| `ended` | whether the call has ended |

Values compare loosely: `account: 123456` matches the string "123456", `amount: 50`
matches 50.0. Webhook URLs of the dialplan go to the fake server instead (scheme and host
replaced, path and query kept); fake responses match by method and path (a path with
`?a=1` also needs that query parameter); a response with `times: N` serves N requests, then
later matching entries answer; a request nothing matches gets 404 and is reported.
`json` is the JSON answer, or `text` a raw body; `headers` are added; `delay_s` waits first
(longer than the webhook's `timeout_s` makes it time out).

Output is one line per test, `PASSED file::name` or `FAILED file::name` with the failing
step (number and line), what was expected and what happened; then `N passed, M failed`.
`-k TEXT` runs tests whose name contains TEXT, `-v` shows every step. Exit status 1 when a
test fails or a file is malformed (reported as `file:line: message`).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TextIO

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ivr.dialplan.conversation import (
    Conversation,
    ConversationEnded,
    SaidPrompt,
    TurnResult,
    quiet_webhook_log,
)
from ivr.dialplan.engine import DialogEngine
from ivr.dialplan.loader import (
    DialplanError,
    Issue,
    LoadedDialplan,
    Positions,
    display_path,
    load_dialplan,
    parse_file,
    yaml_load,
)
from ivr.profiles import initial_prompts

__all__ = ["FakeResponse", "FakeWebhookServer", "SuiteSpec", "load_test_file", "run_tests"]

AsrFactory = Callable[[str], Any]  # model spec -> object with transcribe_sync(audio, lang, prompt)
_PASS, _FAIL = "PASSED", "FAILED"


# ---------------------------------------------------------------- file format
class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("the time needs a UTC offset, e.g. 2026-11-23T10:00:00+08:00")
    return value


class FakeResponse(_Model):
    """An answer of the fake webhook server."""

    method: str = "GET"
    path: str
    status: int = Field(200, ge=100, le=599)
    json_: Any = Field(None, alias="json")
    text: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    delay_s: float = Field(0.0, ge=0, le=60)
    times: int | None = Field(None, ge=1)

    @field_validator("method")
    @classmethod
    def _method(cls, v: str) -> str:
        v = v.upper()
        if v not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            raise ValueError(f"method must be GET, POST, PUT, PATCH or DELETE, not {v!r}")
        return v

    @field_validator("path")
    @classmethod
    def _path(cls, v: str) -> str:
        if not v.startswith("/"):
            raise ValueError(f"path must start with '/', got {v!r}")
        return v


class TransferExpect(_Model):
    target: str | None = None
    reason: str | None = None


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
    confirm: str | None = None
    outcome: Literal["match", "no_match", "no_input", "unintelligible"] | None = None
    slots: dict[str, Any] | None = None
    variables: dict[str, Any] | None = None
    language: str | None = None
    transfer: TransferExpect | bool | None = None
    hangup: str | bool | None = None
    webhook: WebhookExpect | None = None
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


class CaseSpec(_Model):
    name: str = Field(min_length=1)
    variables: dict[str, Any] = Field(default_factory=dict)
    time: dt.datetime | None = None
    language: str | None = None
    steps: list[StepSpec] = Field(min_length=1)

    _time = field_validator("time")(_aware)


class SuiteSpec(_Model):
    dialplan: str
    description: str = ""
    time: dt.datetime | None = None
    variables: dict[str, Any] = Field(default_factory=dict)
    language: str | None = None
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


# ---------------------------------------------------------------- fake webhook server
@dataclass
class ReceivedRequest:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int
    matched: bool


class FakeWebhookServer:
    """A real aiohttp server on 127.0.0.1 (own thread and loop) answering from a list."""

    def __init__(self, responses: Iterable[FakeResponse] = ()) -> None:
        self.responses = list(responses)
        self.requests: list[ReceivedRequest] = []
        self._used = [0] * len(self.responses)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: Any = None
        self.base_url = ""
        self._lock = threading.Lock()

    def __enter__(self) -> FakeWebhookServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def unmatched(self) -> list[ReceivedRequest]:
        return [r for r in self.requests if not r.matched]

    def reset(self) -> None:
        """Forget requests and how often each response was used (a new test)."""
        with self._lock:
            self.requests = []
            self._used = [0] * len(self.responses)

    def rewrite(self, url: str) -> str:
        """`url` pointed at this server, keeping path and query."""
        parts = urllib.parse.urlsplit(url)
        base = urllib.parse.urlsplit(self.base_url)
        return urllib.parse.urlunsplit((base.scheme, base.netloc, parts.path or "/",
                                        parts.query, ""))

    def start(self) -> str:
        ready = threading.Event()
        errors: list[BaseException] = []

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self._start())
            except BaseException as e:  # reported to start()
                errors.append(e)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=serve, name="fake-webhooks", daemon=True)
        self._thread.start()
        ready.wait(10)
        if errors:
            raise errors[0]
        return self.base_url

    async def _start(self) -> None:
        from aiohttp import web

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2,
                                     handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._loop = self._thread = None

    def _pick(self, method: str, path: str, query: dict[str, str]) -> FakeResponse | None:
        with self._lock:
            for i, r in enumerate(self.responses):
                want_path, _, want_query = r.path.partition("?")
                if r.method != method or want_path != path:
                    continue
                wanted = dict(urllib.parse.parse_qsl(want_query, keep_blank_values=True))
                if any(query.get(k) != v for k, v in wanted.items()):
                    continue
                if r.times is not None and self._used[i] >= r.times:
                    continue
                self._used[i] += 1
                return r
        return None

    async def _handle(self, request: Any) -> Any:
        from aiohttp import web

        raw = await request.read()
        try:
            body: Any = json.loads(raw) if raw.strip() else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        query = dict(request.query)
        stub = self._pick(request.method, request.path, query)
        status = stub.status if stub else 404
        with self._lock:
            self.requests.append(ReceivedRequest(request.method, request.path, query, body,
                                                 status, stub is not None))
        if stub is None:
            return web.json_response(
                {"error": f"no fake response for {request.method} {request.path}"}, status=404)
        if stub.delay_s:
            await asyncio.sleep(stub.delay_s)
        if stub.text is not None:
            return web.Response(text=stub.text, status=stub.status, headers=stub.headers)
        if stub.json_ is None and "json" not in stub.model_fields_set:
            return web.Response(status=stub.status, headers=stub.headers)
        return web.json_response(stub.json_, status=stub.status, headers=stub.headers)


# ---------------------------------------------------------------- running
@dataclass
class _Run:
    """What the checks look at: the conversation and its last input."""

    conv: Conversation
    said: list[SaidPrompt] = field(default_factory=list)  # since the last input
    last: TurnResult | None = None  # the last input's (or the start's) result
    last_label: str = "start"


class _StepFailed(Exception):
    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


@dataclass
class Outcome:
    passed: int = 0
    failed: int = 0
    errors: int = 0


class SuiteRunner:
    def __init__(self, out: TextIO, *, verbose: bool = False, keyword: str | None = None,
                 asr_model: str = "base", asr_factory: AsrFactory | None = None,
                 min_confidence: float = 0.25, max_no_speech_prob: float = 0.7,
                 initial_prompts: dict[str, str] | None = None) -> None:
        self.out = out
        self.verbose = verbose
        self.keyword = keyword
        self.asr_model = asr_model
        self._asr_factory = asr_factory
        self._asr: Any = None
        self.min_confidence = min_confidence
        self.max_no_speech_prob = max_no_speech_prob
        self.initial_prompts = initial_prompts if initial_prompts is not None else {
            "zh": "以下是普通话的句子。"}
        self.outcome = Outcome()

    def close(self) -> None:
        if self._asr is not None and hasattr(self._asr, "close"):
            self._asr.close()
        self._asr = None

    def _print(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    # ------------------------------------------------------------ files
    def run_file(self, path: Path) -> None:
        shown = display_path(path)
        try:
            tests = load_test_file(path)
        except MalformedTestFile as e:
            self.outcome.errors += 1
            for i in e.issues:
                self._print(f"ERROR {i.file}:{i.line}:{i.column}: {i.message}")
            return
        cases = [(i, c) for i, c in enumerate(tests.spec.tests)
                 if not self.keyword or self.keyword.lower() in c.name.lower()]
        if not cases:
            return
        with FakeWebhookServer(tests.spec.webhooks) as server:
            for index, case in cases:
                server.reset()
                self._run_case(tests, shown, index, case, server)

    def _run_case(self, tests: LoadedTests, shown: str, index: int, case: CaseSpec,
                  server: FakeWebhookServer) -> None:
        spec = tests.spec
        ident = f"{shown}::{case.name}"
        if self.verbose:
            self._print(ident)
        conv = Conversation(
            tests.dialplan, variables={**spec.variables, **case.variables},
            now=case.time or spec.time, language=case.language or spec.language,
            url_rewrite=server.rewrite, min_confidence=self.min_confidence,
            max_no_speech_prob=self.max_no_speech_prob)
        failure: list[str] | None = None
        try:
            run = _Run(conv)
            turn = conv.start()
            run.said, run.last = list(turn.prompts), turn
            if self.verbose:
                self._print(f"    start {_describe(turn)}")
            for j, step in enumerate(case.steps):
                line = tests.line("tests", index, "steps", j)
                raw = tests.raw_step(index, j)
                text = _step_text(raw)
                try:
                    self._step(tests, run, step, _step_text(raw, with_expect=False))
                except _StepFailed as e:
                    failure = [f"  step {j + 1} (line {line}): {text}", *e.lines,
                               *_happened(run)]
                    break
                except ConversationEnded:
                    failure = [f"  step {j + 1} (line {line}): {text}",
                               "    the call had already ended", *_happened(run)]
                    break
                except Exception as e:  # noqa: BLE001 - a step error fails its test, not the run
                    failure = [f"  step {j + 1} (line {line}): {text}",
                               f"    error: {type(e).__name__}: {e}", *_happened(run)]
                    break
                if self.verbose:
                    self._print(f"    step {j + 1} (line {line}) {text}"
                                + (f" {_describe(run.last)}" if step.action not in
                                   (None, "emotion") and run.last else "")
                                + (" ok" if step.expect else ""))
        finally:
            conv.close()
        if failure is None:
            self.outcome.passed += 1
            self._print(f"{_PASS} {ident}")
        else:
            self.outcome.failed += 1
            self._print(f"{_FAIL} {ident}")
            for text in failure:
                self._print(text)
        for r in server.unmatched:
            self._print(f"  note: webhook {r.method} {r.path}"
                        f"{'?' + urllib.parse.urlencode(r.query) if r.query else ''} had no "
                        f"fake response (answered 404); add it under `webhooks:`")

    # ------------------------------------------------------------ steps
    def _step(self, tests: LoadedTests, run: _Run, step: StepSpec, label: str) -> None:
        conv = run.conv
        action = step.action
        turn: TurnResult | None = None
        if action == "caller":
            assert step.caller is not None
            turn = conv.say_text(step.caller, step.confidence if step.confidence is not None
                                 else 1.0)
        elif action == "keys":
            assert step.keys is not None
            turn = conv.press(step.keys)
        elif action == "silence":
            turn = conv.silence()
        elif action == "audio":
            assert step.audio is not None
            turn = self._audio(conv, tests.path.parent / step.audio)
        elif action == "emotion":
            conv.set_emotion(step.emotion or {})
        if turn is not None:
            run.said, run.last, run.last_label = list(turn.prompts), turn, label
        if step.expect is not None:
            problems = check(step.expect, run)
            if problems:
                raise _StepFailed([f"    expected {p}" for p in problems])

    def _audio(self, conv: Conversation, path: Path) -> TurnResult:
        from audio_models.tts import load_audio_file

        if conv.ended:
            raise ConversationEnded("the call has ended")
        if self._asr is None:
            self._asr = (self._asr_factory or _real_asr)(self.asr_model)
        lang = conv.language.split("-")[0]
        transcript = self._asr.transcribe_sync(load_audio_file(path), lang,
                                               self.initial_prompts.get(lang))
        if self.verbose:
            self._print(f"    (heard {transcript.text!r}, confidence "
                        f"{transcript.confidence:.2f})")
        turn = conv.hear(transcript)
        turn.input = f"audio {path.name}: {transcript.text} ({transcript.confidence:.2f})"
        return turn


def _real_asr(spec: str) -> Any:
    from ivr.dialplan.simulate import real_asr

    return real_asr(spec)


# ---------------------------------------------------------------- checks
def _same(want: Any, got: Any) -> bool:
    if want == got and type(want) is type(got):
        return True
    if isinstance(want, bool) or isinstance(got, bool):
        return want == got and isinstance(want, bool) and isinstance(got, bool)
    if isinstance(want, int | float) and isinstance(got, int | float):
        return abs(float(want) - float(got)) < 1e-9
    if isinstance(want, int | float | str) and isinstance(got, int | float | str):
        return str(want) == str(got)
    return bool(want == got)


def _texts(value: str | list[str] | None) -> list[str]:
    return [] if value is None else [value] if isinstance(value, str) else list(value)


def _subset(want: dict[str, Any], got: Any, where: str) -> list[str]:
    out: list[str] = []
    if not isinstance(got, dict):
        return [f"{where} to be a mapping holding {want!r}, got {got!r}"]
    for k, v in want.items():
        if k not in got:
            out.append(f"{where}.{k} = {v!r}, but it is missing")
        elif isinstance(v, dict):
            out += _subset(v, got[k], f"{where}.{k}")
        elif not _same(v, got[k]):
            out.append(f"{where}.{k} = {v!r}, got {got[k]!r}")
    return out


def check(expect: Expect, run: _Run) -> list[str]:
    """What does not hold of `expect` (each text completes "expected ...")."""
    conv, last = run.conv, run.last
    fields = expect.model_fields_set
    out: list[str] = []
    said = [p.text for p in run.said]
    if "node" in fields and conv.node != expect.node:
        out.append(f"node {expect.node!r}, got {conv.node!r}")
    for text in _texts(expect.said):
        if not any(text in s for s in said):
            out.append(f"a prompt containing {text!r}" + ("" if said else ", but nothing was "
                                                          "said since the last input"))
    for text in _texts(expect.not_said):
        hit = next((s for s in said if text in s), None)
        if hit is not None:
            out.append(f"no prompt containing {text!r}, got {hit!r}")
    u = last.understanding if last else None
    if "intent" in fields:  # what the call did, not the top candidate of a no-match
        got = u.intent if u and u.outcome == "match" else None
        if got != expect.intent:
            detail = f" (score {u.score:.2f}, {u.outcome})" if u else " (nothing understood)"
            top = f", top candidate {u.intent!r}" if u and u.intent and got is None else ""
            out.append(f"intent {expect.intent!r}, got {got!r}{detail}{top}")
    if "confirm" in fields:
        asked = conv.confirming_intent()
        if asked != expect.confirm:
            out.append(f"a 'did you mean' question about {expect.confirm!r}, got {asked!r}")
    if "outcome" in fields:
        got_outcome = u.outcome if u else None
        if got_outcome != expect.outcome:
            out.append(f"outcome {expect.outcome!r}, got {got_outcome!r}")
    if expect.slots is not None:
        out += _subset(expect.slots, dict(u.slots) if u else {}, "slot")
    if expect.variables is not None:
        got_vars = conv.variables
        for k, v in expect.variables.items():
            if v is None:
                if got_vars.get(k) is not None:
                    out.append(f"variable {k} unset, got {got_vars[k]!r}")
            elif k not in got_vars:
                out.append(f"variable {k} = {v!r}, but it is not set")
            elif isinstance(v, dict):
                out += _subset(v, got_vars[k], f"variable {k}")
            elif not _same(v, got_vars[k]):
                out.append(f"variable {k} = {v!r}, got {got_vars[k]!r}")
    if "language" in fields and conv.language != expect.language:
        out.append(f"language {expect.language!r}, got {conv.language!r}")
    out += _check_transfer(expect, conv)
    if "hangup" in fields:
        h = expect.hangup
        if h is False and conv.hangup is not None:
            out.append(f"no hangup, got hangup {conv.hangup!r}")
        elif h is True and conv.hangup is None:
            out.append("a hangup, but the IVR did not hang up" + _end_note(conv))
        elif isinstance(h, str) and conv.hangup != h:
            out.append(f"hangup {h!r}, got " + (repr(conv.hangup) if conv.hangup else
                                                "no hangup" + _end_note(conv)))
    if expect.webhook is not None:
        out += _check_webhook(expect.webhook, conv)
    if "ended" in fields and conv.ended != expect.ended:
        out.append(f"ended: {expect.ended}, got {conv.ended}" + _end_note(conv))
    return out


def _end_note(conv: Conversation) -> str:
    if conv.transfer:
        return f" (the call was transferred to {conv.transfer.target})"
    if conv.hangup:
        return f" (hangup {conv.hangup})"
    return "" if conv.ended else " (the call goes on)"


def _check_transfer(expect: Expect, conv: Conversation) -> list[str]:
    if "transfer" not in expect.model_fields_set:
        return []
    want, got = expect.transfer, conv.transfer
    if want is False or want is None:
        return [] if got is None else [f"no transfer, got transfer to {got.target}"]
    if got is None:
        return ["a transfer, but there was none" + _end_note(conv)]
    if isinstance(want, TransferExpect):
        out = []
        if want.target is not None and want.target != got.target:
            out.append(f"transfer target {want.target!r}, got {got.target!r}")
        if want.reason is not None and want.reason != got.reason:
            out.append(f"transfer reason {want.reason!r}, got {got.reason!r}")
        return out
    return []


def _check_webhook(want: WebhookExpect, conv: Conversation) -> list[str]:
    if not conv.webhooks:
        return ["a webhook call, but none was made"]
    call = conv.webhooks[-1]
    parts = urllib.parse.urlsplit(call.url)
    out: list[str] = []
    if want.method is not None and want.method.upper() != call.method:
        out.append(f"webhook method {want.method.upper()}, got {call.method}")
    if want.path is not None:
        want_path, _, want_q = want.path.partition("?")
        if want_path != parts.path:
            out.append(f"webhook path {want_path!r}, got {parts.path!r} ({call.url})")
        if want_q:
            out += _subset(dict(urllib.parse.parse_qsl(want_q)),
                           dict(urllib.parse.parse_qsl(parts.query)), "webhook query")
    if want.query is not None:
        out += _subset(want.query, dict(urllib.parse.parse_qsl(parts.query)), "webhook query")
    if want.body is not None:
        out += _subset(want.body, call.body, "webhook body")
    if want.status is not None and call.result.status != want.status:
        out.append(f"webhook status {want.status}, got {call.result.status}"
                   + (f" ({call.result.error})" if call.result.error else ""))
    return out


# ---------------------------------------------------------------- reporting
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


def _step_text(raw: Any, *, with_expect: bool = True) -> str:
    if not isinstance(raw, dict):
        return _flow(raw)
    return "; ".join(f"{k}: {_flow(v)}" for k, v in raw.items()
                     if with_expect or k != "expect")


def _understood(turn: TurnResult | None) -> str:
    if turn is None or turn.understanding is None:
        return ""
    u = turn.understanding
    text = f"{u.outcome}" + (f", intent {u.intent} {u.score:.2f}" if u.intent else "")
    if u.slots:
        text += f", slots {json.dumps(u.slots, ensure_ascii=False)}"
    return text


def _describe(turn: TurnResult) -> str:
    bits = [f"-> {turn.node_after}"]
    if understood := _understood(turn):
        bits.append(f"[{understood}]")
    if turn.prompts:
        bits.append("IVR: " + " | ".join(p.text for p in turn.prompts))
    if turn.transfer:
        bits.append(f"(transfer {turn.transfer.target}, {turn.transfer.reason})")
    if turn.hangup:
        bits.append(f"(hangup {turn.hangup})")
    return " ".join(bits)


def _happened(run: _Run) -> list[str]:
    conv, last = run.conv, run.last
    lines = [f"  after {run.last_label}:", f"    node: {conv.node}"
             + (f" (came from {last.node_before})" if last and last.node_before != conv.node
                else "") + f", language {conv.language}"]
    if last is not None and last.understanding is not None:
        line = f"    understood: {_understood(last)}"
        if last.intent_scores:
            top = ", ".join(f"{n} {s:.2f}" for n, s in last.intent_scores[:3])
            line += f" (scores: {top})"
        lines.append(line)
    if run.said:
        lines.append("    IVR said:")
        lines += [f"      [{p.language}] {p.text}" for p in run.said]
    else:
        lines.append("    IVR said nothing")
    if conv.transfer:
        lines.append(f"    transferred to {conv.transfer.target} ({conv.transfer.reason})")
    if conv.hangup:
        lines.append(f"    hung up ({conv.hangup})")
    if last is not None:
        for call in last.webhooks:
            r = call.result
            lines.append(f"    webhook {call.method} {call.url} -> "
                         + (f"{r.status} ok" if r.ok else f"failed: {r.error or r.status}"))
    return lines


def collect(paths: Iterable[Path]) -> tuple[list[Path], list[str]]:
    """Test files under `paths` (directories: every *.test.yaml below), and problems."""
    files: list[Path] = []
    problems: list[str] = []
    for p in paths:
        if p.is_dir():
            found = sorted(x for x in p.rglob("*.test.yaml") if x.is_file())
            if not found:
                problems.append(f"{p}: no *.test.yaml files found")
            files += found
        elif p.is_file():
            files.append(p)
        else:
            problems.append(f"{p}: no such file or directory")
    unique = list(dict.fromkeys(f.resolve() for f in files))
    return [Path(os.path.relpath(f)) if not os.path.relpath(f).startswith("..") else f
            for f in unique], problems


def run_tests(args: argparse.Namespace, *, out: TextIO | None = None,
              asr_factory: AsrFactory | None = None) -> int:
    """`ivr test PATHS... [-k NAME] [-v] [--asr-model M]`: 0 when every test passed."""
    from ivr.config import load_settings

    out = out or sys.stdout
    settings = load_settings()
    started = time.monotonic()
    files, problems = collect(args.paths)
    for p in problems:
        print(f"ERROR {p}", file=out)
    runner = SuiteRunner(out, verbose=bool(getattr(args, "verbose", False)),
                        keyword=getattr(args, "keyword", None),
                        asr_model=getattr(args, "asr_model", None) or "base",
                        asr_factory=asr_factory, min_confidence=settings.asr.min_confidence,
                        max_no_speech_prob=settings.asr.max_no_speech_prob,
                        initial_prompts=initial_prompts(settings.profiles))
    try:
        with quiet_webhook_log():
            for f in files:
                runner.run_file(f)
    except BrokenPipeError:  # `ivr test ... | head`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    finally:
        runner.close()
    o = runner.outcome
    errors = o.errors + len(problems)
    summary = f"{o.passed} passed, {o.failed} failed"
    if errors:
        summary += f", {errors} error{'s' if errors > 1 else ''}"
    if runner.keyword and not (o.passed or o.failed) and not errors:
        print(f"no test name contains {runner.keyword!r}", file=out)
        summary += " (no tests selected)"
    print(f"{summary} in {time.monotonic() - started:.2f}s", file=out)
    if o.failed or errors or not (o.passed or o.failed):
        return 1
    return 0
