"""Rendered prompts at the telephony rate, memoised in memory and on disk.

IVR prompts repeat: render each (voice, language, text, rate) once, resample it once with
soxr, keep the frame in memory (a memory hit is a dict lookup) and as a WAV file in
`cache_dir` so the next process start does not call the engine at all. Recorded prompt files
are cached in memory by path, mtime and size.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import tempfile
import threading
import wave
from collections import OrderedDict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from audio_models.frames import SAMPLE_WIDTH, AudioFrame
from audio_models.languages import language_key
from audio_models.resample import resample
from audio_models.tts import TTSRouter, engine_id, load_audio_file

_LOG = logging.getLogger(__name__)

CACHE_FORMAT = 1  # bump when rendering changes in a way the key does not capture


@dataclass(slots=True)
class CacheStats:
    memory_hits: int = 0
    disk_hits: int = 0
    misses: int = 0  # rendered by an engine or read from a prompt file


class PromptCache:
    """Prompts for one output rate. Thread-safe; `get` / `get_file` are the async faces.

    Memory is bounded by `max_memory_bytes` (least recently used entries are dropped; disk
    copies stay).
    """

    def __init__(
        self,
        router: TTSRouter,
        target_rate: int,
        cache_dir: Path | None = None,
        *,
        max_workers: int = 1,
        max_memory_bytes: int = 64 << 20,
    ) -> None:
        if target_rate <= 0:
            raise ValueError(f"target_rate must be positive, got {target_rate}")
        self.router = router
        self.target_rate = target_rate
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        if self.cache_dir is not None:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.stats = CacheStats()
        self._mem: OrderedDict[object, AudioFrame] = OrderedDict()
        self._mem_bytes = 0
        self._max_bytes = max_memory_bytes
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers, thread_name_prefix="prompt-cache")

    # ------------------------------------------------------------ keys
    def key(self, text: str, language: str) -> str:
        """Cache key: SHA-256 of engine/voice id, language, text, rate and format version."""
        lang = language_key(language)
        engine = self.router.engine_for(lang)
        blob = json.dumps([CACHE_FORMAT, engine_id(engine), lang, text, self.target_rate])
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    # ------------------------------------------------------------ sync API
    def lookup(self, text: str, language: str) -> AudioFrame | None:
        """The prompt if it is in memory, else None (never renders or reads disk)."""
        return self._mem_get(("tts", text, language))

    def get_sync(self, text: str, language: str) -> AudioFrame:
        """The prompt at `target_rate`: memory, else disk, else rendered and stored. Blocking."""
        mem_key = ("tts", text, language)
        frame = self._mem_get(mem_key)
        if frame is not None:
            return frame
        key = self.key(text, language)
        frame = self._disk_read(key)
        if frame is not None:
            with self._lock:
                self.stats.disk_hits += 1
        else:
            rendered = self.router.synthesize_sync(text, language)
            frame = resample(rendered, self.target_rate)
            frame = AudioFrame(frame.pcm, frame.sample_rate)  # cached frames carry no timestamp
            self._disk_write(key, frame)
            with self._lock:
                self.stats.misses += 1
        self._mem_put(mem_key, frame)
        return frame

    def get_file_sync(self, path: Path | str) -> AudioFrame:
        """A recorded prompt file at `target_rate`, cached by path, mtime and size. Blocking."""
        p = Path(path).resolve()
        try:
            st = p.stat()
        except OSError:
            st = None
        mem_key = ("file", str(p), st.st_mtime_ns if st else 0, st.st_size if st else 0)
        frame = self._mem_get(mem_key)
        if frame is not None:
            return frame
        frame = resample(load_audio_file(p), self.target_rate)
        frame = AudioFrame(frame.pcm, frame.sample_rate)
        with self._lock:
            self.stats.misses += 1
        self._mem_put(mem_key, frame)
        return frame

    def warm(self, items: Iterable[tuple[str, str]]) -> int:
        """Render (text, language) pairs ahead of time; returns how many were processed."""
        count = 0
        for text, language in items:
            self.get_sync(text, language)
            count += 1
        return count

    # ------------------------------------------------------------ async API
    async def get(self, text: str, language: str) -> AudioFrame:
        """`get_sync` off the loop; a memory hit returns without touching the executor."""
        frame = self._mem_get(("tts", text, language))
        if frame is not None:
            return frame
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self.get_sync, text, language)

    async def get_file(self, path: Path | str) -> AudioFrame:
        """`get_file_sync` off the loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self.get_file_sync, path)

    def close(self) -> None:
        """Wait for renders in progress and stop the executor."""
        self._executor.shutdown(wait=True, cancel_futures=True)

    # ------------------------------------------------------------ internals
    def _mem_get(self, key: object) -> AudioFrame | None:
        with self._lock:
            frame = self._mem.get(key)
            if frame is not None:
                self._mem.move_to_end(key)
                self.stats.memory_hits += 1
            return frame

    def _mem_put(self, key: object, frame: AudioFrame) -> None:
        with self._lock:
            old = self._mem.pop(key, None)
            if old is not None:
                self._mem_bytes -= len(old.pcm)
            self._mem[key] = frame
            self._mem_bytes += len(frame.pcm)
            while self._mem_bytes > self._max_bytes and len(self._mem) > 1:
                _, dropped = self._mem.popitem(last=False)
                self._mem_bytes -= len(dropped.pcm)

    def _path(self, key: str) -> Path | None:
        return self.cache_dir / f"{key}.wav" if self.cache_dir is not None else None

    def _disk_read(self, key: str) -> AudioFrame | None:
        path = self._path(key)
        if path is None or not path.is_file():
            return None
        try:
            with wave.open(str(path), "rb") as w:
                ok = (
                    w.getnchannels() == 1
                    and w.getsampwidth() == SAMPLE_WIDTH
                    and w.getframerate() == self.target_rate
                )
                pcm = w.readframes(w.getnframes())
                complete = len(pcm) == w.getnframes() * SAMPLE_WIDTH
        except (OSError, EOFError, wave.Error):
            return None  # unreadable cache file: render again and overwrite it
        if not ok or not complete or not pcm:
            return None
        return AudioFrame(pcm, self.target_rate)

    def _disk_write(self, key: str, frame: AudioFrame) -> None:
        path = self._path(key)
        if path is None:
            return
        fd, tmp = tempfile.mkstemp(prefix=f".{key[:16]}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f, wave.open(f, "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(SAMPLE_WIDTH)
                w.setframerate(frame.sample_rate)
                w.writeframes(frame.pcm)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except OSError as exc:  # a cache that cannot write still serves from memory
            _LOG.warning("cannot write prompt cache file %s: %s", path, exc)
            Path(tmp).unlink(missing_ok=True)
