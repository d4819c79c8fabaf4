"""`ivr lint`'s `few-examples` warning (ivr/dialplan/lint_meaning.py): an intent a menu offers,
matched by meaning, with fewer than FEW_EXAMPLES examples in a language of the dialplan."""

from __future__ import annotations

from ivr.config import REPO_ROOT
from ivr.dialplan.lint import lint_file
from ivr.dialplan.lint_meaning import FEW_EXAMPLES
from tests.unit.inline_plans import plan_file

NODES = """\
s:
  menu:
    prompt: 请说
    choices:
      - {intent: bill, goto: bye}
      - {intent: yes, goto: bye}
bye:
  hangup: {say: 再见}
"""
TEN = ", ".join(f"查第{i}个月的话费" for i in range(FEW_EXAMPLES))


def _warned(tmp_path, head: str) -> list[str]:
    return [i.message for i in lint_file(plan_file(tmp_path, NODES, head))
            if i.code == "few-examples"]


def intents(bill_examples: str, semantic: bool = True) -> str:
    return (f"semantic: {{enabled: {str(semantic).lower()}}}\n"
            "intents:\n"
            f"  bill:\n    examples: {{zh-CN: [{bill_examples}], en-US: [my bill]}}\n"
            "  yes:\n    keywords: [是的, yes]\n"
            "  spare:\n    examples: [unused]\n")


def test_an_offered_intent_with_few_examples_is_warned_per_language(tmp_path) -> None:
    got = _warned(tmp_path, intents("查话费, 我的账单"))
    assert len(got) == 2
    assert any("'bill' has 2 example(s) in zh-CN" in m for m in got)
    assert any("'bill' has 1 example(s) in en-US" in m for m in got)


def test_enough_examples_keyword_intents_and_unoffered_ones_are_not(tmp_path) -> None:
    got = _warned(tmp_path, intents(TEN))
    assert [m for m in got if "zh-CN" in m] == []
    assert all("'yes'" not in m and "'spare'" not in m for m in got)


def test_nothing_without_matching_by_meaning(tmp_path) -> None:
    assert _warned(tmp_path, intents("查话费", semantic=False)) == []


def test_the_shipped_dialplans_have_none() -> None:
    for name in ("hotline.yaml", "bank.yaml", "clinic.yaml"):
        assert [i for i in lint_file(REPO_ROOT / "dialplans" / name)
                if i.code == "few-examples"] == []
