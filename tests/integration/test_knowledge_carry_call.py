"""A question asked at the main menu is answered at once, over a real SIP call (issue 17,
`menu.questions`): a baresip caller presses 9 (English) and, at the main menu, says in a real
human recording (Asterisk's Allison, CC BY-SA 3.0) "Call forward unconditional". No choice of
the menu takes it; the knowledge base answers it confidently, so the call moves to the
`questions` node and says the entry `call_forwarding`'s answer without asking "Please ask your
question" first. (test_knowledge_call.py asks the same recording after key 4.)
"""

from __future__ import annotations

from typing import Any

import pytest

from testkit.harness import IvrProcess, ScriptedCaller
from tests.integration.knowledge_question import ANSWER_PIECE, CHECK, ENTRY, asked_in_english

pytestmark = pytest.mark.integration

ASK = "Please ask your question"  # the questions node's own prompt: never said here


def _menu_heard(c: ScriptedCaller) -> None:
    c.wait("prompt_end", node="main_menu", interrupted=False, timeout=40)  # heard in full


@pytest.fixture(scope="module")
def call(ivr: IvrProcess, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Key 9, the spoken question at the main menu, the answer heard to its end, then key 1."""
    return asked_in_english(ivr, tmp_path_factory.mktemp("knowledge-carry-call"), "main_menu",
                            _menu_heard)


def test_a_question_at_the_main_menu_is_answered_without_asking_it_again(
        call: dict[str, Any]) -> None:
    record = call["call"]
    assert record["language"] == "en-US"
    (asked,) = [t for t in record["turns"] if t["node"] == "main_menu"
                and t["input_mode"] == "speech"]
    assert asked["answer"] == ENTRY, asked
    assert "forward" in asked["caller_text"].lower(), asked
    assert asked["outcome"] == "match", asked
    said = asked["prompt"]
    assert ANSWER_PIECE in said and said.index(ANSWER_PIECE) < said.index(CHECK), said
    assert ASK not in said, said
    assert call["turn"]["answer"] == ENTRY and call["turn"]["next"] == "questions"


def test_key_1_after_the_carried_answer_goes_on_to_anything_else(
        call: dict[str, Any]) -> None:
    assert call["after"] is not None, call["turn"]
    assert call["after"]["text"] == "1" and call["after"]["next"] == "anything_else"
    assert call["call"]["end_reason"] == "caller_hangup"
