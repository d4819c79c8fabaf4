"""jieba's word dictionary, once per machine: a memory-mapped table instead of a dict per worker.

The knowledge base tokenises Chinese with jieba (`ivr.understanding.knowledge_terms`), whose
dictionary is a Python dict of ~350,000 words and their prefixes: ~56 MB of private heap in
every process that segments a sentence, i.e. in every SIP worker (issue 22: <= 150 MB per
extra worker). Here the same words and frequencies are written once per machine under the
models directory (`ensure_table`: the first worker that needs it runs `build_table` in a
child process, ~7 s once per jieba version) and each worker on the shared inference server
maps the files read-only (`attach`): the kernel's page cache holds one copy for all of them.

`MappedFreq` answers exactly what jieba asks of its dict (`in`, `[]`, `get`), with the same
values, so segmentation is unchanged (tests/unit/test_inference_word_table.py compares
`jieba.lcut` with and without it); words added at run time (`jieba.add_word`) go to a small
overlay dict. Lookups cost a few microseconds (a CRC-32 and a binary search in the mapped
hash column), ~0.1-0.3 ms for a caller's sentence. No table (a single `ivr serve`, a table from
another jieba version): jieba loads its own dictionary as before.
"""

from __future__ import annotations

import bisect
import fcntl
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

__all__ = ["MappedFreq", "attach", "build_table", "table_dir"]

FORMAT = 1


def _source_key() -> str:
    """What the table was made from: jieba's version and its dictionary file."""
    import jieba

    dict_file = Path(jieba.__file__).parent / "dict.txt"
    st = dict_file.stat()
    return f"v{FORMAT}-{getattr(jieba, '__version__', '?')}-{st.st_size}-{int(st.st_mtime)}"


def table_dir(cache_dir: Path) -> Path:
    return Path(cache_dir) / f"jieba-words-{_source_key()}"


def build_table(cache_dir: Path) -> Path:
    """Write the table for this jieba (once: an existing one is kept) and return its
    directory. Loads jieba's dictionary in this process for the time it takes, then drops
    it again (this process does not segment)."""
    final = table_dir(cache_dir)
    if (final / "meta.json").is_file():
        return final
    import jieba

    jieba.setLogLevel(logging.WARNING)
    fresh = jieba.Tokenizer()
    fresh.check_initialized()
    words = list(fresh.FREQ.items())
    total = int(fresh.total)
    del fresh
    encoded = [w.encode() for w, _ in words]
    hashes = np.fromiter((zlib.crc32(b) for b in encoded), dtype=np.uint32, count=len(words))
    order = np.argsort(hashes, kind="stable")
    lengths = np.fromiter((len(encoded[i]) for i in order), dtype=np.int64, count=len(order))
    offsets = np.zeros(len(order) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    freqs = np.fromiter((words[i][1] for i in order), dtype=np.int64, count=len(order))
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".jieba-words-", dir=final.parent))
    try:
        np.save(tmp / "hashes.npy", hashes[order])
        np.save(tmp / "offsets.npy", offsets)
        np.save(tmp / "freqs.npy", freqs)
        (tmp / "words.bin").write_bytes(b"".join(encoded[i] for i in order))
        (tmp / "meta.json").write_text(json.dumps({"total": total, "words": len(words)}))
        os.rename(tmp, final)  # whole or not at all; a concurrent builder's stays
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not (final / "meta.json").is_file():
            raise
    log.info("jieba word table: %d words in %s", len(words), final)
    return final


class MappedFreq:
    """jieba's FREQ (word -> frequency, 0 for a prefix) read from a mapped table."""

    def __init__(self, directory: Path) -> None:
        meta = json.loads((directory / "meta.json").read_text())
        self.total = int(meta["total"])
        self._hashes = np.load(directory / "hashes.npy", mmap_mode="r")
        self._offsets = np.load(directory / "offsets.npy", mmap_mode="r")
        self._freqs = np.load(directory / "freqs.npy", mmap_mode="r")
        self._words = np.memmap(directory / "words.bin", dtype=np.uint8, mode="r")
        if not (len(self._hashes) == len(self._freqs) == len(self._offsets) - 1
                == int(meta["words"])) or int(self._offsets[-1]) != len(self._words):
            raise ValueError(f"jieba word table {directory} is inconsistent")
        # memoryviews of the mapped pages: indexing gives Python ints without numpy's
        # per-call overhead (a lookup is ~2 us, not ~50 us)
        self._h, self._off = memoryview(self._hashes), memoryview(self._offsets)
        self._f, self._blob = memoryview(self._freqs), memoryview(self._words)
        self._n = len(self._h)
        self._overlay: dict[str, int] = {}

    def _find(self, word: str) -> int | None:
        if not isinstance(word, str):
            return None
        data = word.encode()
        h = zlib.crc32(data)
        hashes, offsets = self._h, self._off
        i = bisect.bisect_left(hashes, h)
        while i < self._n and hashes[i] == h:
            start, end = offsets[i], offsets[i + 1]
            if end - start == len(data) and self._blob[start:end] == data:
                return int(self._f[i])
            i += 1
        return None

    def get(self, word: str, default: Any = None) -> Any:
        if word in self._overlay:
            return self._overlay[word]
        found = self._find(word)
        return default if found is None else found

    def __contains__(self, word: object) -> bool:
        return word in self._overlay or self._find(word) is not None  # type: ignore[arg-type]

    def __getitem__(self, word: str) -> int:
        found = self.get(word)
        if found is None:
            raise KeyError(word)
        return int(found)

    def __setitem__(self, word: str, freq: int) -> None:
        self._overlay[word] = freq  # jieba.add_word / suggest_freq

    def __len__(self) -> int:
        return len(self._hashes) + len(self._overlay)

    def __iter__(self) -> Iterator[str]:
        raise TypeError("a mapped jieba table is not iterated")


