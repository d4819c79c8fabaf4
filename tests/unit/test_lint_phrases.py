"""`ivr lint` on the intents' phrase rules (ivr/dialplan/lint_phrases.py): a keyword its own
`exclude` cuts."""

from __future__ import annotations

from ivr.dialplan.lint import lint_file
from tests.unit.inline_plans import plan_file

NODES = """\
s:
  menu:
    prompt: 请说
    choices:
      - {intent: bill, goto: bye}
      - {intent: top_up, goto: bye}
bye:
  hangup: {say: 再见}
"""
INTENTS = """\
intents:
  bill:
    keywords: {zh-CN: [话费, 账单], en-US: [bill]}
  top_up:
    keywords: {zh-CN: [充值, 预存], en-US: [top up]}
    exclude: [充值卡]
"""


def _issues(tmp_path, intents: str) -> list[tuple[str, str]]:
    return [(i.code, i.message) for i in lint_file(plan_file(tmp_path, NODES, intents))
            if i.code.startswith("keyword-")]


def test_distinct_keywords_have_no_issue(tmp_path) -> None:
    assert _issues(tmp_path, INTENTS) == []


def test_a_keyword_its_own_exclude_cuts_is_never_heard(tmp_path) -> None:
    got = _issues(tmp_path, INTENTS.replace("[充值, 预存]", "[充值卡充值, 预存]"))
    assert [c for c, _ in got] == ["keyword-excluded"]
    assert "充值卡充值" in got[0][1] and "never be heard" in got[0][1]


def test_english_exclusions_are_whole_words(tmp_path) -> None:
    intents = INTENTS.replace("exclude: [充值卡]", "exclude: [top]")
    assert [c for c, _ in _issues(tmp_path, intents)] == ["keyword-excluded"]
    intents = INTENTS.replace("exclude: [充值卡]", "exclude: [to]")
    assert _issues(tmp_path, intents) == []
