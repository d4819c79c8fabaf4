"""The `answer` verb: a free question answered from a knowledge base, through the same call
driver as a phone call (Conversation), with the real e5 encoder and jieba."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr.dialplan.conversation import Conversation
from ivr.dialplan.lint_checks import check_plan
from ivr.dialplan.loader import DialplanError, load_dialplan

ZH = """\
language: zh-CN
entries:
  - id: roaming_off
    title: 关闭国际漫游
    questions: [怎么关闭国际漫游, 回国了漫游怎么关, 不想用漫游了]
    answer: 发送短信QXMY到一零零九九即可关闭国际漫游。
  - id: puk
    title: PUK码
    questions: [手机卡锁了要输PUK码, PUK码在哪里找, 卡被锁了怎么解]
    answer: PUK码印在您的SIM卡卡托背面。
    follow_up: agent
  - id: hours
    title: 营业厅营业时间
    questions: [营业厅几点开门, 营业厅周末上班吗]
    answer: 营业厅每天九点到二十一点营业。
"""
EN = """\
language: en-US
entries:
  - id: roaming_off
    title: Turning off roaming
    questions: [how do I turn off roaming, I'm back home how do I stop roaming]
    answer: Text QXMY to 10099 to turn off international roaming.
  - id: puk
    title: PUK code
    questions: [my SIM is locked and asks for a PUK code, where do I find my PUK]
    answer: The PUK code is printed on the card your SIM came in.
    follow_up: agent
  - id: hours
    title: Store opening hours
    questions: [when are your stores open, are the shops open on Sunday]
    answer: Our stores open from nine to nine every day.
"""
PLAN = """\
name: kb-test
languages: [zh-CN, en-US]
default_language: zh-CN
start: ask
defaults: {max_attempts: 2, on_failure: agent}
intents:
  agent:
    keywords: {zh-CN: [转人工, 人工], en-US: [agent]}
global_choices:
  - {dtmf: "0", intent: agent, goto: agent}
nodes:
  ask:
    answer:
      prompt: {zh-CN: 请说出您的问题。, en-US: "What is your question?"}
      knowledge: kb
      no_match:
        - {zh-CN: 抱歉，没有找到答案，请换个说法。, en-US: "Sorry, please ask another way."}
      next: bye
  bye:
    hangup: {say: {zh-CN: 再见。, en-US: Goodbye.}}
  agent:
    transfer: {target: "queue:general", reason: unanswered_question}
"""


@pytest.fixture
def plan_path(tmp_path: Path) -> Path:
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "zh-CN.yaml").write_text(ZH, encoding="utf-8")
    (tmp_path / "kb" / "en-US.yaml").write_text(EN, encoding="utf-8")
    path = tmp_path / "plan.yaml"
    path.write_text(PLAN, encoding="utf-8")
    return path


def said(turn) -> str:  # type: ignore[no-untyped-def]
    return " | ".join(turn.said)


def test_a_question_is_answered_and_a_yes_goes_on(plan_path: Path) -> None:
    with Conversation(plan_path) as conv:
        assert "请说出您的问题" in said(conv.start())
        turn = conv.say_text("我回国了，那个漫游要咋个关掉")
        assert turn.understanding.answer == "roaming_off"
        assert "QXMY" in said(turn) and "解决您的问题了吗" in said(turn)
        assert conv.variables["answer_id"] == "roaming_off"
        assert conv.variables["question"] == "我回国了，那个漫游要咋个关掉"
        turn = conv.say_text("是的")
        assert turn.understanding.answer == "roaming_off" and "再见" in said(turn)
        assert conv.hangup == "completed"


def test_an_entry_with_a_follow_up_goes_there_after_a_yes(plan_path: Path) -> None:
    with Conversation(plan_path, language="en-US") as conv:
        conv.start()
        turn = conv.say_text("my phone says SIM locked, enter PUK, where is that number")
        assert turn.understanding.answer == "puk"
        conv.press("1")
        assert conv.transfer is not None and conv.transfer.target == "queue:general"


def test_no_asks_again_and_a_new_question_is_heard_as_one(plan_path: Path) -> None:
    with Conversation(plan_path) as conv:
        conv.start()
        conv.say_text("营业厅礼拜天开不开门")
        turn = conv.say_text("不是")
        assert "请换个说法" in said(turn) and "请说出您的问题" in said(turn)
        assert conv.node == "ask"
        conv.say_text("营业厅几点开门")
        turn = conv.say_text("那漫游怎么关")  # not yes or no: a new question
        assert turn.understanding.answer == "roaming_off"


def test_unanswerable_questions_end_at_on_failure_with_the_question_kept(
        plan_path: Path) -> None:
    with Conversation(plan_path) as conv:
        conv.start()
        turn = conv.say_text("你们公司的股票明年会涨吗")
        assert turn.understanding.outcome == "no_match" and "请换个说法" in said(turn)
        conv.say_text("帮我订一张去北京的机票")
        assert conv.transfer is not None and conv.transfer.reason == "unanswered_question"
        assert conv.variables["question"] == "帮我订一张去北京的机票"


def test_global_choices_still_work_at_an_answer_node(plan_path: Path) -> None:
    with Conversation(plan_path) as conv:
        conv.start()
        conv.say_text("我不想问了，给我转人工")
        assert conv.transfer is not None and conv.transfer.target == "queue:general"


def test_keys_other_than_global_ones_are_not_questions(plan_path: Path) -> None:
    with Conversation(plan_path) as conv:
        conv.start()
        turn = conv.press("5")
        assert turn.understanding.outcome == "no_match" and conv.node == "ask"


def test_the_folder_is_relative_to_the_dialplan_and_part_of_its_version(
        plan_path: Path) -> None:
    loaded = load_dialplan(plan_path)
    assert loaded.plan.nodes["ask"].answer.knowledge == str((plan_path.parent / "kb").resolve())
    assert (plan_path.parent / "kb" / "zh-CN.yaml").resolve() in loaded.files
    kb = plan_path.parent / "kb" / "en-US.yaml"
    kb.write_text(EN.replace("nine to nine", "eight to eight"), encoding="utf-8")
    assert load_dialplan(plan_path).version != loaded.version


@pytest.mark.parametrize("damage,message", [
    (lambda kb: (kb / "zh-CN.yaml").unlink() or (kb / "en-US.yaml").unlink(),
     "no <language>.yaml"),
    (lambda kb: (kb / "zh-CN.yaml").write_text("language: zh-CN\nentries: [{id: x}]\n"),
     "zh-CN.yaml"),
    (lambda kb: (kb / "zh-CN.yaml").write_text("language: zh-CN\nentries: [\n"), "zh-CN.yaml"),
])
def test_a_broken_knowledge_base_refuses_the_dialplan_at_the_knowledge_line(
        plan_path: Path, damage, message: str) -> None:  # type: ignore[no-untyped-def]
    damage(plan_path.parent / "kb")
    with pytest.raises(DialplanError) as e:
        load_dialplan(plan_path)
    issue = e.value.issues[0]
    assert message in issue.message and issue.code == "knowledge"
    assert issue.line == PLAN.splitlines().index("      knowledge: kb") + 1


def test_lint_flags_unknown_follow_ups_and_missing_languages(plan_path: Path) -> None:
    kb = plan_path.parent / "kb"
    (kb / "en-US.yaml").unlink()
    (kb / "zh-CN.yaml").write_text(ZH.replace("follow_up: agent", "follow_up: nowhere"),
                                   encoding="utf-8")
    issues = check_plan(load_dialplan(plan_path))
    codes = {(i.code, i.severity) for i in issues}
    assert ("knowledge-language", "warning") in codes
    assert any(i.code == "undefined" and "nowhere" in i.message for i in issues)
