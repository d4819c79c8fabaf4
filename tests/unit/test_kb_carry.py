"""A question asked at a menu with `questions` (issue 17): answered at once in the answer
node when its knowledge base answers it confidently, the menu as before otherwise. The
engine is real; the knowledge base below it is a fake that returns scripted entries."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

import ivr.dialplan.engine as engine_module
from ivr.dialplan.actions import CallerInput, Listen, Transfer
from ivr.dialplan.engine import DialogEngine
from ivr.dialplan.lint_checks import check_plan
from ivr.dialplan.loader import DialplanError, load_dialplan
from ivr.dialplan.state import DialogState
from ivr.understanding.knowledge import Entry, Hit
from tests.unit.inline_plans import (
    DEFAULTS_HEAD,
    FACTS,
    QUESTIONS_NODES,
    questions_plan,
    says,
)

HEAD = DEFAULTS_HEAD + """
semantic: {enabled: false}  # the words only: a menu with questions still embeds the utterance
intents:
  bill:
    label: {zh-CN: 查话费, en-US: check your bill}
    keywords: {zh-CN: [话费], en-US: [bill]}
  question:
    keywords: {zh-CN: [咨询], en-US: [question, roaming]}
  agent:
    keywords: {zh-CN: [转人工], en-US: [agent]}
global_choices:
  - {dtmf: "0", intent: agent, goto: agent}
