"""`ivr lint`: each broken fixture reports exactly its issue(s) at the exact file:line:column.

A fixture marks each line where an issue is expected with a trailing `# <- CODE`; the tables
below give the severity and the text the column points at, so a fixture can be edited without
touching the tests, yet every position is checked exactly.
"""

from __future__ import annotations

import argparse
import json
import shutil
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from ivr.cli import main as cli_main
from ivr.config import REPO_ROOT
from ivr.dialplan.lint import lint_file, lint_loaded, run_lint
from ivr.dialplan.loader import load_dialplan

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "dialplans"
BROKEN = FIXTURES / "broken"
OK = FIXTURES / "ok"
HOTLINE = REPO_ROOT / "dialplans" / "hotline.yaml"

# fixture -> [(severity, code, text the column points at[, other file holding the issue])]
CASES: dict[str, list[tuple[str, ...]]] = {
    # loader errors
    "bad_yaml.yaml": [("error", "yaml", "next")],
    "unknown_verb.yaml": [("error", "extra_forbidden", "speak")],
    "wrong_type.yaml": [("error", "int_parsing", "max_attempts")],
    "missing_next.yaml": [("error", "value_error", "welcome")],
    "duplicate_id.yaml": [("error", "duplicate", "welcome")],
    "dangling_goto.yaml": [("error", "undefined", "goto")],
    "include_cycle.yaml": [("error", "include", "include_cycle.yaml", "include_cycle_part.yaml")],
    # semantic checks
    "unreachable.yaml": [("warning", "unreachable", "old_promo")],
    "undefined_variable.yaml": [("error", "undefined-variable", "if"),
                                ("error", "undefined-variable", "en-US")],
    "missing_language.yaml": [("error", "missing-language", "say"),
                              ("warning", "unknown-language", "fr-FR")],
    "intent_collision.yaml": [("error", "intent-collision", "查话费！")],
    "intent_overlap.yaml": [("warning", "intent-overlap", "查话费余额")],
    "bad_url.yaml": [("error", "bad-url", "url")],
    "missing_file.yaml": [("error", "missing-file", "say")],
    "duplicate_dtmf.yaml": [("warning", "dtmf-prefix", "dtmf"),
                            ("error", "duplicate-dtmf", "dtmf"),
                            ("error", "duplicate-dtmf", "dtmf")],
    "bad_range.yaml": [("error", "bad-range", "min_length"), ("error", "bad-range", "min_value")],
    "flow_return.yaml": [("warning", "flow-never-returns", "flow"),
                         ("warning", "return-outside-flow", "return")],
    "unused.yaml": [("warning", "unused", "complaint"), ("warning", "unused", "office")],
    "no_failure_path.yaml": [("warning", "no-failure-path", "menu")],
}
PARTIALS = {"include_cycle_part.yaml"}  # linted as part of include_cycle.yaml


def marked(path: Path, code: str) -> list[tuple[int, str]]:
    """(line number, line) of the lines marked `# <- ... CODE ...`, in order."""
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if "# <- " in line and code in line.split("# <- ", 1)[1].split():
            out.append((n, line))
    return out


def expected(name: str) -> list[tuple[str, int, int, str, str]]:
    used: Counter[tuple[Path, str]] = Counter()
    out = []
    for severity, code, token, *other in CASES[name]:
        path = BROKEN / (other[0] if other else name)
        line_no, line = marked(path, code)[used[path, code]]
        used[path, code] += 1
        # the loader names included files by their resolved path, the linted file as given
        file = str(path.resolve()) if other else str(path)
        out.append((file, line_no, line.index(token) + 1, severity, code))
    return sorted(out)


def got(issues: list) -> list[tuple[str, int, int, str, str]]:
    return sorted((i.file, i.line, i.column, i.severity, i.code) for i in issues)


def lint_args(*paths: Path, strict: bool = False, fmt: str = "text") -> argparse.Namespace:
    return argparse.Namespace(paths=list(paths), strict=strict, format=fmt)


# ---------------------------------------------------------------- one fixture per problem
@pytest.mark.parametrize("name", sorted(CASES))
def test_broken_fixture_reports_exactly_its_issues(name: str) -> None:
    issues = lint_file(BROKEN / name)
    assert got(issues) == expected(name), "\n".join(map(str, issues))


