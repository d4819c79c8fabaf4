"""A phone call and `ivr test` agree turn by turn (issue 16: one call driver).

Every case of tests/fixtures/agreement/*.test.yaml runs twice:
- through `Conversation`, what `ivr test` and `ivr simulate` run (scripted input, virtual clock);
- through a phone call's code path: `CallSession` on fake media (tests/unit/fakes.py) with the
  real endpointer on real speech audio, keys through `on_dtmf`, prompts that take time to
  play. The caller acts once the call asks its next question and its prompts have played;
  in the cases named "over the notice: ..." as soon as the question is asked while a prompt
  that cannot be interrupted still plays (issue 18: the input is kept, answers that question,
  and the prompts queued behind the notice are cut when it ends).

After each step both must show the same: the prompts said, the question now waited for, the
outcome and intent of the last turn, a consent answer, a transfer or a hang-up. The
expectations of each case must also pass in `ivr test` itself.
"""

from __future__ import annotations

import asyncio
import io
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ivr.call.inputs import typed_transcript
from ivr.call.session import CallSession, SessionDeps
from ivr.config import Settings
from ivr.dialplan.case_spec import CaseSpec, LoadedTests, StepSpec, load_test_file
from ivr.dialplan.conversation import Conversation
from ivr.dialplan.engine import DialogEngine
from ivr.dialplan.loader import LoadedDialplan
from ivr.dialplan.testing import SuiteRunner
from ivr.escalation.agents import AgentConfig, AgentDirectory
from tests.unit.call_runner import caller_audio, speech_clip
from tests.unit.fakes import FakeASR, FakeControl, FakeMedia, FakePrompts, WatchedStore

FIXTURES = Path(__file__).parents[1] / "fixtures" / "agreement"
SUITES = sorted(FIXTURES.glob("*.test.yaml"))
TIMEOUT_S = 0.3  # the phone's no-input and interdigit timeouts (the script's are virtual)
OVER_PROTECTED = "over the notice: "  # the name of a case whose caller acts over the notice


@dataclass(frozen=True)
class Seen:
    """What one step did, as the caller and the call's records show it."""

    said: tuple[str, ...]
    waiting_at: str | None  # the question now asked (None: the call is over)
    outcome: str | None
    intent: str | None
    consented: bool
    transfer: str | None
    hangup: str | None
    callback: str | None  # the number of the last call back booked
    voicemail: str | None  # what was heard of the last message ("" when it was empty)


def _plan(tests: LoadedTests) -> LoadedDialplan:
    plan = tests.dialplan.plan.model_copy(deep=True)
    plan.defaults.timeout_s = None  # the service's no-input timeout applies
    if plan.consent is not None:
        plan.consent.timeout_s = TIMEOUT_S
    for node in plan.nodes.values():
        if node.voicemail is not None:
            node.voicemail.max_s = 1.5  # a silent caller's message ends soon
    return LoadedDialplan(plan, tests.dialplan.path, tests.dialplan.version)


def _settings(tmp_path: Path, agents_available: bool) -> Settings:
    """An agent serves the queue when the test has agents (nobody answers before the test
    ends); none when it has not, so a queue transfer finds nobody at once."""
    agents = [AgentConfig(id="8001", uri="sip:8001@127.0.0.1")] if agents_available else []
    return Settings(data_dir=tmp_path, dialog={"no_input_timeout_s": TIMEOUT_S,
                                               "interdigit_timeout_s": TIMEOUT_S},
                    tts={"prerender_replies": False}, agents=agents,
                    escalation={"max_wait_s": 30})


# ---------------------------------------------------------------- ivr test's path
def run_scripted(tests: LoadedTests, case: CaseSpec, settings: Settings) -> list[Seen]:
    loaded = _plan(tests)
    seen: list[Seen] = []
    with Conversation(loaded, variables={**tests.spec.variables, **case.variables},
                      disclosure=settings.privacy.disclosure,
                      no_input_timeout_s=TIMEOUT_S, interdigit_timeout_s=TIMEOUT_S,
                      agents_available=_agents(tests, case)) as conv:
        seen.append(_seen(conv, conv.start()))
        for step in _actions(case):
            if conv.ended:
                break
            if step.keys is not None:
                seen.append(_seen(conv, conv.press(step.keys)))
            elif step.caller is not None:
                seen.append(_seen(conv, conv.say_text(step.caller)))
            else:
                seen.append(_seen(conv, conv.silence()))
    return seen


def _seen(conv: Conversation, r: Any) -> Seen:
    consented = any(t == "recording_consented" for t, _ in conv.events)
    return Seen(tuple(r.said), None if r.ended or r.listening is None else r.listening.node,
                r.outcome, r.intent, consented, r.transfer.target if r.transfer else None,
                r.hangup, conv.callbacks[-1]["number"] if conv.callbacks else None,
                conv.voicemails[-1]["text"] if conv.voicemails else None)


def _agents(tests: LoadedTests, case: CaseSpec) -> bool:
    return (case.agents or tests.spec.agents) == "available"


def _actions(case: CaseSpec) -> list[StepSpec]:
    return [s for s in case.steps if s.action is not None]


