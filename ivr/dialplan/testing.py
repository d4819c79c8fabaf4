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
    # caller_history: {last_intent: broadband_fault, last_call_days: 2}   # optional: a
                                    # returning caller's `history.*` (calls: 1 unless given)
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

This module runs the tests (`SuiteRunner`, `collect`, `run_tests`); the file's models and
loading are in `ivr.dialplan.case_spec`, the checks of `expect` in `ivr.dialplan.expectations`,
the fake server in `ivr.dialplan.fake_webhooks`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from ivr.dialplan.case_spec import (
    CaseSpec,
    LoadedTests,
    MalformedTestFile,
    StepSpec,
    load_test_file,
    step_text,
)
from ivr.dialplan.conversation import (
    Conversation,
    ConversationEnded,
    quiet_webhook_log,
)
from ivr.dialplan.expectations import CallUnderTest, check, describe_turn, what_happened
from ivr.dialplan.fake_webhooks import FakeWebhookServer
from ivr.dialplan.loader import display_path
from ivr.dialplan.turn_result import TurnResult
from ivr.understanding.profiles import initial_prompts

__all__ = ["SuiteRunner", "collect", "run_tests"]

AsrFactory = Callable[[str], Any]  # model spec -> object with transcribe_sync(audio, lang, prompt)
_PASS, _FAIL = "PASSED", "FAILED"


# ---------------------------------------------------------------- running
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
        history = ({"history": case.caller_history.model_dump()} if case.caller_history
                   else {})  # a returning caller (`ivr.call.caller_history`)
        conv = Conversation(
            tests.dialplan, variables={**spec.variables, **history, **case.variables},
            now=case.time or spec.time, language=case.language or spec.language,
            url_rewrite=server.rewrite, min_confidence=self.min_confidence,
            max_no_speech_prob=self.max_no_speech_prob,
            agents_available=(case.agents or spec.agents) == "available")
        failure: list[str] | None = None
        try:
            run = CallUnderTest(conv)
            turn = conv.start()
            run.said, run.last = list(turn.prompts), turn
            if self.verbose:
                self._print(f"    start {describe_turn(turn)}")
            for j, step in enumerate(case.steps):
                line = tests.line("tests", index, "steps", j)
                raw = tests.raw_step(index, j)
                text = step_text(raw)
                try:
                    self._step(tests, run, step, step_text(raw, with_expect=False))
                except _StepFailed as e:
                    failure = [f"  step {j + 1} (line {line}): {text}", *e.lines,
                               *what_happened(run)]
                    break
                except ConversationEnded:
                    failure = [f"  step {j + 1} (line {line}): {text}",
                               "    the call had already ended", *what_happened(run)]
                    break
                except Exception as e:  # noqa: BLE001 - a step error fails its test, not the run
                    failure = [f"  step {j + 1} (line {line}): {text}",
                               f"    error: {type(e).__name__}: {e}", *what_happened(run)]
                    break
                if self.verbose:
                    self._print(f"    step {j + 1} (line {line}) {text}"
                                + (f" {describe_turn(run.last)}" if step.action not in
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
    def _step(self, tests: LoadedTests, run: CallUnderTest, step: StepSpec, label: str) -> None:
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


# ---------------------------------------------------------------- the command
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
    from ivr.understanding.text_vectors import use_disk_cache

    out = out or sys.stdout
    settings = load_settings()
    use_disk_cache(settings.meaning_cache)
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