def test_every_broken_fixture_has_a_case_and_every_case_a_marker() -> None:
    files = {p.name for p in BROKEN.glob("*.yaml")}
    assert files == set(CASES) | PARTIALS
    for name in CASES:
        for _sev, code, _token, *other in CASES[name]:
            assert marked(BROKEN / (other[0] if other else name), code), (name, code)


def test_issue_text_is_file_line_column_severity_message_code() -> None:
    path = BROKEN / "bad_url.yaml"
    [issue] = lint_file(path)
    line, text = marked(path, "bad-url")[0]
    col = text.index("url") + 1
    assert str(issue).startswith(f"{path}:{line}:{col}: error: not an http(s) URL")
    assert str(issue).endswith(" [bad-url]")


def test_messages_say_what_is_wrong() -> None:
    msgs = [i.message for i in lint_file(BROKEN / "undefined_variable.yaml")]
    assert any("'amout'" in m and "did you mean 'amount'" in m for m in msgs)
    assert any("'turns.tries'" in m for m in msgs)
    [dup, zero] = [i.message for i in lint_file(BROKEN / "duplicate_dtmf.yaml")
                   if i.code == "duplicate-dtmf"]
    assert "'1'" in dup and "'0'" in zero
    [overlap] = lint_file(BROKEN / "intent_overlap.yaml")
    assert "'top_up'" in overlap.message and "main_menu" in overlap.message


# ---------------------------------------------------------------- clean dialplans
def test_shipped_hotline_lints_without_errors_or_warnings() -> None:
    issues = lint_file(HOTLINE)
    assert issues == [], "\n".join(map(str, issues))


def test_lint_loaded_is_what_hot_reload_uses() -> None:
    assert lint_loaded(load_dialplan(HOTLINE)) == []
    assert [i.code for i in lint_loaded(load_dialplan(BROKEN / "bad_url.yaml"))] == ["bad-url"]


def test_ok_fixture_with_every_verb_include_and_subflow_is_clean() -> None:
    assert lint_file(OK / "full.yaml") == []


def _plan(tmp_path: Path, nodes: str, extra: str = "") -> Path:
    path = tmp_path / "plan.yaml"
    path.write_text(textwrap.dedent("""\
        name: t
        languages: [en-US]
        default_language: en-US
        start: welcome
        defaults: {on_failure: bye}
        """) + textwrap.dedent(extra) + "nodes:\n" + textwrap.indent(textwrap.dedent(nodes), "  ")
        + "  bye:\n    hangup: {say: Bye.}\n", encoding="utf-8")
    return path


def test_variables_defined_anywhere_and_builtins_are_known(tmp_path: Path) -> None:
    path = _plan(tmp_path, """\
        welcome:
          webhook: {url: "http://{host}/x/{caller}", save: {balance: data.b}}
          next: route
        route:
          branch:
            - {if: "emotion.anger > 0.5 or now.weekday == 1 or balance > tries", goto: bye}
            - {if: "turns.last_intent == 'x' and language == 'en-US'", goto: bye}
          next: said
        said:
          say: "{balance} {host} {webhook_status} {webhook_error} {failure_reason} {node}"
          next: bye
        """, "variables: {tries: 0, host: crm.example.com}\n")
    assert lint_file(path) == []


def test_value_outside_confirm_prompt_and_unknown_builtin_fields(tmp_path: Path) -> None:
    path = _plan(tmp_path, """\
        welcome:
          set: {when: "=now.year", said: "I heard {value}"}
          next: bye
        """)
    issues = lint_file(path)
    assert [(i.code, i.message.split(":")[0]) for i in issues] == [
        ("undefined-variable", "unknown variable 'now.year'"),  # at `when`
        ("undefined-variable", "undefined variable 'value'"),  # at `said`, further right
    ]
    lines = path.read_text(encoding="utf-8").splitlines()
    set_line = next(n for n, line in enumerate(lines, 1) if "set: {when:" in line)
    assert {i.line for i in issues} == {set_line}


