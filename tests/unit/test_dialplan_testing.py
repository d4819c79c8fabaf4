"""`ivr test`: the YAML conversation-test runner, its messages, and the fake webhook server."""

from __future__ import annotations

import argparse
import io
import textwrap
import urllib.request
from pathlib import Path

import pytest

from audio_models.protocols import Transcript
from ivr.cli import build_parser
from ivr.config import REPO_ROOT
from ivr.dialplan.case_spec import MalformedTestFile, load_test_file
from ivr.dialplan.fake_webhooks import FakeResponse, FakeWebhookServer
from ivr.dialplan.testing import run_tests

DIALPLANS = REPO_ROOT / "dialplans"
HOTLINE_TESTS = DIALPLANS / "hotline.test.yaml"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "dialplan_tests"
HOTLINE = DIALPLANS / "hotline.yaml"


def _run(*argv: str, asr_factory=None) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    args = build_parser().parse_args(["test", *argv])
    out = io.StringIO()
    code = run_tests(args, out=out, asr_factory=asr_factory)
    return code, out.getvalue()


def _write(tmp_path: Path, text: str, name: str = "t.test.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).replace("HOTLINE", str(HOTLINE)), encoding="utf-8")
    return path


# ---------------------------------------------------------------- the shipped tests
# (all of them pass: tests/unit/test_shipped_dialplans.py; they are not run twice)
def test_the_cli_runs_it(monkeypatch: pytest.MonkeyPatch,
                         capsys: pytest.CaptureFixture[str]) -> None:
    from ivr.cli import main

    monkeypatch.chdir(REPO_ROOT)
    assert main(["test", "dialplans/hotline.test.yaml", "-k", "agent by keyword"]) == 0
    out = capsys.readouterr().out
    assert "PASSED dialplans/hotline.test.yaml::agent by keyword\n" in out
    assert "3 passed, 0 failed" in out


def test_keyword_filter_and_verbose_steps() -> None:
    code, out = _run(str(HOTLINE_TESTS), "-k", "TOP-UP CANCELLED BY VOICE", "-v")
    assert code == 0
    assert "::top-up cancelled by voice\n" in out
    assert "step 2 (line " in out and "caller: 一百块 -> topup_confirm" in out
    assert "expect: {said: 您要充值一百元} ok" in out
    assert "1 passed, 0 failed" in out


def test_keyword_matching_nothing_fails() -> None:
    code, out = _run(str(HOTLINE_TESTS), "-k", "no such test")
    assert code == 1 and "no test name contains 'no such test'" in out


# ---------------------------------------------------------------- failures
def test_broken_expectation_names_step_line_and_what_happened() -> None:
    code, out = _run(str(FIXTURES / "bad" / "wrong_expectation.test.yaml"))
    assert code == 1
    assert "PASSED " in out and "wrong_expectation.test.yaml::passes" in out
    report = out[out.index("FAILED "):]
    assert report.splitlines()[0].endswith("wrong_expectation.test.yaml::wrong amount")
    assert ("  step 2 (line 11): expect: {intent: bill_enquiry, said: 九十九元, "
            "node: anything_else}") in report
    assert "    expected a prompt containing '九十九元'" in report
    assert "  after caller: 我想查一下话费:" in report
    assert "node: anything_else (came from main_menu), language zh-CN" in report
    assert "understood: match, intent bill_enquiry 0.89 (scores: bill_enquiry 0.89" in report
    assert "[zh-CN] 您本月的账单为九十八元，当前余额为五十八元二角。" in report
    assert out.splitlines()[-1].startswith("1 passed, 1 failed in ")


def test_every_kind_of_mismatch_is_explained(tmp_path: Path) -> None:
    path = _write(tmp_path, """\
        dialplan: HOTLINE
        tests:
          - name: many
            steps:
              - keys: "1"
                expect:
                  node: main_menu
                  intent: agent
                  outcome: no_match
                  not_said: 九十八元
                  slots: {amount: 5}
                  variables: {caller: "1", missing: 2}
                  language: en-US
                  transfer: {reason: x}
                  hangup: completed
                  ended: true
          - name: after the end
            steps:
              - keys: "0"
              - caller: 你好
          - name: webhook
            steps:
              - expect: {webhook: {method: GET}}
        """)
    code, out = _run(str(path))
    assert code == 1
    for text in [
        "expected node 'main_menu', got 'anything_else'",
        "expected intent 'agent', got 'bill_enquiry' (score 1.00, match)",
        "expected outcome 'no_match', got 'match'",
        "expected no prompt containing '九十八元', got '您本月的账单为九十八元",
        "expected slot.amount = 5, but it is missing",
        "expected variable caller = '1', but it is not set",
        "expected variable missing = 2, but it is not set",
        "expected language 'en-US', got 'zh-CN'",
        "expected a transfer, but there was none (the call goes on)",
        "expected hangup 'completed', got no hangup (the call goes on)",
        "expected ended: True, got False (the call goes on)",
        "  step 2 (line 20): caller: 你好\n    the call had already ended",
        "transferred to queue:general (caller_request)",
        "expected a webhook call, but none was made",
    ]:
        assert text in out, text
    assert "0 passed, 3 failed" in out


def test_loose_value_comparison(tmp_path: Path) -> None:
    path = _write(tmp_path, """\
        dialplan: HOTLINE
        variables: {caller: 13800138000}
        tests:
          - name: loose
            steps:
              - keys: "2"
              - keys: "12345678#"
              - expect: {slots: {account: 12345678}, variables: {caller: "13800138000"}}
              - keys: "1"
              - keys: "3"
              - caller: 五十
              - expect: {slots: {amount: 50.0}, variables: {amount: "50"}}
        """)
    code, out = _run(str(path))
    assert code == 0, out


# ---------------------------------------------------------------- malformed files
@pytest.mark.parametrize(("text", "message"), [
    ("dialplan: HOTLINE\ntests:\n  - name: a\n    steps:\n      - caler: hi\n",
     ":5:9: tests.0.steps.0.caler: unknown key 'caler' (a step has one of caller, keys"),
    ("dialplan: HOTLINE\ntests:\n  - name: a\n    steps:\n      - expect: {nod: x}\n",
     ":5:18: tests.0.steps.0.expect.nod: unknown key 'nod' (expect keys: node, said"),
    ("dialplan: HOTLINE\ntests:\n  - name: a\n    steps:\n      - keys: 0123\n",
     ":5:9: tests.0.steps.0.keys: quote keys longer than one digit"),
    ("dialplan: HOTLINE\ntests:\n  - name: a\n    steps:\n      - {caller: a, keys: '1'}\n",
     ":5:9: tests.0.steps.0: a step does one thing, got caller, keys"),
    ("dialplan: HOTLINE\ntests:\n  - name: a\n    steps:\n      - expect: {said: 1}\n",
     "tests.0.steps.0.expect.said: Input should be a valid string or a valid list"),
    ("dialplan: HOTLINE\ntests:\n  - name: a\n    steps:\n      - silence: true\n"
     "  - name: a\n    steps:\n      - silence: true\n",
     ":6:5: duplicate test name 'a' (first at line 3)"),
    ("dialplan: HOTLINE\ntests:\n  - name: a\n    steps: [{audio: gone.wav}]\n",
     ":4:14: audio file not found: gone.wav"),
    ("dialplan: missing.yaml\ntests:\n  - name: a\n    steps: [{silence: true}]\n",
     ":1:1: dialplan not found: missing.yaml"),
    ("dialplan: HOTLINE\ntime: 2026-11-23T10:00:00\ntests:\n  - name: a\n"
     "    steps: [{silence: true}]\n", ":2:1: time: the time needs a UTC offset"),
    ("dialplan: HOTLINE\nlanguage: fr\ntests:\n  - name: a\n    steps: [{silence: true}]\n",
     ":2:1: language 'fr' is neither one of the dialplan's (zh-CN, en-US) nor a profile"),
    ("dialplan: HOTLINE\ntests: [\n", ":3:1: invalid YAML"),
    ("dialplan: HOTLINE\ndialplan: x\ntests: []\n", ":2:1: duplicate key 'dialplan'"),
    ("- just a list\n", ":1:1: a test file is a mapping with `dialplan` and `tests`"),
    ("dialplan: HOTLINE\n", ":1:1: tests: missing required key 'tests'"),
])
def test_malformed_files_are_reported_with_file_and_line(tmp_path: Path, text: str,
                                                         message: str) -> None:
    path = _write(tmp_path, text)
    code, out = _run(str(path))
    assert code == 1
    assert f"ERROR {path}{message}" in out or (f"ERROR {path}:" in out and message in out), out
    assert out.splitlines()[-1].startswith("0 passed, 0 failed, 1 error")
    with pytest.raises(MalformedTestFile):
        load_test_file(path)


def test_a_broken_dialplan_is_reported_through_the_test_file(tmp_path: Path) -> None:
    (tmp_path / "plan.yaml").write_text("name: x\nstart: nowhere\n", encoding="utf-8")
    path = _write(tmp_path, "dialplan: plan.yaml\ntests: [{name: a, steps: [{silence: true}]}]\n")
    code, out = _run(str(path))
    assert code == 1
    assert f"ERROR {path}:1:1: dialplan plan.yaml does not load:" in out
    assert "plan.yaml:1:1" in out and "languages" in out


def test_paths_that_hold_no_tests(tmp_path: Path) -> None:
    code, out = _run(str(tmp_path), str(tmp_path / "absent.test.yaml"))
    assert code == 1
    assert f"ERROR {tmp_path}: no *.test.yaml files found" in out
    assert "absent.test.yaml: no such file or directory" in out


def test_directories_are_searched_recursively(tmp_path: Path) -> None:
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    _write(sub, "dialplan: HOTLINE\ntests: [{name: x, steps: [{keys: '1'}]}]\n", "x.test.yaml")
    _write(sub, "not: a test\n", "ignored.yaml")
    code, out = _run(str(tmp_path))
    assert code == 0 and "x.test.yaml::x" in out and "1 passed, 0 failed" in out


# ---------------------------------------------------------------- webhooks
def test_fake_webhook_server_file_passes() -> None:
    code, out = _run(str(FIXTURES / "crm.test.yaml"))
    assert code == 0, out
    assert "3 passed, 0 failed" in out and "note:" not in out


def test_unmatched_webhook_requests_are_reported(tmp_path: Path) -> None:
    crm = FIXTURES / "crm.yaml"
    path = _write(tmp_path, f"""\
        dialplan: {crm}
        variables: {{caller: "10086"}}
        webhooks:
          - {{method: POST, path: /customers, json: {{}}}}
        tests:
          - name: lookup fails
            steps:
              - expect:
                  said: 系统繁忙
                  variables: {{webhook_status: 404, webhook_error: HTTP 404}}
                  webhook: {{method: GET, path: /customers, query: {{phone: "10086"}}, status: 404}}
        """)
    code, out = _run(str(path))
    assert code == 0, out
    assert ("  note: webhook GET /customers?phone=10086 had no fake response (answered 404); "
            "add it under `webhooks:`") in out


def test_webhook_expectation_mismatch(tmp_path: Path) -> None:
    path = _write(tmp_path, f"""\
        dialplan: {FIXTURES / "crm.yaml"}
        variables: {{caller: "10086"}}
        webhooks:
          - {{path: /customers, json: {{data: {{name: 李四}}}}}}
        tests:
          - name: wrong
            steps:
              - expect:
                  webhook: {{method: POST, path: /clients, query: {{phone: "1"}}, status: 201}}
        """)
    code, out = _run(str(path))
    assert code == 1
    assert "expected webhook method POST, got GET" in out
    assert "expected webhook path '/clients', got '/customers' " \
           "(https://crm.example.com/customers?phone=10086)" in out
    assert "expected webhook query.phone = '1', got '10086'" in out
    assert "expected webhook status 201, got 200" in out
    assert "webhook GET https://crm.example.com/customers?phone=10086 -> 200 ok" in out


def test_fake_server_matches_method_path_query_and_times() -> None:
    responses = [
        FakeResponse(method="GET", path="/a?x=1", json={"hit": "x1"}),
        FakeResponse(method="get", path="/a", status=503, times=1),
        FakeResponse(method="GET", path="/a", text="plain", headers={"X-Fake": "yes"}),
        FakeResponse(method="POST", path="/a", status=204),
    ]
    with FakeWebhookServer(responses) as server:
        def get(url: str, method: str = "GET") -> tuple[int, str, str]:
            req = urllib.request.Request(server.base_url + url, method=method)
            try:
                with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310 - local
                    return resp.status, resp.read().decode(), resp.headers.get("X-Fake", "")
            except urllib.error.HTTPError as e:
                return e.code, e.read().decode(), ""

        assert get("/a?x=1&y=2") == (200, '{"hit": "x1"}', "")
        assert get("/a")[0] == 503
        assert get("/a") == (200, "plain", "yes")
        assert get("/a", "POST")[0] == 204
        assert get("/b")[0] == 404
        assert [r.matched for r in server.requests] == [True, True, True, True, False]
        assert [r.path for r in server.unmatched] == ["/b"]
        server.reset()
        assert server.requests == [] and get("/a")[0] == 503  # `times` counts again
        assert server.rewrite("https://crm.example.com:8443/v1/x?q=a%20b#frag") == (
            f"{server.base_url}/v1/x?q=a%20b")


# ---------------------------------------------------------------- audio steps
class _ScriptedASR:
    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        self.calls: list[tuple[float, str, str | None]] = []

    def transcribe_sync(self, audio, language, prompt=None):  # type: ignore[no-untyped-def]
        self.calls.append((audio.duration, language, prompt))
        return Transcript(self.texts.pop(0), language, 0.9, -0.1, 0.01, audio.duration, 0.05)


def test_audio_steps_use_the_asr_in_the_call_language() -> None:
    asr = _ScriptedASR(["I want to check my bill.", "No, thank you."])
    made: list[str] = []

    def factory(spec: str) -> _ScriptedASR:
        made.append(spec)
        return asr

    code, out = _run(str(FIXTURES / "audio.test.yaml"), "--asr-model", "tiny.en", "-v",
                     asr_factory=factory)
    assert code == 0, out
    assert made == ["tiny.en"]
    assert [c[1:] for c in asr.calls] == [("en", None), ("en", None)]
    assert all(1.0 < c[0] < 3.0 for c in asr.calls)
    assert "(heard 'I want to check my bill.', confidence 0.90)" in out


def test_audio_steps_with_the_real_asr() -> None:
    code, out = _run(str(FIXTURES / "audio.test.yaml"), "-v")
    assert code == 0, out
    assert "heard 'I want to check my bill.'" in out


def test_run_tests_accepts_a_plain_namespace() -> None:
    out = io.StringIO()
    args = argparse.Namespace(paths=[HOTLINE_TESTS], keyword="key 0 in English",
                              verbose=False, asr_model="base")
    assert run_tests(args, out=out) == 0
    assert "1 passed, 0 failed" in out.getvalue()


def test_intent_holds_only_when_the_call_went_on_as_that_intent(tmp_path: Path) -> None:
    """A no-match whose top candidate is `top_up` (the caller heard "did you mean to top
    up?") is not `intent: top_up`: that is `confirm: top_up` (issue 16)."""
    path = _write(tmp_path, """\
        dialplan: HOTLINE
        language: en-US
        tests:
          - name: unsure counted as matched
            steps:
              - caller: I'm low on money
                expect: {intent: top_up}
          - name: unsure as a question
            steps:
              - caller: I'm low on money
                expect: {confirm: top_up, intent: null, outcome: no_match}
              - caller: "yes"
                expect: {intent: top_up, confirm: null, node: topup_amount}
          - name: no question asked
            steps:
              - caller: check my bill
                expect: {confirm: top_up}
        """)
    code, out = _run(str(path))
    assert code == 1
    assert "FAILED" in out and "unsure counted as matched" in out
    assert "expected intent 'top_up', got None (score" in out and "top candidate 'top_up'" in out
    assert "PASSED" in out and "::unsure as a question" in out
    assert "a 'did you mean' question about 'top_up', got None" in out
    assert "1 passed, 2 failed" in out
