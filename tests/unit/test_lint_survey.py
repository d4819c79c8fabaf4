"""`ivr lint` on the `survey` verb's fields (ivr/dialplan/lint_survey.py)."""

from __future__ import annotations

from ivr.dialplan.lint import lint_file
from tests.unit.inline_plans import plan_file

GOOD = """\
s:
  survey:
    question: {zh-CN: 请打分，一到五分, en-US: Rate us from 1 to 5}
    thanks: {zh-CN: 谢谢, en-US: Thanks}
  next: bye
bye:
  hangup: {say: 再见}
"""


def _codes(tmp_path, nodes: str) -> list[str]:
    return [i.code for i in lint_file(plan_file(tmp_path, nodes)) if i.code.startswith("survey")]


def test_a_good_survey_has_no_issue(tmp_path) -> None:
    assert _codes(tmp_path, GOOD) == []


def test_a_prompt_missing_a_language(tmp_path) -> None:
    issues = [i for i in lint_file(plan_file(tmp_path, GOOD.replace(", en-US: Thanks", "")))
              if i.code == "survey-missing-language"]
    assert len(issues) == 1 and issues[0].severity == "error"
    assert "en-US" in issues[0].message and issues[0].line == 9  # (5 lines of head)


def test_a_question_without_a_scale(tmp_path) -> None:
    nodes = GOOD.replace("请打分，一到五分", "您满意吗").replace("from 1 to 5", "please")
    assert _codes(tmp_path, nodes) == ["survey-no-scale"]


def test_a_survey_followed_by_a_transfer_and_a_reused_name(tmp_path) -> None:
    nodes = GOOD.replace("next: bye", "next: s2") + """\
s2:
  survey:
    question: {zh-CN: 再打分，一到五分, en-US: Again from one to five}
  next: agent
agent:
  transfer: {target: "queue:general"}
"""
    assert sorted(_codes(tmp_path, nodes)) == ["survey-name-reused", "survey-next", "survey-next"]
