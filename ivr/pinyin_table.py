"""pypinyin's phrase dictionary, once per machine: memory-mapped instead of a dict per worker.

Chinese keywords are matched by sound (`ivr.understanding.pinyin`) and Mandarin prompts are
read through pinyin (`audio_models.tts_espeak`): pypinyin, whose import loads ~410,000
phrases (a JSON file made into Python lists) and a set of their prefixes for its segmenter,
~39 MB of private heap in every SIP worker (issue 22: <= 150 MB per extra worker).

`attach` replaces both, in the already imported pypinyin, with read-only views of a table
written once per machine under the models directory (by a child process, like
`ivr.word_table`), and lets the dicts go: the page cache holds one copy for all workers. A
phrase's readings are decoded from the table on each lookup (pypinyin deep-copies them
anyway), so every reading is what pypinyin's own dict gives (tests compare every phrase of a
sample and whole sentences). Phrases added at run time (`load_phrases_dict`) go to an
overlay. Anything unexpected (another pypinyin layout, no table): pypinyin is left as it is.
"""

from __future__ import annotations

import fcntl
import json
import logging
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ivr.word_table import BytesTable, write_table

log = logging.getLogger(__name__)

__all__ = ["MappedPhrases", "MappedPrefixes", "attach", "build_table", "table_dir"]

_USERS = ("pypinyin.constants", "pypinyin.converter", "pypinyin.core",
          "pypinyin.seg.simpleseg", "pypinyin.seg.mmseg")  # modules holding PHRASES_DICT


def table_dir(models_dir: Path) -> Path:
    from importlib.metadata import version

    return Path(models_dir) / f"pypinyin-phrases-v1-{version('pypinyin')}"


def build_table(models_dir: Path) -> Path:
    """Write the phrases and the segmenter's prefixes of this pypinyin (kept if present)."""
    final = table_dir(models_dir)
    if (final / "prefixes" / "meta.json").is_file():
        return final
    from pypinyin.phrases_dict import phrases_dict
    from pypinyin.seg.mmseg import p_set

    final.mkdir(parents=True, exist_ok=True)
    write_table(final / "phrases", [
        (k.encode(), json.dumps(v, ensure_ascii=False, separators=(",", ":")).encode())
        for k, v in phrases_dict.items()])
    write_table(final / "prefixes", [(k.encode(), b"") for k in p_set._set])  # last: ready
    return final


class MappedPhrases:
    """PHRASES_DICT (phrase -> [[readings of char 1], ...]) read from the table."""

    def __init__(self, directory: Path) -> None:
        self._table = BytesTable(directory)
        self._overlay: dict[str, Any] = {}

    def get(self, phrase: str, default: Any = None) -> Any:
        if phrase in self._overlay:
            return self._overlay[phrase]
        raw = self._table.find(phrase)
        return default if raw is None else json.loads(bytes(raw))

    def __contains__(self, phrase: object) -> bool:
        return phrase in self._overlay or self._table.find(phrase) is not None

    def __getitem__(self, phrase: str) -> Any:
        found = self.get(phrase)
        if found is None:
            raise KeyError(phrase)
        return found

    def __setitem__(self, phrase: str, readings: Any) -> None:
        self._overlay[phrase] = readings

    def update(self, other: Any) -> None:
        self._overlay.update(other)

    def __len__(self) -> int:
        return len(self._table) + len(self._overlay)

    def __iter__(self) -> Iterator[str]:
        raise TypeError("a mapped phrase table is not iterated")

    def keys(self) -> Iterable[str]:
        raise TypeError("a mapped phrase table is not iterated")


class MappedPrefixes:
    """The segmenter's prefix set (`PrefixSet._set`) read from the table."""

    def __init__(self, directory: Path) -> None:
        self._table = BytesTable(directory)
        self._overlay: set[str] = set()

    def __contains__(self, prefix: object) -> bool:
        return prefix in self._overlay or self._table.find(prefix) is not None

    def add(self, prefix: str) -> None:  # PrefixSet.train (a retrain after load_phrases_dict)
        self._overlay.add(prefix)


def _ensure(models_dir: Path) -> Path:
    directory = table_dir(models_dir)
    if (directory / "prefixes" / "meta.json").is_file():
        return directory
    Path(models_dir).mkdir(parents=True, exist_ok=True)
    with open(Path(models_dir) / "pypinyin-phrases.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (directory / "prefixes" / "meta.json").is_file():
            subprocess.run([sys.executable, "-m", "ivr.pinyin_table", str(models_dir)],
                           check=True, timeout=120, stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return directory


def attach(models_dir: Path) -> bool:
    """Point the imported pypinyin at the machine's table (built on first use) and drop its
    own dicts. True when attached; False (logged) leaves pypinyin unchanged."""
    try:
        import pypinyin.constants
        import pypinyin.phrases_dict
        import pypinyin.seg.mmseg as mmseg

        modules = [sys.modules[name] for name in _USERS]
        own = pypinyin.constants.PHRASES_DICT
        if isinstance(own, MappedPhrases):
            return True
        if not isinstance(own, dict) or not all(m.PHRASES_DICT is own for m in modules) or \
                not isinstance(getattr(mmseg.p_set, "_set", None), set):
            raise ValueError("pypinyin's layout is not the one this was written for")
        directory = _ensure(models_dir)
        phrases = MappedPhrases(directory / "phrases")
        prefixes = MappedPrefixes(directory / "prefixes")
        if len(phrases) != len(own):  # (a load_phrases_dict before us, or another dict)
            raise ValueError(f"table has {len(phrases)} phrases, pypinyin {len(own)}")
    except (OSError, ValueError, KeyError, ImportError, subprocess.SubprocessError) as e:
        log.warning("pypinyin phrase table not used (%s): pypinyin keeps its own dict", e)
        return False
    for m in modules:
        m.PHRASES_DICT = phrases
    pypinyin.phrases_dict.phrases_dict = phrases
    mmseg.p_set._set = prefixes
    log.info("pypinyin phrases from the shared table %s", directory)
    return True


if __name__ == "__main__":  # the builder `attach` runs: python -m ivr.pinyin_table DIR
    build_table(Path(sys.argv[1]))