# ---------------------------------------------------------------- the phone's path
async def _phone(tests: LoadedTests, case: CaseSpec, settings: Settings) -> list[Seen]:
    loaded = _plan(tests)
    store = WatchedStore(settings.db_path)
    over = case.name.startswith(OVER_PROTECTED)  # (prompts then play long enough to act)
    media, prompts, control = FakeMedia(speed=0.5 if over else 0.05), FakePrompts(), FakeControl()
    asr = FakeASR([typed_transcript(s.caller, loaded.plan.default_language)
                   for s in _actions(case) if s.caller is not None])
    directory = AgentDirectory(store)
    directory.sync(settings.agents)
    deps = SessionDeps(settings, loaded, DialogEngine(loaded.plan), asr, prompts, store,
                       control, agents=directory)
    variables = {**tests.spec.variables, **case.variables}
    session = CallSession("agree-1", variables.get("caller", "1000"), "2000", media, deps)
    session._driver.variables.update(variables)
    control.session = session
    media.set_notify(session.notify_audio)
    task = asyncio.get_running_loop().create_task(session.run())
    seen: list[Seen] = []
    try:
        marks = _Marks(session, store, prompts, _agents(tests, case), over)
        await marks.settled(task, (0, 0, 0))
        seen.append(marks.seen(task))
        for step in _actions(case):
            if task.done():
                break
            asked = marks.progress()
            if step.keys is not None:
                for k in step.keys:
                    session.on_dtmf(k, time.monotonic())
            elif step.caller is not None:
                media.feed(caller_audio(speech_clip()))
            await marks.settled(task, asked)
            seen.append(marks.seen(task))
    finally:
        if not task.done():
            session.end("test_over")
            await asyncio.wait_for(task, 5)
        store.close()
    return seen


class _Marks:
    """The phone call's observable state, step by step."""

    def __init__(self, session: CallSession, store: WatchedStore, prompts: FakePrompts,
                 agents: bool, over_protected: bool = False) -> None:
        self.session, self.store, self.prompts = session, store, prompts
        self.agents = agents  # an agent serves the queue: a transfer hands the caller over
        self.over_protected = over_protected  # act while a protected prompt plays
        self._said = 0
        self._turns = 0

    def _events(self, type_: str) -> list[dict[str, Any]]:
        call = self.store.get_call("agree-1") or {"events": []}
        return [e["data"] for e in call["events"] if e["type"] == type_]

    def progress(self) -> tuple[int, int, int]:
        """Questions asked, transfers begun, messages being recorded."""
        return (len(self._events("listen")), len(self._events("transfer")),
                len(self._events("voicemail_recording")))

    async def settled(self, task: asyncio.Task[None], before: tuple[int, int, int]) -> None:
        """Until the call waits for the caller's answer to a new question (over the notice:
        or asks it while a protected prompt still plays), records their message, or has
        handed them over to the queue (or ended)."""
        s = self.session
        async with asyncio.timeout(10):
            while True:
                asked, transferred, recording = self.progress()
                handed_over = self.agents and transferred > before[1]
                ready = s._turns.waiting or (self.over_protected and s._playout.protected
                                             and s._turns.listen is not None)
                if task.done() or handed_over or recording > before[2] or (
                        asked > before[0] and ready and s.inputs.pending == 0):
                    return
                await asyncio.sleep(0.01)

    def seen(self, task: asyncio.Task[None]) -> Seen:
        said = [t for t, _ in self.prompts.requests[self._said:]]
        self._said = len(self.prompts.requests)
        call = self.store.get_call("agree-1") or {"turns": []}
        turns = call["turns"][self._turns:]
        self._turns = len(call["turns"])
        last = turns[-1] if turns else {}
        transfers = self._events("transfer")
        hangups = self._events("hangup_by_ivr")
        callbacks = [c for c in self.store.callbacks() if c["kind"] == "callback"]
        messages = [e.get("text", "") for e in self._events("voicemail_saved")] + [
            "" for _ in self._events("voicemail_empty")]
        listen = self.session._turns.listen
        ended = task.done() or bool(transfers and self._handed_over())
        return Seen(tuple(said), None if ended or listen is None else listen.node,
                    last.get("outcome"), last.get("intent"),
                    bool(self._events("recording_consented")),
                    transfers[-1]["target"] if transfers and self._handed_over() else None,
                    hangups[-1]["reason"] if hangups else None,
                    callbacks[0]["number"] if callbacks else None,  # (newest first)
                    messages[-1] if messages else None)

    def _handed_over(self) -> bool:
        """A transfer that found nobody gave the call back to the dialplan."""
        return self.agents


# ---------------------------------------------------------------- the tests
def _cases() -> list[Any]:
    return [pytest.param(path, i, id=f"{path.stem}::{case.name}")
            for path in SUITES for i, case in enumerate(load_test_file(path).spec.tests)]


@pytest.mark.parametrize(("path", "index"), _cases())
def test_phone_call_and_ivr_test_agree(tmp_path, path, index):
    tests = load_test_file(path)
    case = tests.spec.tests[index]
    settings = _settings(tmp_path, _agents(tests, case))
    scripted = run_scripted(tests, case, settings)
    phone = asyncio.run(_phone(tests, case, settings))
    for n, (a, b) in enumerate(zip(scripted, phone, strict=True)):
        assert a == b, f"step {n}: ivr test saw {a}, the phone call saw {b}"


def test_the_agreement_cases_pass_in_ivr_test():
    out = io.StringIO()
    runner = SuiteRunner(out)
    try:
        for path in SUITES:
            runner.run_file(path)
    finally:
        runner.close()
    assert "FAILED" not in out.getvalue() and "ERROR" not in out.getvalue(), out.getvalue()
    assert out.getvalue().count("PASSED") == len(_cases())
