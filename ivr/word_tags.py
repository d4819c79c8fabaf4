"""jieba's part-of-speech tags, once per machine: a mapped table instead of a dict per worker.

`ivr.understanding.off_topic` tags a Mandarin caller's words with `jieba.posseg`, loaded with
the dialplan. Importing it builds `posseg.dt.word_tag_tab`, a dict of all ~349,000 words of
jieba's dictionary and their tags: ~49 MB of private heap in every SIP worker (measured:
dropping it takes a worker from 185 to 136 MB USS; issue 22, <= 150 MB per extra worker).

`share_tags` writes the same words and tags once per machine as a key -> value table
(`ivr.word_table.write_table`, the format of the pypinyin phrases) beside the mapped word
table, named by a digest of the dict's contents (so a table is only ever used for exactly the
dict it was written from: another jieba, a user dictionary, a different file), and gives the
tagger `MappedTags` instead: the page cache holds one copy for all workers. `MappedTags`
answers what posseg asks of its dict (`get`, `in`, `[]`, and `update` with words added at run
time, which go to a small overlay) with the same tags, so tagging is unchanged
(tests/unit/test_inference_word_tags.py compares every word and whole sentences). A lookup is
a CRC-32 and a binary search, a few microseconds, ~10 per sentence.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ivr.word_table import BytesTable, write_table

log = logging.getLogger(__name__)

__all__ = ["MappedTags", "share_tags", "table_dir"]

FORMAT = 1


def table_dir(models_dir: Path, tags: Mapping[str, str]) -> Path:
    """Where the table of exactly `tags` (its words, tags and order) lives."""
    digest = hashlib.sha256()
    for word, tag in tags.items():
        digest.update(f"{word}\t{tag}\n".encode())
    return Path(models_dir) / f"jieba-tags-v{FORMAT}-{digest.hexdigest()[:24]}"


class MappedTags:
    """posseg's `word_tag_tab` (word -> tag) read from a mapped table, plus an overlay."""

    def __init__(self, directory: Path) -> None:
        self._table = BytesTable(directory)
        self._overlay: dict[str, str] = {}

    def get(self, word: str, default: Any = None) -> Any:
        if word in self._overlay:
            return self._overlay[word]
        found = self._table.find(word)
        return default if found is None else bytes(found).decode()

    def __contains__(self, word: object) -> bool:
        return word in self._overlay or self._table.find(word) is not None

    def __getitem__(self, word: str) -> str:
        found = self.get(word)
        if found is None:
            raise KeyError(word)
        return str(found)

    def __setitem__(self, word: str, tag: str) -> None:
        self._overlay[word] = tag

    def update(self, other: Mapping[str, str]) -> None:
        """Words added at run time (`jieba.add_word(..., tag=...)`, merged by posseg)."""
        self._overlay.update(other)

    def __len__(self) -> int:
        return len(self._table) + sum(1 for w in self._overlay if self._table.find(w) is None)

    def __iter__(self) -> Iterator[str]:
        raise TypeError("a mapped tag table is not iterated")


def share_tags(models_dir: Path) -> bool:
    """Give the imported `jieba.posseg` tagger the machine's table of its tags (written
    first if missing) and let its dict go. True when swapped; False when posseg is not
    imported, already mapped, or on any failure (logged: the dict stays)."""
    posseg = sys.modules.get("jieba.posseg")
    tagger = getattr(posseg, "dt", None)
    tags = getattr(tagger, "word_tag_tab", None)
    if not isinstance(tags, dict) or not tags:
        return False
    try:
        directory = table_dir(models_dir, tags)
        if not (directory / "meta.json").is_file():  # one writer; workers starting with it wait
            Path(models_dir).mkdir(parents=True, exist_ok=True)
            with open(Path(models_dir) / "jieba-tags.lock", "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                if not (directory / "meta.json").is_file():
                    write_table(directory, [(w.encode(), t.encode()) for w, t in tags.items()])
                    log.info("jieba tag table: %d words in %s", len(tags), directory)
        mapped = MappedTags(directory)
        if len(mapped) != len(tags):
            raise ValueError(f"{directory} has {len(mapped)} words, the tagger {len(tags)}")
    except (OSError, ValueError, KeyError, UnicodeError) as e:
        log.warning("jieba tag table not used (%s): the tagger keeps its dict", e)
        return False
    tagger.word_tag_tab = mapped
    log.info("jieba tags from the shared table %s", directory)
    return True
