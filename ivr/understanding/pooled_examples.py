"""A small dialplan's meaning classifier learns its other languages' examples too.

An integrator's dialplan often has 3-6 examples per intent and language (the benchmark
dialplans of issue 17, round 8: colloquial requests understood 42-65%), where the shipped
hotline has 25 or more. The classifier of one language then learns an intent from four
sentences. multilingual-e5-small puts a sentence and its translation near each other, so
the examples a bilingual dialplan writes for the same intent in its other language are more
sentences of the same meaning: a language whose intents average fewer than `SMALL` rows
(examples and keywords) is trained on every language's rows, those of another language
weighing `OTHER_WEIGHT` each. A language with `SMALL` rows per intent or more (the hotline)
trains on its own rows only, so its classifier, and every figure measured on it, is the
same as before.

Only the classifier of the intents (`SemanticIndex.classifiers`) is pooled: the crisis
recall and the everyday-request guard keep their own language's rows.

Measured (issue 17, round 9, H2) with the classifier alone on the development sets of the
utility and parcel benchmark dialplans: see docs/understanding_rounds.md, "Round 9 (H2)".
"""

from __future__ import annotations

import numpy as np

__all__ = ["OTHER_WEIGHT", "SMALL", "pooled_rows"]

SMALL = 10  # rows per intent (mean) below which a language also learns the others' rows
OTHER_WEIGHT = 1.0  # weight of a row of another language (its own language's rows: 1)


def pooled_rows(vectors: dict[str, np.ndarray], labels: dict[str, list[str]], language: str
                ) -> tuple[np.ndarray, list[str], list[float] | None]:
    """The rows `language`'s classifier trains on: its own (`vectors[language]`, labelled
    `labels[language]`), and, when it has fewer than `SMALL` per class on average, every
    other language's rows of the same classes. Weights None: all rows alike (the classifier's
    cache key is then the same as for its own rows alone)."""
    own, names = vectors[language], labels[language]
    classes = set(names)
    if not classes or len(names) / len(classes) >= SMALL:
        return own, names, None
    parts, more = [own], list(names)
    for other, rows in vectors.items():
        if other == language:
            continue
        keep = [i for i, name in enumerate(labels[other]) if name in classes]
        if keep:
            parts.append(rows[keep])
            more += [labels[other][i] for i in keep]
    if len(more) == len(names):
        return own, names, None
    weights = [1.0] * len(names) + [OTHER_WEIGHT] * (len(more) - len(names))
    return np.vstack(parts), more, weights
