"""The margin rule of the `answer` verb: a near tie between the two best entries is asked
about ("did you mean A, or B?") instead of answered, and the caller's choice is answered;
plus the English terms of the lexical score."""

from __future__ import annotations

from pathlib import Path

import pytest

import ivr.dialplan.answering as answering
from ivr.dialplan.actions import CallerInput
from ivr.dialplan.answering import decide, pick
from ivr.dialplan.conversation import Conversation
from ivr.understanding.knowledge import Entry, Hit, first_sentence
from ivr.understanding.knowledge_terms import english_terms, stem


def hit(entry_id: str, score: float) -> Hit:
    entry = Entry(id=entry_id, title=entry_id, questions=(entry_id,), answer="x")
    return Hit(entry, score, score, 0.0)


@pytest.mark.parametrize(("scores", "kind", "ids"), [
    ((0.95, 0.90), "answer", ["a"]),  # clearly ahead
    ((0.95, 0.94), "ask", ["a", "b"]),  # a near tie, both good enough
    ((0.91, 0.895), "answer", ["a"]),  # close, but the second is below min_score
    ((0.89, 0.70), "fallback", []),  # clearly ahead, but not close enough to the question
])
def test_decide_answers_asks_or_falls_back(scores: tuple[float, float], kind: str,
                                           ids: list[str]) -> None:
    d = decide([hit("a", scores[0]), hit("b", scores[1])], 0.90, "en-US")
    assert d.kind == kind and [h.entry.id for h in d.hits] == ids


def test_decide_without_a_second_entry_answers_the_only_one() -> None:
    assert decide([hit("a", 0.95)], 0.9, "zh-CN").kind == "answer"
    assert decide([], 0.9, "zh-CN").kind == "fallback"


@pytest.mark.parametrize(("kind", "text", "language", "heard", "chosen"), [
    ("dtmf", "2", "en-US", [], "b"),
    ("dtmf", "7", "en-US", [], ""),
    ("speech", "the first one", "en-US", ["c"], "a"),
    ("speech", "第二个", "zh-CN", ["c"], "b"),
    ("speech", "neither", "en-US", ["a"], ""),
    ("speech", "the prices please", "en-US", ["b", "a"], "b"),  # nearer to one of the two
    ("speech", "how do I set up voicemail", "en-US", ["c", "a"], None),  # a new question
    ("speech", "no", "en-US", ["c"], ""),
])
def test_pick_reads_the_choice_between_two(kind: str, text: str, language: str,
                                           heard: list[str], chosen: str | None) -> None:
    got = pick(("a", "b"), CallerInput(kind, text), language,  # type: ignore[arg-type]
               [hit(i, 0.9) for i in heard])
    assert got == chosen


def test_english_terms_meet_across_wording() -> None:
    assert stem("charges") == stem("charged") == stem("charging") == "charg"
    assert stem("roaming") == "roam" and stem("bus") == "bus"
    assert english_terms("Restart the box") == ["restart", "router"]
    assert english_terms("the modem") == ["router"]
    assert english_terms("I'm in Tokyo") == ["abroad", "tokyo"]
    assert english_terms("my Wi-Fi password") == ["wifi", "password"]
    assert "off" in english_terms("disable roaming")


@pytest.mark.parametrize(("said", "terms"), [
    ("is five g extra", ["5g", "extra"]),  # the way ASR writes what was said
    ("my phone is stuck on LTE", ["phon", "stuck", "4g"]),
    ("my cell has no bars", ["phon", "no", "bar"]),
    ("got any SIM only deals", ["plan", "plan"]),
    ("what bundles or tariffs are there", ["plan", "plan"]),
    ("set up an answering machine", ["set", "up", "voicemail"]),
    ("kindly check, I'm thinking of going", ["check"]),
])
def test_english_terms_name_things_the_domain_s_way(said: str, terms: list[str]) -> None:
    assert english_terms(said) == terms


def test_the_answer_s_first_sentence_is_one_of_the_entry_s_texts() -> None:
    assert first_sentence("Text KTMY to 10099. It works in 10 minutes.") == "Text KTMY to 10099."
    assert first_sentence("发送KTMY到一零零九九。十分钟内生效。") == "发送KTMY到一零零九九。"


