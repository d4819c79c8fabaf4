"""The spoken knowledge-base question both knowledge call tests ask (test_knowledge_call.py
after key 4, test_knowledge_carry_call.py at the main menu): Asterisk's Allison (a real
human recording, CC BY-SA 3.0) saying "Call forward unconditional", on the English line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from testkit.harness import ASTERISK_SOUNDS, IvrProcess, ScriptedCaller

QUESTION = ASTERISK_SOUNDS / "call-fwd-unconditional.wav"  # "Call forward unconditional"
ENTRY = "call_forwarding"
ANSWER_PIECE = "dial star star 2 1 star"  # of the entry's en-US answer
CHECK = "Did that answer your question?"


def asked_in_english(ivr: IvrProcess, folder: Path, node: str,
                     reach: Callable[[ScriptedCaller], None]) -> dict[str, Any]:
    """A call that keys 9 over the Mandarin menu, `reach`es the place to ask, says QUESTION
    and waits for its turn at `node`; when ENTRY is answered, hears the answer to its end and
    the check question, and keys 1 (on to "anything else?"). The call's record under "call",
    the question's turn under "turn", the check prompt under "check", the key's turn under
    "after" (None when the answer was not ENTRY: the tests say what was heard)."""
    if not QUESTION.exists():
        pytest.skip("asterisk-core-sounds-en-wav is not installed (run scripts/setup)")
    out: dict[str, Any] = {"check": None, "after": None}
    with ScriptedCaller(ivr, folder) as c:
        c.dial()
        c.wait("listen", node="main_menu")
        c.press("9")  # over the Mandarin menu: DTMF barge-in
        c.wait("listen", node="main_menu", language="en-US", timeout=30)
        reach(c)
        c.say(QUESTION)
        out["turn"] = c.wait("turn", node=node, timeout=40)["data"]
        if out["turn"].get("answer") == ENTRY:
            c.wait("prompt_end", node="questions", interrupted=False, timeout=60)  # the answer
            out["check"] = c.wait("prompt", node="questions", timeout=20)["data"]
            c.press("1")
            out["after"] = c.wait("turn", node="questions", timeout=30)["data"]
            c.wait("listen", node="anything_else", timeout=30)
        c.hangup()
        c.wait_closed(20)
    out["call"] = ivr.wait_call_ended(c.call_id, 30)
    return out
