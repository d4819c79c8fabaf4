"""Rendered prompts at the telephony rate, memoised in memory and on disk.

IVR prompts repeat: render each (voice, language, text, rate) once, resample it once with
soxr, keep the frame in memory (a memory hit is a dict lookup) and as a WAV file in
`cache_dir` so the next process start does not call the engine at all. Recorded prompt files
are cached in memory by path, mtime and size.

Memory (issue 22: <= 150 MB per SIP worker): with a disk cache, the memory copy is only a
small LRU (`DISK_BACKED_MEMORY`, 2 MB, a minute of 16 kHz audio or two of 8 kHz: the prompts
every call plays); the rest is read from the WAV files on a memory miss, off the loop and not
behind a render (`get`). The kernel's page cache keeps one copy of those files for all the
workers of a machine, where each worker used to keep its own (55 static prompts of the
shipped hotline: 11 MB per worker at 16 kHz); a read from the page cache takes well under a
millisecond. Without a disk cache, memory is the only copy and keeps up to 64 MB.

Private prompts (issue 15): a read-back ("your card ending 4821", the caller's number, a
balance) is personal data. `get(..., private=True)` renders it for the caller who asked and
stores it nowhere: not on disk, not in memory (two identical requests in flight share one
render, nothing more). Only texts fixed in the dialplan reach the disk, under a keyed name
(HMAC-SHA256 with the installation's `secret`): the old unsalted SHA-256 of the text gave a
4-digit value back in a few thousand guesses. Files are owner-only (0600, directories 0700)
whatever the umask. Files of the old layout (``<sha256>.wav`` directly in `cache_dir`, which
may hold read-backs of older versions) are deleted when the cache starts.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
import re
import tempfile
import threading
import wave
from collections import OrderedDict
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from audio_models.frames import SAMPLE_WIDTH, AudioFrame
from audio_models.languages import language_key
from audio_models.resample import resample
from audio_models.tts import TTSRouter, engine_id, load_audio_file

_LOG = logging.getLogger(__name__)

CACHE_FORMAT = 1  # bump when rendering changes in a way the key does not capture
DISK_BACKED_MEMORY = 2 << 20  # bytes of audio kept in memory when files back the rest
MEMORY_ONLY = 64 << 20  # without a disk cache
KEYED_DIR = "keyed"  # the files named by HMAC, inside `cache_dir`
_OLD_LAYOUT = re.compile(r"(?:[0-9a-f]{64}\.wav|\.[0-9a-f]{16}\..*\.tmp)")  # unsalted names


@dataclass(slots=True)
class CacheStats:
    memory_hits: int = 0
    disk_hits: int = 0
    misses: int = 0  # rendered by an engine or read from a prompt file


class PromptCache:
    """Prompts for one output rate. Thread-safe; `get` / `get_file` are the async faces.

    Memory is bounded by `max_memory_bytes` (least recently used entries are dropped; disk
    copies stay); by default `DISK_BACKED_MEMORY` with a disk cache, else `MEMORY_ONLY`.
    A disk cache needs `secret` (at least 16 bytes, kept by the caller: the same secret
    names the same files after a restart).
    """

    def __init__(
        self,
        router: TTSRouter,
        target_rate: int,
        cache_dir: Path | None = None,
        *,
        secret: bytes | None = None,
        max_workers: int = 1,
        max_memory_bytes: int | None = None,
    ) -> None:
        if target_rate <= 0:
            raise ValueError(f"target_rate must be positive, got {target_rate}")
        if cache_dir is not None and (secret is None or len(secret) < 16):
            raise ValueError("a disk prompt cache needs a secret of at least 16 bytes")
        self.router = router
        self.target_rate = target_rate
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self._secret = secret or b""
        self._files = self.cache_dir / KEYED_DIR if self.cache_dir is not None else None
        if self.cache_dir is not None and self._files is not None:
            _private_dir(self.cache_dir)
            _private_dir(self._files)
            removed = remove_old_layout(self.cache_dir)
            if removed:
                _LOG.info("prompt cache: %d file(s) of the unsalted layout removed", removed)
        self.stats = CacheStats()
        self._mem: OrderedDict[object, AudioFrame] = OrderedDict()
        self._mem_bytes = 0
        if max_memory_bytes is None:
            max_memory_bytes = MEMORY_ONLY if self.cache_dir is None else DISK_BACKED_MEMORY
        self._max_bytes = max_memory_bytes
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers, thread_name_prefix="prompt-cache")
        self._private_renders: dict[tuple[str, str], Future[AudioFrame]] = {}

    # ------------------------------------------------------------ keys
    def key(self, text: str, language: str) -> str:
        """Cache key: HMAC-SHA256 under the secret of engine/voice id, language, text, rate and
        format version; without the secret a file name says nothing about its text."""
        lang = language_key(language)
        engine = self.router.engine_for(lang)
        blob = json.dumps([CACHE_FORMAT, engine_id(engine), lang, text, self.target_rate])
        return hmac.new(self._secret, blob.encode("utf-8"), hashlib.sha256).hexdigest()

    # ------------------------------------------------------------ sync API
    def lookup(self, text: str, language: str) -> AudioFrame | None:
        """The prompt if it is in memory, else None (never renders or reads disk)."""
        return self._mem_get(("tts", text, language))

    def get_sync(self, text: str, language: str, *, private: bool = False) -> AudioFrame:
        """The prompt at `target_rate`: memory, else disk, else rendered and stored. Blocking.

        `private`: a copy already stored (the same text fixed in the dialplan) is used, but a
        render is returned to the caller only, never written to disk or memory."""
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
            frame = self._render(text, language)
            if private:
                return frame
            self._disk_write(key, frame)
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
    async def get(self, text: str, language: str, *, private: bool = False) -> AudioFrame:
        """`get_sync` off the loop; a memory hit returns without touching the executor.

        A private prompt asked again while its render runs (the reply after its pre-render)
        waits for that render instead of starting another; the render is dropped once done."""
        frame = self._mem_get(("tts", text, language))
        if frame is not None:
            return frame
        if self._files is not None:  # a file read, not queued behind a render in the executor
            frame = await asyncio.to_thread(self._stored, text, language)
            if frame is not None:
                return frame
        if not private:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, self.get_sync, text, language)
        key = (text, language)
        with self._lock:
            render = self._private_renders.get(key)
            started = render is None
            if render is None:
                render = self._executor.submit(self.get_sync, text, language, private=True)
                self._private_renders[key] = render
        if started:  # outside the lock: a render already done runs the callback right here
            render.add_done_callback(lambda f: self._private_done(key, f))
        waiter = asyncio.wrap_future(render)
        waiter.add_done_callback(_retrieved)  # a caller that gave up leaves no warning behind
        # shielded: one caller giving up (a cancelled pre-render) leaves the other's render
        return await asyncio.shield(waiter)

    async def get_file(self, path: Path | str) -> AudioFrame:
        """`get_file_sync` off the loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self.get_file_sync, path)

    def close(self) -> None:
        """Wait for renders in progress and stop the executor."""
        self._executor.shutdown(wait=True, cancel_futures=True)

    # ------------------------------------------------------------ internals
    def _stored(self, text: str, language: str) -> AudioFrame | None:
        """The prompt from its disk file (kept in memory too), or None."""
        frame = self._disk_read(self.key(text, language))
        if frame is None:
            return None
        with self._lock:
            self.stats.disk_hits += 1
        self._mem_put(("tts", text, language), frame)
        return frame

    def _render(self, text: str, language: str) -> AudioFrame:
        rendered = self.router.synthesize_sync(text, language)
        frame = resample(rendered, self.target_rate)
        with self._lock:
            self.stats.misses += 1
        return AudioFrame(frame.pcm, frame.sample_rate)  # cached frames carry no timestamp

    def _private_done(self, key: tuple[str, str], render: Future[AudioFrame]) -> None:
        with self._lock:
            if self._private_renders.get(key) is render:
                del self._private_renders[key]

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
        return self._files / f"{key}.wav" if self._files is not None else None

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
            os.chmod(tmp, 0o600)  # mkstemp's mode already; said here because it matters
            os.replace(tmp, path)
        except OSError as exc:  # a cache that cannot write still serves from memory
            _LOG.warning("cannot write prompt cache file %s: %s", path, exc)
            Path(tmp).unlink(missing_ok=True)


def remove_old_layout(cache_dir: Path) -> int:
    """Delete the files of versions that named prompts by the unsalted SHA-256 of their text
    (``<sha256>.wav`` and their temporary files, directly in `cache_dir`): they may hold
    read-backs of personal data and are never read again. Returns how many were deleted.

    Only names of that layout go, so a `cache_dir` shared with anything else loses nothing.
    """
    removed = 0
    try:
        entries = list(os.scandir(cache_dir))
    except OSError:
        return 0
    for entry in entries:
        if _OLD_LAYOUT.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
            try:
                os.unlink(entry.path)
                removed += 1
            except FileNotFoundError:
                continue  # another process starting at the same time took it
            except OSError as exc:
                _LOG.warning("cannot delete old prompt cache file %s: %s", entry.path, exc)
    return removed


def _retrieved(waiter: asyncio.Future[AudioFrame]) -> None:
    if not waiter.cancelled():
        waiter.exception()


def _private_dir(path: Path) -> None:
    """`path` as a directory only its owner can read (0700 whatever the umask)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.chmod(path, 0o700)
    except OSError as exc:  # not ours (a shared mount): say so, keep working
        _LOG.warning("cannot make %s private: %s", path, exc)