"""
NODES = QUESTIONS_NODES.format(extra="")


def entry(entry_id: str) -> Entry:
    return Entry(id=entry_id, title=f"{entry_id} title", questions=(entry_id,),
                 answer=f"{entry_id} answer.")


class FakeIndex:
    """Scripted best entries per question; records every search."""

    def __init__(self, answers: dict[str, Sequence[tuple[str, float]]]) -> None:
        self.answers = answers
        self.searched: list[str] = []
        self.entries = [entry(i) for scored in answers.values() for i, _ in scored]

    def search(self, question: str, meaning: Any = None, k: int = 3) -> list[Hit]:
        self.searched.append(question)
        return [Hit(entry(i), s, s, 0.0) for i, s in self.answers.get(question, [])][:k]


class FakeLibrary:
    index_: FakeIndex

    def __init__(self, folders: Sequence[str], encoder: Any = None) -> None:
        self.folders = folders

    def index(self, folder: str, language: str) -> FakeIndex:
        return self.index_

    def entry(self, folder: str, language: str, entry_id: str) -> Entry | None:
        return entry(entry_id)


ANSWERS = {
    "漫游怎么开通": [("roaming_on", 0.97), ("roaming_off", 0.90)],  # confident
    "今天天气怎么样": [("hours", 0.70), ("roaming_on", 0.60)],  # below min_score
    "漫游多少钱": [("roaming_prices", 0.95), ("roaming_data", 0.945)],  # a near tie
    "咨询一下漫游怎么开": [("roaming_on", 0.96), ("roaming_off", 0.80)],
    "我想咨询漫游价格": [("roaming_prices", 0.95), ("roaming_data", 0.945)],
    "我想咨询个事": [("hours", 0.5)],
    "我的话费是多少": [("balance", 0.99)],
}


@pytest.fixture
def index(monkeypatch: pytest.MonkeyPatch) -> FakeIndex:
    ix = FakeIndex(ANSWERS)
    FakeLibrary.index_ = ix
    monkeypatch.setattr(engine_module, "KnowledgeLibrary", FakeLibrary)
    return ix


@pytest.fixture
def eng(tmp_path: Path, index: FakeIndex) -> DialogEngine:
    return DialogEngine(load_dialplan(questions_plan(tmp_path, NODES, HEAD)).plan)


def at_menu(eng: DialogEngine, text: str, kind: str = "speech"):  # type: ignore[no-untyped-def]
    return eng.step(DialogState("s", "zh-CN"), CallerInput(kind, text), FACTS)  # type: ignore[arg-type]


def test_a_confident_answer_at_a_menu_is_said_at_once(eng: DialogEngine) -> None:
    step = at_menu(eng, "漫游怎么开通")
    assert step.state.node == "ask"
    assert step.understanding is not None and step.understanding.answer == "roaming_on"
    assert step.understanding.outcome == "match" and step.understanding.choice == "ask"
    said = says(step.actions)
    assert said[0] == "roaming_on answer." and "请说出您的问题" not in said  # not asked again
    assert step.state.variables["question"] == "漫游怎么开通"
    assert step.state.variables["answer_id"] == "roaming_on"
    assert isinstance(step.actions[-1], Listen)
    # then the answer node as usual: yes goes on
    done = eng.step(step.state, CallerInput("dtmf", "1"), FACTS)
    assert "再见" in says(done.actions)


def test_a_question_the_base_cannot_answer_is_a_no_match_as_before(
        eng: DialogEngine, index: FakeIndex) -> None:
    step = at_menu(eng, "今天天气怎么样")
    assert step.state.node == "s" and step.understanding.outcome == "no_match"  # type: ignore[union-attr]
    assert says(step.actions) == ["没听懂", "请问办理什么业务"]
    assert index.searched == ["今天天气怎么样"]


def test_a_near_tie_without_the_question_route_is_not_carried(eng: DialogEngine) -> None:
    step = at_menu(eng, "漫游多少钱")
    assert step.state.node == "s" and step.understanding.outcome == "no_match"  # type: ignore[union-attr]


def test_the_question_route_carries_the_question(eng: DialogEngine) -> None:
    step = at_menu(eng, "咨询一下漫游怎么开")
    u = step.understanding
    assert step.state.node == "ask" and u is not None
    assert (u.answer, u.intent, u.outcome) == ("roaming_on", "question", "match")
    assert step.state.history.last_intent == "question"
    assert "请说出您的问题" not in says(step.actions)


def test_the_question_route_asks_which_of_a_near_tie(eng: DialogEngine) -> None:
    step = at_menu(eng, "我想咨询漫游价格")
    assert step.state.node == "ask"
    assert "roaming_prices title" in says(step.actions)[0]  # "did you mean A, or B?"
    assert step.state.confirming == ("@answer", ("roaming_prices", "roaming_data"))
    chosen = eng.step(step.state, CallerInput("dtmf", "2"), FACTS)
    assert chosen.understanding is not None and chosen.understanding.answer == "roaming_data"


def test_the_question_route_without_a_confident_answer_asks_as_before(
        eng: DialogEngine) -> None:
    step = at_menu(eng, "我想咨询个事")
    assert step.state.node == "ask" and says(step.actions) == ["请说出您的问题"]


def test_a_matched_service_intent_and_keys_never_look_anything_up(
        eng: DialogEngine, index: FakeIndex) -> None:
    assert says(at_menu(eng, "我的话费是多少").actions) == ["账单九十八元"]
    at_menu(eng, "1", "dtmf")
    at_menu(eng, "9", "dtmf")  # a key no choice has: a no-match, never a question
    assert index.searched == []
    step = at_menu(eng, "转人工")
    assert any(isinstance(a, Transfer) for a in step.actions) and index.searched == []


def test_a_did_you_mean_about_another_route_comes_first(eng: DialogEngine) -> None:
    node = eng.plan.nodes["s"]
    event = CallerInput("speech", "漫游怎么开通")
    state = DialogState("s", "zh-CN")
    assert eng._carried(state, node, event, FACTS, ("bill",)) is None
    assert eng._carried(state, node, event, FACTS, ("question",)) is not None
    assert eng._carried(state, node, event, FACTS, None) is not None


def test_a_menu_with_questions_wants_the_utterance_vector(eng: DialogEngine) -> None:
    assert eng.semantic is None  # not for intents: for the question
    assert eng.wants_meaning(DialogState("s", "zh-CN"))
    assert not eng.wants_meaning(DialogState("bill", "zh-CN"))


@pytest.mark.parametrize(("target", "message"), [
    ("bill", "'bill' is not an `answer` node"),
    ("nowhere", "unknown answer node 'nowhere'"),
])
def test_questions_must_name_an_answer_node(tmp_path: Path, target: str, message: str) -> None:
    path = questions_plan(tmp_path, NODES.replace("questions: ask", f"questions: {target}"),
                          HEAD)
    with pytest.raises(DialplanError) as e:
        load_dialplan(path)
    issue = e.value.issues[0]
    assert message in issue.message and issue.code == "undefined"
    assert path.read_text().splitlines()[issue.line - 1].strip() == f"questions: {target}"


def test_an_answer_node_reached_only_by_questions_is_reachable(tmp_path: Path) -> None:
    nodes = NODES.replace('      - {dtmf: "4", intent: question, goto: ask}\n', "")
    issues = check_plan(load_dialplan(questions_plan(tmp_path, nodes, HEAD)))
    assert not [i for i in issues if i.code == "unreachable" and "'ask'" in i.message]