def test_choice_set_expressions_are_checked(tmp_path: Path) -> None:
    path = _plan(tmp_path, """\
        welcome:
          menu:
            prompt: Press 1.
            choices:
              - {dtmf: "1", goto: bye, set: {topic: billing, total: "=topc + 1"}}
        """)
    [issue] = lint_file(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    line = next(n for n, text in enumerate(lines, 1) if "total:" in text)
    assert (issue.line, issue.severity, issue.code) == (line, "error", "undefined-variable")


# ---------------------------------------------------------------- run_lint: exit codes, output
def test_run_lint_clean_file_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_lint(lint_args(HOTLINE)) == 0
    assert capsys.readouterr().out == "0 errors, 0 warnings in 1 files\n"


def test_run_lint_errors_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_lint(lint_args(BROKEN / "duplicate_dtmf.yaml")) == 1
    out = capsys.readouterr().out.splitlines()
    assert [line.rsplit(" [", 1)[1] for line in out[:-1]] == [
        "dtmf-prefix]", "duplicate-dtmf]", "duplicate-dtmf]"]  # sorted by line
    assert out[-1] == "2 errors, 1 warnings in 1 files"


def test_warnings_fail_only_with_strict(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_lint(lint_args(BROKEN / "unreachable.yaml")) == 0
    assert run_lint(lint_args(BROKEN / "unreachable.yaml", strict=True)) == 1
    assert capsys.readouterr().out.count("0 errors, 1 warnings in 1 files") == 2


def test_json_format(capsys: pytest.CaptureFixture[str]) -> None:
    path = BROKEN / "missing_language.yaml"
    assert run_lint(lint_args(path, fmt="json")) == 1
    data = json.loads(capsys.readouterr().out)
    assert [(d["file"], d["severity"], d["code"]) for d in data] == [
        (str(path), "error", "missing-language"), (str(path), "warning", "unknown-language")]
    assert set(data[0]) == {"file", "line", "column", "message", "severity", "code"}
    assert data[0]["line"] == marked(path, "missing-language")[0][0]


def test_cli_wiring(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["lint", "--strict", str(HOTLINE)]) == 0
    assert cli_main(["lint", "--format", "json", str(BROKEN / "bad_url.yaml")]) == 1
    assert "bad-url" in capsys.readouterr().out


def test_directory_walk_lints_partials_through_their_includer(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert run_lint(lint_args(BROKEN)) == 1
    out = capsys.readouterr().out
    printed = [line.split(": ", 1)[0] for line in out.splitlines()[:-1]]
    want = [f"{f}:{line}:{col}" for name in CASES for f, line, col, _s, _c in expected(name)]
    # include_cycle_part.yaml is only linted as part of include_cycle.yaml
    assert sorted(printed) == sorted(want)
    errors = sum(s == "error" for n in CASES for s, *_ in CASES[n])
    warnings = sum(s == "warning" for n in CASES for s, *_ in CASES[n])
    assert out.splitlines()[-1] == (
        f"{errors} errors, {warnings} warnings in {len(CASES) + len(PARTIALS)} files")


def test_directory_walk_skips_tests_and_reports_orphan_partials(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ok = tmp_path / "dialplans" / "ok"
    shutil.copytree(OK, ok)
    (tmp_path / "audio").mkdir()  # full.yaml plays ../../audio/empty.wav
    shutil.copy(FIXTURES.parent / "audio" / "empty.wav", tmp_path / "audio")
    (ok / "hotline.test.yaml").write_text("not: [a dialplan", encoding="utf-8")
    (ok / ".hidden").mkdir()
    (ok / ".hidden" / "junk.yaml").write_text("{{{", encoding="utf-8")
    orphan = ok / "common" / "orphan.yaml"
    orphan.write_text("nodes:\n  lonely:\n    hangup: {}\n", encoding="utf-8")
    assert run_lint(lint_args(ok)) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [f"{orphan}:1:1: warning: partial dialplan (no `name`, no `start`) that no "
                   "linted dialplan includes: lint the file including it [orphan-partial]",
                   "0 errors, 1 warnings in 3 files"]
    assert run_lint(lint_args(ok, strict=True)) == 1


def test_unreadable_path_is_an_error_at_line_1(capsys: pytest.CaptureFixture[str]) -> None:
    missing = BROKEN / "no_such_plan.yaml"
    [issue] = lint_file(missing)
    assert (issue.file, issue.line, issue.column, issue.severity) == (str(missing), 1, 1, "error")
    assert "cannot read" in issue.message
    assert run_lint(lint_args(missing)) == 1
