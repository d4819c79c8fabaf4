"""Keyword phrases beyond a fixed string: gaps (`*`) and excluded phrases (`exclude`).

- A gap: `想*死`, `吃了*安眠药`, `end * life`. Each `*` stands for up to `GAP_CHARS` Chinese
  characters or `GAP_WORDS` English words (none is fine too) between the parts, which must be
  heard in order. A gap never spans sentence punctuation (，。！？；,.!?;) when the recogniser
  wrote it: in "我想问一下，死机了怎么办" 想 and 死 are in different clauses. The parts are
  plain text searched one after the other, never a regular expression, so no keyword can
  make matching slow (the cost is linear in the parts, times the utterance's length).
- Excluded phrases: an intent's `exclude` entries are cut out of the caller's text before
  its keywords and examples are compared with it. What is left on either side of a cut is
  searched separately, so a cut never joins two halves into a new word: 累死了 loses 累死 and
  with it the 死, while 我累死了，我想自杀 keeps 自杀.

Both work on normalised text (`intents.normalise`): Chinese as characters, English as words.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

GAP = "*"
GAP_CHARS = 6  # Chinese: most characters one `*` stands for
GAP_WORDS = 3  # English: most words one `*` stands for

# Where a clause ends: a gap does not reach over these (a full stop between digits, 3.5,
# is a decimal point).
_CLAUSE_END = re.compile(r"[，。！？；,!?;\n]|(?<!\d)\.|\.(?!\d)")


def gap_parts(keyword: str) -> list[str]:
    """The text around a keyword's gaps: '想*死' -> ['想', '死'] ('话费' -> ['话费'])."""
    return [part.strip() for part in keyword.split(GAP)]


def keyword_problem(keyword: str) -> str | None:
    """Why `keyword` cannot be matched (a sentence for the dialplan's author), or None.
    Only gaps are checked: a keyword without one is matched as before (an empty one never)."""
    if GAP not in keyword:
        return None
    parts = gap_parts(keyword)
    if not any(parts):
        return f"keyword {keyword!r} is only a gap: put words on both sides of '*' (想*死)"
    if not parts[0] or not parts[-1]:
        return (f"keyword {keyword!r} starts or ends with '*': a gap goes between two parts "
                "(想*死, 'end * life'), an open end would match anything")
    if not all(parts):
        return (f"keyword {keyword!r} has two '*' with nothing between: one '*' already "
                f"stands for up to {GAP_CHARS} characters or {GAP_WORDS} words")
    for part in parts:
        if not any(ch.isalnum() for ch in part):
            return f"keyword {keyword!r}: part {part!r} has no letters or characters to find"
    return None


def exclude_problem(phrase: str) -> str | None:
    """Why `phrase` cannot be an excluded phrase, or None."""
    if not any(ch.isalnum() for ch in phrase):
        return f"excluded phrase {phrase!r} has no letters or characters to find"
    if GAP in phrase:
        return (f"excluded phrase {phrase!r} has a '*': excluded phrases are cut out as "
                "written (gaps are for keywords)")
    return None


def clauses(text: str) -> list[str]:
    """`text` (before normalisation) split where a clause ends."""
    return [c for c in _CLAUSE_END.split(text) if c.strip()]


def cut(text: str, phrases: Sequence[str], chinese: bool) -> list[str]:
    """What is left of normalised `text` once the normalised `phrases` are cut out: the
    pieces between them (Chinese: anywhere; English: whole words), longest phrase first."""
    pieces = [text]
    for phrase in sorted({p for p in phrases if p}, key=len, reverse=True):
        pieces = [rest for piece in pieces for rest in _cut_one(piece, phrase, chinese)]
    return [p for p in pieces if p]


def _cut_one(text: str, phrase: str, chinese: bool) -> list[str]:
    if chinese:
        return text.split(phrase)
    words, target = text.split(), phrase.split()
    n, out, start, i = len(target), [], 0, 0
    while i <= len(words) - n:
        if words[i : i + n] == target:
            out.append(" ".join(words[start:i]))
            start = i = i + n
        else:
            i += 1
    out.append(" ".join(words[start:]))
    return out


def gap_hit(text: str, parts: Sequence[str], chinese: bool,
            first_ok: Callable[[int], bool] | None = None) -> bool:
    """Are the normalised `parts` in normalised `text` (one clause) in order, each at most
    a gap after the end of the one before? `first_ok(start)`: may the first part start
    there (not negated: `negation`)?"""
    if not parts or not all(parts):
        return False
    if chinese:
        seq: Sequence[str] = text
        needles: list[Sequence[str]] = list(parts)
        gap = GAP_CHARS
    else:
        seq, needles, gap = text.split(), [p.split() for p in parts], GAP_WORDS
    ends = {end for start, end in _occurrences(seq, needles[0])
            if first_ok is None or first_ok(start)}
    for needle in needles[1:]:
        if not ends:
            return False
        ends = {end for start, end in _occurrences(seq, needle)
                if any(0 <= start - e <= gap for e in ends)}
    return bool(ends)


def _occurrences(seq: Sequence[str], needle: Sequence[str]) -> list[tuple[int, int]]:
    """(start, end) of every place `needle` occurs in `seq` (characters or words)."""
    n = len(needle)
    return [(i, i + n) for i in range(len(seq) - n + 1) if seq[i : i + n] == needle]
