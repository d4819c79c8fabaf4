"""`ivr lint` warns (`unconfirmed-irreversible`) when an intent leads to an irreversible
webhook without `confirm: always`, and stops warning once it is set (or the webhook is
declared reversible)."""

from __future__ import annotations

import pytest

from ivr.config import REPO_ROOT
from ivr.dialplan.lint import collect, lint_file
from ivr.dialplan.lint_confirm import irreversible_from
from ivr.dialplan.loader import DialplanError, load_dialplan
from ivr.dialplan.nodes import Webhook
from tests.unit.inline_plans import DEFAULTS_HEAD, plan_file

NODES = """
s:
  menu:
    prompt: {zh-CN: 请讲, en-US: Go ahead}
    choices:
      - {intent: block, goto: ask_id}
      - {intent: look, goto: look}
ask_id:
  gather:
    prompt: {zh-CN: 请输入卡号, en-US: Your card number}
    slot: {name: card, type: digits}
    next: freeze
freeze:
  webhook: {url: "https://crm.example/freeze", method: POST%s}
  next: done
look:
  webhook: {url: "https://crm.example/look"}
  next: done
done: {hangup: {say: {zh-CN: 好的, en-US: Done}}}
"""


def head(confirm: str = "") -> str:
    return DEFAULTS_HEAD + f"""intents:
  block:
{confirm}    label: {{zh-CN: 冻结银行卡, en-US: block your card}}
    keywords: {{zh-CN: [冻结], en-US: [block]}}
  look:
    keywords: {{zh-CN: [查询], en-US: [look]}}
"""


def codes(path) -> list[tuple[str, str, int]]:
    return [(i.code, i.severity, i.line) for i in lint_file(path)]


def test_warns_at_the_intent_through_a_gather(tmp_path):
    path = plan_file(tmp_path, NODES % "", head())
    issues = [i for i in lint_file(path) if i.code == "unconfirmed-irreversible"]
    assert len(issues) == 1
    issue = issues[0]
    assert issue.severity == "warning"
    assert path.read_text().splitlines()[issue.line - 1] == "  block:"
    assert "'block'" in issue.message and "'freeze'" in issue.message
    assert "method POST" in issue.message and "confirm: always" in issue.message


def test_no_warning_once_confirmed(tmp_path):
    path = plan_file(tmp_path, NODES % "", head("    confirm: always\n"))
    assert "unconfirmed-irreversible" not in [c for c, _, _ in codes(path)]


def test_confirm_never_or_auto_still_warns(tmp_path):
    for confirm in ("auto", "never"):
        path = plan_file(tmp_path / confirm, NODES % "", head(f"    confirm: {confirm}\n"))
        assert "unconfirmed-irreversible" in [c for c, _, _ in codes(path)], confirm


def test_a_webhook_declared_reversible_is_not_warned(tmp_path):
    path = plan_file(tmp_path, NODES % ", irreversible: false", head())
    assert "unconfirmed-irreversible" not in [c for c, _, _ in codes(path)]


def test_a_get_declared_irreversible_is_warned(tmp_path):
    nodes = NODES.replace('{url: "https://crm.example/look"}',
                          '{url: "https://crm.example/look", irreversible: true}')
    path = plan_file(tmp_path, nodes % ", irreversible: false", head())
    issues = [i for i in lint_file(path) if i.code == "unconfirmed-irreversible"]
    assert ["irreversible: true" in i.message and "'look'" in i.message for i in issues] == [True]


def test_a_menu_on_the_way_stops_the_walk(tmp_path):
    nodes = NODES.replace("    next: freeze\n", "    next: sure\n") + """
sure:
  menu:
    prompt: {zh-CN: 确认冻结请按1, en-US: Press 1 to block}
    choices: [{dtmf: "1", goto: freeze}]
"""
    path = plan_file(tmp_path, nodes % "", head())
    assert "unconfirmed-irreversible" not in [c for c, _, _ in codes(path)]


@pytest.mark.parametrize(("method", "irreversible", "expected"), [
    ("GET", None, False), ("POST", None, True), ("DELETE", None, True),
    ("POST", False, False), ("GET", True, True)])
def test_irreversible_by_method_unless_declared(method, irreversible, expected):
    hook = Webhook(url="https://x.example/", method=method, irreversible=irreversible)
    assert hook.is_irreversible is expected


def test_irreversible_must_be_a_boolean(tmp_path):
    with pytest.raises(DialplanError, match="irreversible"):
        load_dialplan(plan_file(tmp_path, NODES % ", irreversible: maybe", head()))


def test_the_shipped_dialplans_are_clean():
    issues, count = collect([REPO_ROOT / "dialplans"])
    assert count >= 4
    assert [str(i) for i in issues] == []
    bank = load_dialplan(REPO_ROOT / "dialplans" / "bank.yaml").plan
    assert irreversible_from(bank, "lost_card_start") == "freeze_card"
    assert irreversible_from(bank, "balance_verify") is None
