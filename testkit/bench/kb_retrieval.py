"""Knowledge-base retrieval figures for `scripts/bench_intents --kb / --kb-loo`: the right
entry first per language for questions the base was not written from, what the IVR does at
the answer node's `min_score`, and each of the base's own questions left out in turn."""

from __future__ import annotations

import statistics
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from ivr.dialplan.nodes import Answer
from ivr.understanding.profiles import BUILTIN_PROFILES, normalise_for
from testkit.bench.intent_variants import pct

__all__ = ["run_kb", "run_kb_loo"]


def run_kb(questions_path: Path, folder: Path, node: Answer, half: str | None = None
           ) -> dict[str, Any]:
    """Right entry first, per language, for held-out questions; and what the IVR does at the
    dialplan's `min_score`: answers right, answers wrong, refuses (questions no entry
    answers should be refused)."""
    from ivr.understanding.knowledge import KnowledgeIndex, load_knowledge

    questions = yaml.safe_load(questions_path.read_text(encoding="utf-8"))
    if "kb" in questions:  # a development file in halves: its `kb` section
        halves = questions["kb"]
        questions = {}
        for name in [half] if half else list(halves):
            for language, asked in halves[name].items():
                questions.setdefault(language, []).extend(asked)
    kb = load_knowledge(folder)
    print(f"\nKNOWLEDGE BASE: {questions_path.name} against {folder} (e5 meaning + "
          "BM25 words, jieba for Chinese)")
    out: dict[str, Any] = {}
    for language, entries in kb.items():
        t0 = time.perf_counter()
        index = KnowledgeIndex(entries, language)
        build_s = time.perf_counter() - t0
        asked = questions.get(language, [])
        min_score = node.threshold(language)
        right, answered, unanswerable, misses = 0, [], [], []
        at_min: Counter[str] = Counter()
        t0 = time.perf_counter()
        for q in asked:
            profile = BUILTIN_PROFILES.get(q.get("profile") or language)
            text = normalise_for(profile, q["text"]) if profile else q["text"]
            top = index.search(text)[0]
            if q["expect"] is None:
                unanswerable.append(top.score)
                continue
            answered.append(top.score)
            said = top.score >= min_score
            at_min["right" if said and top.entry.id == q["expect"] else
                   "wrong" if said else "refused"] += 1
            if top.entry.id == q["expect"]:
                right += 1
            else:
                misses.append((q["text"], q["expect"], top.entry.id, round(top.score, 3)))
        ms = (time.perf_counter() - t0) / max(1, len(asked)) * 1000
        n = len(answered)
        print(f"  {language}: right entry first {pct(right, n)}; {len(entries)} entries indexed "
              f"in {build_s:.1f} s, {ms:.1f} ms per question; best score median: answerable "
              f"{statistics.median(answered or [0]):.3f}, unanswerable "
              f"{statistics.median(unanswerable or [0]):.3f}")
        refused = sum(s < min_score for s in unanswerable)
        print(f"    at min_score {min_score}: answerable questions answered right "
              f"{pct(at_min['right'], n)}, wrong {pct(at_min['wrong'], n)}, refused "
              f"{pct(at_min['refused'], n)}; unanswerable refused "
              f"{pct(refused, len(unanswerable))}")
        for text, want, got, score in misses[:10]:
            print(f"    MISS {text} | {want} -> {got} ({score})")
        out[language] = {"right_first": right / n if n else 0.0, "n": n, "ms": round(ms, 1),
                         "at_min_score": dict(at_min), "unanswerable_refused":
                         refused / len(unanswerable) if unanswerable else None,
                         "misses": misses}
    return out


def run_kb_loo(folder: Path) -> dict[str, Any]:
    """Right entry first when each of the knowledge base's own questions is left out in turn
    (the rest of the entries as they are): how retrieval choices were made without the
    held-out questions."""
    from ivr.understanding.knowledge import KnowledgeIndex, load_knowledge

    print(f"\nKNOWLEDGE BASE, each own question left out in turn: {folder}")
    out: dict[str, Any] = {}
    for language, entries in load_knowledge(folder).items():
        right = n = 0
        for i, entry in enumerate(entries):
            for q in entry.questions:
                kept = tuple(t for t in entry.questions if t != q)
                trimmed = [e if j != i else e.model_copy(update={"questions": kept})
                           for j, e in enumerate(entries)]
                top = KnowledgeIndex(trimmed, language).search(q, k=1)[0]
                right += top.entry.id == entry.id
                n += 1
        print(f"  {language}: right entry first {pct(right, n)}")
        out[language] = {"right_first": right / n if n else 0.0, "n": n}
    return out
