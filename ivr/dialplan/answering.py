"""The `answer` verb: a caller's free question answered from a knowledge base.

At an `answer` node the caller asks in their own words ("出国了怎么关漫游?"). A global choice
said clearly (转人工, a crisis) is taken first, as at any listening node. Otherwise the
question is looked up in the node's knowledge base (`KnowledgeLibrary`, by meaning and words);
an entry scoring `min_score` or more is answered and the caller is asked whether that answered
the question:
- yes (1): on to the entry's `follow_up` node, or the node's `next`;
- no (2), or no entry close enough: a failed attempt (the `no_match` prompts, the question
  again, then `on_failure`, usually an agent, who sees the question in the summary);
- anything else: heard as a new question.

The question, and the entry answered, are call variables (`question`, `answer_id`,
`answer_title`) and the entry is the turn's `answer`. Pure, like the engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ivr.dialplan.actions import (
    CallerInput,
    DialogEvent,
    NoInput,
    Say,
    SetVariables,
    Understanding,
)
from ivr.dialplan.nodes import Answer, Node
from ivr.dialplan.state import DialogState, Step, moved, succeeded
from ivr.dialplan.verbs import NodeWalker
from ivr.understanding.intents import extract_yes_no, is_chinese, normalise
from ivr.understanding.knowledge import KnowledgeLibrary

ANSWER = "@answer"  # `confirming` marker: (ANSWER, entry id) awaits "did that answer it?"
# how callers say whether an answer helped, beyond yes and no (the negatives are looked
# for first: 没解决 contains 解决)
NOT_HELPED = {"zh": ["没解决", "没有解决", "不是这个", "没用", "没帮助", "不明白", "没听懂",
                     "不清楚"],
              "en": ["didn't help", "did not help", "not what i asked", "not really", "no"]}
HELPED = {"zh": ["解决了", "明白了", "清楚了", "知道了", "懂了", "有用", "有帮助", "可以了",
                 "谢谢"],
          "en": ["that helps", "that helped", "got it", "thanks", "thank you", "perfect"]}


class Answering:
    """The `answer` nodes of one dialplan, through its `NodeWalker`."""

    def __init__(self, walker: NodeWalker, library: KnowledgeLibrary | None) -> None:
        self.walker = walker
        self.plan = walker.plan
        self.render = walker.render
        self.library = library

    def asked(self, state: DialogState, node: Node, event: CallerInput,
              facts: Mapping[str, Any], heard: Understanding) -> Step:
        """A question at an answer node (no choice was taken): the best entry answered, or a
        failed attempt. `heard` is what the words said (the top intent of a no-match)."""
        spec = self._spec(node)
        question = event.text.strip()
        if event.kind != "speech" or not question or self.library is None:
            return self.walker.failed(state, node, "no_match", facts, heard)
        index = self.library.index(spec.knowledge, state.language)
        hits = index.search(question, facts.get("meaning"), k=1)
        values: dict[str, Any] = {"question": question}
        if not hits or hits[0].score < spec.threshold(state.language):
            state = replace(state, variables={**state.variables, **values})
            score = hits[0].score if hits else 0.0
            return self.walker.failed(state, node, "no_match", facts,
                                      Understanding("no_match", score=round(score, 3)))
        best = hits[0]
        values |= {"answer_id": best.entry.id, "answer_title": best.entry.title}
        state = replace(succeeded(state, None), variables={**state.variables, **values},
                        confirming=(ANSWER, best.entry.id))
        language = node.prompt_language or state.language
        said = Say(best.entry.answer.strip(), language, node.barge_in, state.node, dynamic=True)
        u = Understanding("match", score=round(best.score, 3), answer=best.entry.id)
        return Step(state, [SetVariables(values), said, *self._check(state, node)], u)

    def checked(self, state: DialogState, node: Node, event: DialogEvent,
                facts: Mapping[str, Any]) -> Step | None:
        """The answer to "did that answer your question?"; None: the caller said something
        else (a new question, to be heard as such)."""
        spec = self._spec(node)
        entry_id = state.confirming[1] if state.confirming else ""
        state = replace(state, confirming=None)
        if isinstance(event, NoInput):
            return self.walker.failed(state, node, "no_input", facts)
        if not isinstance(event, CallerInput):
            return self.walker.failed(state, node, "unintelligible", facts)
        yes = ({"1": True, "2": False}.get(event.text) if event.kind == "dtmf"
               else helped(event.text, state.language))
        if yes is None:
            return None
        if yes is False:
            return self.walker.failed(state, node, "no_match", facts,
                                      Understanding("no_match", "deny", 1.0, answer=entry_id))
        entry = (self.library.entry(spec.knowledge, state.language, entry_id)
                 if self.library is not None else None)
        target = (entry.follow_up if entry is not None and entry.follow_up in self.plan.nodes
                  else spec.next)
        u = Understanding("match", "affirm", 1.0, choice=target, answer=entry_id)
        return self.walker.run(moved(succeeded(state, "affirm"), target), [], u, facts)

    def _check(self, state: DialogState, node: Node) -> list[Any]:
        prompt = self._spec(node).check_prompt(self.plan.languages)
        return [self.render.say(state, prompt, node), self.render.yes_no_listen(state, node)]

    @staticmethod
    def _spec(node: Node) -> Answer:
        assert node.answer is not None
        return node.answer


def helped(text: str, language: str) -> bool | None:
    """Did the answer help, by the caller's words: True, False, or None (something else)."""
    base = "zh" if is_chinese(language) else "en"
    said = normalise(text, language)
    padded = f" {said} "
    for words, verdict in ((NOT_HELPED[base], False), (HELPED[base], True)):
        for w in words:
            w = normalise(w, language)
            if (w in said) if base == "zh" else (f" {w} " in padded):
                return verdict
    return extract_yes_no(text, language)
