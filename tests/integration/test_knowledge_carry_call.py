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

from testkit.harness import ASTERISK_SOUNDS, IvrProcess, ScriptedCaller

pytestmark = pytest.mark.integration

QUESTION = ASTERISK_SOUNDS / "call-fwd-unconditional.wav"  # "Call forward unconditional"
ENTRY = "call_forwarding"
ANSWER_PIECE = "dial star star 2 1 star"  # of the entry's en-US answer
CHECK = "Did that answer your question?"
ASK = "Please ask your question"  # the questions node's own prompt: never said here


@pytest.fixture(scope="module")
def call(ivr: IvrProcess, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Key 9, the spoken question at the main menu, the answer heard to its end, then key 1."""
    if not QUESTION.exists():
        pytest.skip("asterisk-core-sounds-en-wav is not installed (run scripts/setup)")
    out: dict[str, Any] = {"after": None}
    with ScriptedCaller(ivr, tmp_path_factory.mktemp("knowledge-carry-call")) as c:
        c.dial()
        c.wait("listen", node="main_menu")
        c.press("9")  # over the Mandarin menu: DTMF barge-in
        c.wait("listen", node="main_menu", language="en-US", timeout=30)
        c.wait("prompt_end", node="main_menu", interrupted=False, timeout=40)  # heard in full
        c.say(QUESTION)
        out["turn"] = c.wait("turn", node="main_menu", timeout=40)["data"]
        if out["turn"].get("answer") == ENTRY:  # else the tests say what was heard
            c.wait("prompt_end", node="questions", interrupted=False, timeout=60)  # the answer
            c.wait("prompt", node="questions", timeout=20)  # "Did that answer ...?"
            c.press("1")
            out["after"] = c.wait("turn", node="questions", timeout=30)["data"]
            c.wait("listen", node="anything_else", timeout=30)
        c.hangup()
        c.wait_closed(20)
    out["call"] = ivr.wait_call_ended(c.call_id, 30)
    return out


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