def ensure_table(cache_dir: Path, timeout_s: float = 120.0) -> Path:
    """The table's directory, built first if missing: by a short-lived child process (the
    dictionary it loads never enters this one), one at a time per cache directory (workers
    starting together wait for the first: flock)."""
    directory = table_dir(cache_dir)
    if (directory / "meta.json").is_file():
        return directory
    Path(cache_dir).mkdir(parents=True, exist_ok=True)
    with open(Path(cache_dir) / "jieba-words.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (directory / "meta.json").is_file():
            subprocess.run([sys.executable, "-m", "ivr.word_table", str(cache_dir)],
                           check=True, timeout=timeout_s, stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return directory


def write_table(directory: Path, items: list[tuple[bytes, bytes]]) -> None:
    """A read-only key -> value table (`BytesTable`) at `directory`, written whole or not at
    all (another process may be writing the same table: the first rename wins)."""
    if (directory / "meta.json").is_file():
        return
    order = sorted(range(len(items)), key=lambda i: zlib.crc32(items[i][0]))
    hashes = np.fromiter((zlib.crc32(items[i][0]) for i in order), np.uint32, len(items))
    offsets = np.zeros((2, len(items) + 1), dtype=np.int64)
    np.cumsum([len(items[i][0]) for i in order], out=offsets[0, 1:])
    np.cumsum([len(items[i][1]) for i in order], out=offsets[1, 1:])
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
    try:
        np.save(tmp / "hashes.npy", hashes)
        np.save(tmp / "offsets.npy", offsets)
        (tmp / "keys.bin").write_bytes(b"".join(items[i][0] for i in order))
        (tmp / "values.bin").write_bytes(b"".join(items[i][1] for i in order))
        (tmp / "meta.json").write_text(json.dumps({"items": len(items)}))
        os.rename(tmp, directory)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not (directory / "meta.json").is_file():
            raise


class BytesTable:
    """A `write_table` table, mapped: `find(key)` is the value's bytes (a view) or None."""

    def __init__(self, directory: Path) -> None:
        n = int(json.loads((directory / "meta.json").read_text())["items"])
        hashes = np.load(directory / "hashes.npy", mmap_mode="r")
        offsets = np.load(directory / "offsets.npy", mmap_mode="r")
        keys = _mapped(directory / "keys.bin")
        values = _mapped(directory / "values.bin")
        if (hashes.shape != (n,) or offsets.shape != (2, n + 1)
                or int(offsets[0, -1]) != len(keys) or int(offsets[1, -1]) != len(values)):
            raise ValueError(f"table {directory} is inconsistent")
        self._h = memoryview(hashes)
        self._k, self._v = memoryview(offsets[0]), memoryview(offsets[1])
        self._keys, self._values, self._n = keys, values, n

    def __len__(self) -> int:
        return self._n

    def find(self, key: object) -> memoryview | None:
        if not isinstance(key, str):
            return None
        data = key.encode()
        h = zlib.crc32(data)
        i = bisect.bisect_left(self._h, h)
        while i < self._n and self._h[i] == h:
            start, end = self._k[i], self._k[i + 1]
            if end - start == len(data) and self._keys[start:end] == data:
                return self._values[self._v[i]:self._v[i + 1]]
            i += 1
        return None


def _mapped(path: Path) -> memoryview:
    if path.stat().st_size == 0:
        return memoryview(b"")
    return memoryview(np.memmap(path, dtype=np.uint8, mode="r"))


def attach(cache_dir: Path) -> bool:
    """Make jieba's default tokenizer use the machine's table (built on first use), unless
    jieba has loaded its own dictionary already. True when attached; on any failure jieba
    loads its own dictionary as before (logged)."""
    try:
        import jieba

        if jieba.dt.initialized:
            return False
        directory = ensure_table(cache_dir)

        if jieba.dt.initialized:
            return False
        freq = MappedFreq(directory)
    except (OSError, ValueError, KeyError, ImportError, subprocess.SubprocessError) as e:
        log.warning("jieba word table not used (%s): jieba loads its own dictionary", e)
        return False
    jieba.setLogLevel(logging.WARNING)
    with jieba.dt.lock:
        jieba.dt.FREQ, jieba.dt.total = freq, freq.total
        jieba.dt.initialized = True
    log.info("jieba words from the shared table %s", directory)
    return True


if __name__ == "__main__":  # the builder `ensure_table` runs: python -m ivr.word_table DIR
    build_table(Path(sys.argv[1]))
