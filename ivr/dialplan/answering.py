"""The `answer` verb: a caller's free question answered from a knowledge base.

At an `answer` node the caller asks in their own words ("出国了怎么关漫游?"). A global choice
said clearly (转人工, a crisis) is taken first, as at any listening node. Otherwise the
question is looked up in the node's knowledge base (`KnowledgeLibrary`, by meaning and words)
and `decide` weighs the two best entries:
- the best scores `min_score` or more and leads the second by MARGIN: it is answered;
- the best two both reach `min_score` and are closer than MARGIN: "Did you mean A, or B?"
  (1 or 2, "the first", or words of one of them; a new question is heard as such): wrong
  confident answers came from such near ties, and one short question gets the right one;
- otherwise (a question no entry answers scores below `min_score`): a failed attempt.
After an answer the caller is asked whether it answered the question:
- yes (1): on to the entry's `follow_up` node, or the node's `next`;
- no (2), or no entry close enough: a failed attempt (the `no_match` prompts, the question
  again, then `on_failure`, usually an agent, who sees the question in the summary);
- anything else: heard as a new question.

A menu whose `questions` names an answer node hands it a question the menu did not take (or
took to that node): `carried` answers it there at once when the base is confident, so the
caller never repeats it; otherwise the menu goes on as without it (engine.py decides when).
A question a service intent of the menu also heard ("how much does roaming cost") takes
that route when the base answers it better (`question_service`, given the engine's
knowledge bases by `recognition.understand`).

The question, and the entry answered, are call variables (`question`, `answer_id`,
`answer_title`) and the entry is the turn's `answer`. Pure, like the engine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from ivr.dialplan.actions import (
    CallerInput,
    DialogEvent,
    NoInput,
    Say,
    SetVariables,
    Understanding,
)
from ivr.dialplan.confirmation import ORDINALS
from ivr.dialplan.nodes import Answer, Node
from ivr.dialplan.state import DialogState, Step, moved, succeeded
from ivr.dialplan.verbs import NodeWalker
from ivr.understanding.intents import extract_yes_no, is_chinese, normalise
from ivr.understanding.knowledge import Hit, KnowledgeLibrary, per_language

ANSWER = "@answer"  # `confirming` marker: (ANSWER, entry id) awaits "did that answer it?",
# (ANSWER, (first id, second id)) awaits "did you mean A, or B?"
# how far the best entry's fused score must lead the second's to be answered without asking
# (the dialplan's `min_score` still applies). Each of the hotline's own questions left out in
# turn, margin 0 / 0.01 / 0.02 / 0.03: wrong answers en 45 / 28 / 21 / 17 of 478, zh 26 / 13 /
# 9 / 7 of 498; asked about en 0 / 37 / 78 / 108 (the right entry one of the two in 87%),
# zh 0 / 28 / 56 / 81. 0.02 halves wrong answers for one more question on ~1 in 7.
MARGIN = {"zh": 0.02, "yue": 0.02, "en": 0.02}
NEITHER = {"zh": ("都不是", "都不对", "两个都不", "都不要"), "en": ("neither", "none of")}
WHICH_PROMPT = {
    "zh": "您是想问{first}，还是{second}？{first}请按1，{second}请按2，也可以换个说法再问。",
    "en": "Did you mean {first}, or {second}? Press 1 for {first}, or 2 for {second}, or ask "
          "another way."}
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
        hits = index.search(question, facts.get("meaning"), k=2)
        state = replace(state, variables={**state.variables, "question": question})
        decision = decide(hits, spec.threshold(state.language), state.language)
        if decision.kind == "answer":
            return self._answer(state, node, decision.hits[0], question)
        if decision.kind == "ask":
            return self._ask_which(state, node, decision.hits)
        score = hits[0].score if hits else 0.0
        return self.walker.failed(state, node, "no_match", facts,
                                  Understanding("no_match", score=round(score, 3)))

    def carried(self, state: DialogState, target: str, event: CallerInput,
                facts: Mapping[str, Any], intent: str | None = None) -> Step | None:
        """A question asked at a menu whose `questions` names the answer node `target`: the
        call moves there and the question is answered at once (the caller does not ask it
        again) when the node's knowledge base answers it confidently. `intent`: the choice
        the menu took (its route to `target`, e.g. `question`); then a near tie between two
        entries is asked about there too ("did you mean A, or B?"), which beats asking the
        whole question again. None: the menu goes on as without `questions` (a choice taken,
        a "did you mean ...?", a no-match). One search of the base, ~1-3 ms with the
        utterance's vector (`facts["meaning"]`), only at a turn the menu did not take or
        took to `target`."""
        node = self.plan.nodes.get(target)
        question = event.text.strip()
        if (node is None or node.answer is None or self.library is None
                or event.kind != "speech" or not question):
            return None
        spec = node.answer
        index = self.library.index(spec.knowledge, state.language)
        hits = index.search(question, facts.get("meaning"), k=2)
        decision = decide(hits, spec.threshold(state.language), state.language)
        if decision.kind == "fallback" or (decision.kind == "ask" and intent is None):
            return None
        state = _arrived(state, target, intent, question)
        step = (self._answer(state, node, decision.hits[0], question)
                if decision.kind == "answer" else self._ask_which(state, node, decision.hits))
        return _routed(step, intent, target)

    def answer_entry(self, state: DialogState, menu_node: Node, entry_id: str,
                     question: str) -> Step:
        """The entry the caller chose at a menu's "<service>, or <entry>?"
        (`service_or_answer`): the call moves to the menu's answer node and the entry is
        answered there, as `carried` would have (the turn is the menu's route there)."""
        menu = menu_node.menu
        assert menu is not None and menu.questions is not None and self.library is not None
        target = menu.questions
        node = self.plan.nodes[target]
        spec = self._spec(node)
        entry = self.library.entry(spec.knowledge, state.language, entry_id)
        assert entry is not None
        route = next((c.intent for c in menu.choices if c.goto == target and c.intent), None)
        state = _arrived(state, target, route, question)
        step = self._answer(state, node, Hit(entry, 1.0, 1.0, 1.0), question)
        return _routed(step, route, target)

    def _answer(self, state: DialogState, node: Node, best: Hit, question: str) -> Step:
        """Say `best`'s answer, then "did that answer your question?"."""
        values = {"question": question, "answer_id": best.entry.id,
                  "answer_title": best.entry.title}
        state = replace(succeeded(state, None), variables={**state.variables, **values},
                        confirming=(ANSWER, best.entry.id))
        language = node.prompt_language or state.language
        said = Say(best.entry.answer.strip(), language, node.barge_in, state.node, dynamic=True)
        u = Understanding("match", score=round(best.score, 3), answer=best.entry.id)
        return Step(state, [SetVariables(values), said, *self._check(state, node)], u)

    def _ask_which(self, state: DialogState, node: Node, pair: Sequence[Hit]) -> Step:
        """"Did you mean A, or B?" with the two entries' titles."""
        first, second = (h.entry.title for h in pair[:2])
        text = (WHICH_PROMPT["zh" if is_chinese(state.language) else "en"]
                .replace("{first}", first).replace("{second}", second))
        state = replace(state, confirming=(ANSWER, (pair[0].entry.id, pair[1].entry.id)))
        say = Say(text, state.language, node.barge_in, state.node, dynamic=True)
        listen = replace(self.render.listen(state, node), dtmf_choices=("1", "2"),
                         max_digits=1, digits_slot=False)
        return Step(state, [say, listen], Understanding("no_match", score=round(pair[0].score, 3)))

    def _which_answered(self, state: DialogState, node: Node, event: DialogEvent,
                        facts: Mapping[str, Any], pair: tuple[str, str]) -> Step | None:
        """The answer to "did you mean A, or B?": the entry chosen answered; no / neither a
        failed attempt; None: something else (a new question, heard as such)."""
        if isinstance(event, NoInput):
            return self.walker.failed(state, node, "no_input", facts)
        if not isinstance(event, CallerInput) or self.library is None:
            return self.walker.failed(state, node, "unintelligible", facts)
        spec = self._spec(node)
        index = self.library.index(spec.knowledge, state.language)
        chosen = pick(pair, event, state.language, index.search(
            event.text, facts.get("meaning"), k=len(index.entries))
            if event.kind == "speech" and event.text.strip() else [])
        if chosen is None:
            return None
        entry = (self.library.entry(spec.knowledge, state.language, chosen)
                 if chosen else None)
        if entry is None:
            return self.walker.failed(state, node, "no_match", facts,
                                      Understanding("no_match", "deny", 1.0))
        question = str(state.variables.get("question", ""))
        return self._answer(state, node, Hit(entry, 1.0, 1.0, 1.0), question)

    def checked(self, state: DialogState, node: Node, event: DialogEvent,
                facts: Mapping[str, Any]) -> Step | None:
        """The answer to "did that answer your question?"; None: the caller said something
        else (a new question, to be heard as such)."""
        spec = self._spec(node)
        entry_id = state.confirming[1] if state.confirming else ""
        state = replace(state, confirming=None)
        if isinstance(entry_id, tuple):
            return self._which_answered(state, node, event, facts, entry_id)
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


@dataclass(frozen=True)
class Decision:
    kind: Literal["answer", "ask", "fallback"]
    hits: tuple[Hit, ...] = ()  # the entry answered, or the two asked about


def decide(hits: Sequence[Hit], min_score: float, language: str) -> Decision:
    """What to do with a question's best entries (best first): answer the best, ask which of
    the best two was meant, or fall back (see the module docstring)."""
    if not hits or hits[0].score < min_score:
        return Decision("fallback")
    margin = per_language(MARGIN, language, 0.02)
    if len(hits) < 2 or hits[0].score - hits[1].score >= margin:
        return Decision("answer", (hits[0],))
    if hits[1].score >= min_score:
        return Decision("ask", (hits[0], hits[1]))
    return Decision("answer", (hits[0],))


def pick(pair: tuple[str, str], event: CallerInput, language: str,
         heard: Sequence[Hit]) -> str | None:
    """Which of `pair` the caller chose: key 1 or 2, "the first" / 第二个, or the one their
    words are nearer to (`heard`: their reply searched in the whole knowledge base) when
    the nearest entry of all is one of the two; "" for no / neither; None for something
    else (a new question)."""
    if event.kind == "dtmf":
        return {"1": pair[0], "2": pair[1]}.get(event.text, "")
    text = event.text.lower()
    if any(w in text for w in NEITHER["zh" if is_chinese(language) else "en"]):
        return ""
    for entry_id, words in zip(pair, ORDINALS["zh" if is_chinese(language) else "en"],
                               strict=True):
        if any(w in text for w in words):
            return entry_id
    if heard and heard[0].entry.id in pair:
        return heard[0].entry.id
    if extract_yes_no(event.text, language) is False:
        return ""
    return None


def _arrived(state: DialogState, target: str, intent: str | None, question: str) -> DialogState:
    """`state` moved to the answer node `target` with the caller's `question` kept, the
    menu's route there (`intent`) as the last intent."""
    state = moved(state, target)
    if intent is not None:
        state = replace(state, history=replace(state.history, last_intent=intent))
    return replace(state, variables={**state.variables, "question": question})


def _routed(step: Step, intent: str | None, target: str) -> Step:
    """The answer node's `step`, understood as the menu's match of its route to `target`."""
    u = step.understanding
    if u is not None:
        u = replace(u, outcome="match", intent=intent, choice=target)
    return replace(step, understanding=u)