EN = """\
language: en-US
entries:
  - id: prices
    title: Roaming call prices
    questions: [how much are calls when I travel]
    answer: Calls abroad cost one yuan a minute.
  - id: data
    title: Roaming data prices
    questions: [how much is data when I travel]
    answer: Data abroad costs 28 yuan a day.
  - id: hours
    title: Store opening hours
    questions: [when are your stores open]
    answer: Our stores open from nine to six every day.
"""
PLAN = """\
name: kb-margin
languages: [en-US]
default_language: en-US
start: ask
defaults: {max_attempts: 2, on_failure: agent}
nodes:
  ask:
    answer:
      prompt: {en-US: "What is your question?"}
      knowledge: kb
      min_score: {en: 0.5}
      no_match:
        - {en-US: "Sorry, please ask another way."}
      next: bye
  bye:
    hangup: {say: {en-US: Goodbye.}}
  agent:
    transfer: {target: "queue:general", reason: unanswered_question}
"""


@pytest.fixture
def near_ties(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A dialplan whose answer node asks whenever the best two entries both qualify (the
    margin set beyond any lead), so the test does not hang on e5's exact cosines."""
    monkeypatch.setattr(answering, "MARGIN", {"en": 1.0})
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "en-US.yaml").write_text(EN, encoding="utf-8")
    path = tmp_path / "plan.yaml"
    path.write_text(PLAN, encoding="utf-8")
    return path


def said(turn) -> str:  # type: ignore[no-untyped-def]
    return " | ".join(turn.said)


def test_a_near_tie_is_asked_about_and_the_key_pressed_answered(near_ties: Path) -> None:
    with Conversation(near_ties, language="en-US") as conv:
        conv.start()
        turn = conv.say_text("what does roaming cost")
        text = said(turn)
        assert "Did you mean" in text and "Roaming call prices" in text
        assert "Roaming data prices" in text and turn.understanding.answer is None
        first_is_data = text.index("Roaming data prices") < text.index("Roaming call prices")
        turn = conv.press("2")
        assert turn.understanding.answer == ("prices" if first_is_data else "data")
        assert "Did that answer your question?" in said(turn)
        assert conv.variables["question"] == "what does roaming cost"
        turn = conv.say_text("yes")
        assert "Goodbye" in said(turn)


def test_neither_is_a_failed_attempt_and_the_first_one_is_answered(near_ties: Path) -> None:
    with Conversation(near_ties, language="en-US") as conv:
        conv.start()
        conv.say_text("what does roaming cost")
        turn = conv.say_text("neither of them")
        assert "please ask another way" in said(turn) and conv.node == "ask"
        turn = conv.say_text("what does roaming cost")
        first = "data" if said(turn).index("data prices") < said(turn).index("call prices") \
            else "prices"
        turn = conv.say_text("the first one")
        assert turn.understanding.answer == first


@pytest.mark.parametrize(("language", "question", "kind", "entry"), [
    ("en-US", "how do I turn off roaming", "answer", "roaming_turn_off"),
    ("zh-CN", "出国了怎么把漫游关掉", "answer", "roaming_turn_off"),
    ("en-US", "can you recommend a good film", "fallback", None),
    ("zh-CN", "法国的首都是哪里", "fallback", None),
])
def test_the_hotline_answers_its_questions_and_refuses_others(
        language: str, question: str, kind: str, entry: str | None) -> None:
    """On the shipped knowledge base with the real e5 and jieba, at the default min_score."""
    from ivr.config import REPO_ROOT
    from ivr.dialplan.nodes import Answer
    from ivr.understanding.knowledge import KnowledgeIndex, load_knowledge

    entries = load_knowledge(REPO_ROOT / "dialplans" / "knowledge" / "hotline")[language]
    node = Answer(prompt="?", knowledge="k", next="x")
    d = decide(KnowledgeIndex(entries, language).search(question, k=2),
               node.threshold(language), language)
    assert d.kind == kind and [h.entry.id for h in d.hits[:1]] == ([entry] if entry else [])
