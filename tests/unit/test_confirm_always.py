"""`confirm: always`: an intent that must be confirmed before it is acted on, whatever its
score; `confirm: never`; the values and the `label` it needs are checked on load."""

from __future__ import annotations

import pytest

from ivr.dialplan.actions import CallerInput, Listen, Say
from ivr.dialplan.confirmation import INTENT
from ivr.dialplan.loader import DialplanError, load_dialplan
from tests.unit.inline_plans import DEFAULTS_HEAD, FACTS, engine, plan_file

NODES = """
s:
  menu:
    prompt: {zh-CN: 请讲, en-US: Go ahead}
    choices:
      - {dtmf: "1", intent: block, goto: blocked}
      - {intent: balance, goto: balance}
blocked: {hangup: {say: {zh-CN: 已冻结, en-US: Blocked}}}
balance: {hangup: {say: {zh-CN: 余额, en-US: Balance}}}
"""


def head(confirm: str = "always", label: bool = True) -> str:
    lines = [f"    confirm: {confirm}"] if confirm else []
    if label:
        lines.append("    label: {zh-CN: 冻结银行卡, en-US: block your card}")
    return DEFAULTS_HEAD + "intents:\n  block:\n" + "\n".join(lines) + """
    examples: {zh-CN: [冻结我的卡, 我的卡不要了], en-US: [block my card]}
    keywords: {zh-CN: [冻结], en-US: [block]}
  balance:
    keywords: {zh-CN: [余额], en-US: [balance]}
  affirm: {keywords: {zh-CN: [是的]}}
"""


def test_always_asks_even_at_score_one(tmp_path):
    e = engine(tmp_path, NODES, head())
    start = e.start({}, FACTS)
    step = e.step(start.state, CallerInput("speech", "我的卡不要了"), FACTS)  # example: 1.0
    assert step.state.confirming == (INTENT, "block")
    assert step.state.node == "s"
    assert step.understanding.outcome == "no_match" and step.understanding.intent == "block"
    assert step.understanding.score == 1.0
    assert [a.text for a in step.actions if isinstance(a, Say)] == ["您是要冻结银行卡吗？"]
    listen = next(a for a in step.actions if isinstance(a, Listen))
    assert listen.dtmf_choices == ("1", "2")
    yes = e.step(step.state, CallerInput("speech", "是的"), FACTS)
    assert yes.understanding.intent == "block" and yes.understanding.outcome == "match"
    assert [a.text for a in yes.actions if isinstance(a, Say)] == ["已冻结"]


def test_always_no_is_a_no_match(tmp_path):
    e = engine(tmp_path, NODES, head())
    step = e.step(e.start({}, FACTS).state, CallerInput("speech", "冻结"), FACTS)
    no = e.step(step.state, CallerInput("speech", "不是"), FACTS)
    assert no.state.node == "s" and no.understanding.outcome == "no_match"
    assert "没听懂" in [a.text for a in no.actions if isinstance(a, Say)]


def test_a_key_is_never_asked_about(tmp_path):
    e = engine(tmp_path, NODES, head())
    step = e.step(e.start({}, FACTS).state, CallerInput("dtmf", "1"), FACTS)
    assert step.state.confirming is None
    assert [a.text for a in step.actions if isinstance(a, Say)] == ["已冻结"]


def test_other_intents_are_taken_at_once(tmp_path):
    e = engine(tmp_path, NODES, head())
    step = e.step(e.start({}, FACTS).state, CallerInput("speech", "查余额"), FACTS)
    assert step.state.confirming is None and step.understanding.intent == "balance"


def test_auto_takes_a_clear_match_at_once(tmp_path):
    e = engine(tmp_path, NODES, head("auto"))
    step = e.step(e.start({}, FACTS).state, CallerInput("speech", "冻结我的卡"), FACTS)
    assert step.state.confirming is None
    assert [a.text for a in step.actions if isinstance(a, Say)] == ["已冻结"]


def test_never_skips_the_unsure_question(tmp_path):
    unsure = "\ndefaults:\n  intent_threshold: 0.99\n  confirm_threshold: 0.5\n"
    for confirm, asked in (("auto", True), ("never", False)):
        e = engine(tmp_path / confirm, NODES, head(confirm).replace(DEFAULTS_HEAD, "")
                   + unsure)
        step = e.step(e.start({}, FACTS).state, CallerInput("speech", "冻结"), FACTS)
        assert (step.state.confirming == (INTENT, "block")) is asked, confirm


def test_always_needs_a_label(tmp_path):
    with pytest.raises(DialplanError, match="confirm: always needs a `label`"):
        load_dialplan(plan_file(tmp_path, NODES, head(label=False)))


@pytest.mark.parametrize("bad", ["yes", "true", "sometimes"])
def test_bad_values_are_refused(tmp_path, bad):
    with pytest.raises(DialplanError, match="'auto', 'always' or 'never'") as e:
        load_dialplan(plan_file(tmp_path, NODES, head(bad)))
    assert "confirm" in str(e.value)


def test_shipped_plans_confirm_irreversible_intents():
    from ivr.config import REPO_ROOT

    bank = load_dialplan(REPO_ROOT / "dialplans" / "bank.yaml").plan
    clinic = load_dialplan(REPO_ROOT / "dialplans" / "clinic.yaml").plan
    assert bank.intents["lost_card"].confirm == bank.intents["fraud"].confirm == "always"
    assert clinic.intents["cancel"].confirm == "always"
    assert bank.intents["balance"].confirm == "auto"
