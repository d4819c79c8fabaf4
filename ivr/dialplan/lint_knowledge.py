"""Lint of the knowledge bases that `answer` nodes use (the loader already refused folders
that cannot be read or entries that are not valid): every language of the dialplan has a
knowledge file, the same entries in each, and every `follow_up` is a node of the dialplan.
"""

from __future__ import annotations

import functools
from pathlib import Path

from ivr.dialplan.loader import Issue, LoadedDialplan
from ivr.understanding.knowledge import Entry, KnowledgeError, load_knowledge


@functools.lru_cache(maxsize=32)
def _entries(folder: str, stamp: tuple[float, ...]) -> dict[str, list[Entry]]:
    try:
        return load_knowledge(Path(folder))
    except KnowledgeError:
        return {}


def entries(folder: str) -> dict[str, list[Entry]]:
    """language -> entries of a knowledge folder ({} if it cannot be read), cached until a
    file changes."""
    files = sorted(Path(folder).glob("*.yaml")) if Path(folder).is_dir() else []
    return _entries(folder, tuple(f.stat().st_mtime for f in files))


def follow_ups(folder: str) -> list[str]:
    """The `follow_up` nodes named by a knowledge folder's entries."""
    return sorted({e.follow_up for items in entries(folder).values() for e in items
                   if e.follow_up})


def knowledge_issues(loaded: LoadedDialplan) -> list[Issue]:
    plan, pos = loaded.plan, loaded.positions
    out: list[Issue] = []
    for nid, node in plan.nodes.items():
        if node.answer is None:
            continue
        where = ("nodes", nid, "answer", "knowledge")
        folder = node.answer.knowledge
        books = entries(folder)
        for lang in plan.languages:
            if lang not in books and not any(k.split("-")[0] == lang.split("-")[0]
                                             for k in books):
                out.append(pos.issue(where, f"no {lang}.yaml in {folder}: {lang} callers get "
                                     f"answers in {', '.join(books)}", "warning",
                                     "knowledge-language"))
        ids = {lang: {e.id for e in items} for lang, items in books.items()}
        every = set().union(*ids.values()) if ids else set()
        for lang, have in ids.items():
            if missing := sorted(every - have):
                out.append(pos.issue(where, f"{folder}/{lang}.yaml lacks entries "
                                     f"{', '.join(missing)} that other languages have",
                                     "warning", "knowledge-entries"))
        for name in follow_ups(folder):
            if name not in plan.nodes:
                out.append(pos.issue(where, f"a knowledge entry's follow_up {name!r} is not a "
                                     "node of this dialplan", code="undefined"))
    return out
