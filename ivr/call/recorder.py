"""Stereo call recording: caller on the left channel, IVR/agent on the right.

Both channels are fed 20 ms at a time by the same media clock, so they stay aligned; the
writer interleaves what both channels have and keeps the remainder. A call's recording is
written about once a second (`CallRecorder.buffered_seconds`, `ivr.call.recording`), not per
20 ms frame: each `wave.writeframes` also rewrites the header (two seeks and writes), which
per frame cost more CPU than the rest of the recording. So a crash loses at most the last
second (two when encrypted: the writer below seals about once a second).

Encrypted at rest (issue 8): with a recording key (the `key` argument, or the process-wide key
the service sets with `set_recording_key` at start-up), the file is ``<name>.wav.enc``, an
AES-256-GCM container (`ivr.privacy.crypto`) sealed about once a second; nothing is written in
plaintext, and a crash loses at most the last unsealed second.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ivr.privacy.crypto import EncryptedWavWriter, encrypted_path

log = logging.getLogger("ivr.recording")

_process_key: bytes | None = None
_UNSET: Any = object()
_failures_lock = threading.Lock()
_failures: dict[str, Any] = {"count": 0, "last_error": None, "last_path": None, "at": None}


class PcmWriter(Protocol):
    """What the recorders need of a WAV writer (plain `wave` or encrypted)."""

    def writeframes(self, data: bytes) -> None: ...
    def getnframes(self) -> int: ...
    def close(self) -> None: ...


def set_recording_key(key: bytes | None) -> None:
    """The key every recorder of this process encrypts with (None: plain WAV)."""
    global _process_key
    _process_key = key


def recording_key() -> bytes | None:
    """The process-wide recording key, if one is set."""
    return _process_key


def recording_file(path: Path, key: bytes | None = _UNSET) -> Path:
    """The name a recording planned as `path` (``x.wav``) gets: ``x.wav.enc`` under a key."""
    key = _process_key if key is _UNSET else key
    return encrypted_path(path) if key else path


def open_writer(path: Path, channels: int, rate: int, key: bytes | None = _UNSET) -> PcmWriter:
    """A 16-bit PCM writer at `path` (created with its parent): encrypted when there is a key
    (pass the path from `recording_file`), a plain WAV otherwise."""
    key = _process_key if key is _UNSET else key
    path.parent.mkdir(parents=True, exist_ok=True)
    if key:
        return EncryptedWavWriter(encrypted_path(path), key, channels, 2, rate)
    wav = wave.open(str(path), "wb")  # noqa: SIM115 - the caller closes it
    wav.setnchannels(channels)
    wav.setsampwidth(2)
    wav.setframerate(rate)
    return wav


def write_failures() -> dict[str, Any]:
    """Recording write failures of this process so far (for /api/health): how many, the last
    error and path, and when (UNIX time)."""
    with _failures_lock:
        return dict(_failures)


def _report_failure(path: Path, exc: OSError) -> str:
    error = f"{type(exc).__name__}: {exc.strerror or exc}"
    log.error("recording %s cannot be written (%s): the call goes on without it", path, error)
    with _failures_lock:
        _failures.update(count=_failures["count"] + 1, last_error=error, last_path=str(path),
                         at=time.time())
    return error


class SafeWriter:
    """A `PcmWriter` whose failures (disk full, permissions, a vanished directory) are logged
    once with the path and then swallowed: a recording that cannot be written must never
    stop the call's audio loop, so the caller is still heard and the call still ends cleanly.
    `error` says what went wrong (None while it works); `on_error` is told once."""

    def __init__(self, path: Path, channels: int, rate: int, key: bytes | None = _UNSET,
                 on_error: Callable[[str], None] | None = None) -> None:
        self.path = path
        self.error: str | None = None
        self._on_error = on_error
        self._frames = 0
        self._wav: PcmWriter | None = None
        try:
            self._wav = open_writer(path, channels, rate, key)
        except OSError as exc:
            self._fail(exc)

    def _fail(self, exc: OSError) -> None:
        if self.error is not None:
            return
        self.error = _report_failure(self.path, exc)
        wav, self._wav = self._wav, None
        if wav is not None:
            with contextlib.suppress(OSError, ValueError):
                wav.close()  # keeps what was written before the failure, if it can
        if self._on_error is not None:
            self._on_error(self.error)

    def writeframes(self, data: bytes) -> None:
        if self._wav is None:
            return
        try:
            self._wav.writeframes(data)
            self._frames = self._wav.getnframes()
        except OSError as exc:
            self._fail(exc)

    def getnframes(self) -> int:
        return self._frames

    def close(self) -> None:
        wav, self._wav = self._wav, None
        if wav is None:
            return
        try:
            wav.close()
        except OSError as exc:
            self._wav = wav
            self._fail(exc)


class CallRecorder:
    def __init__(self, path: Path, sample_rate: int, key: bytes | None = _UNSET,
                 on_error: Callable[[str], None] | None = None) -> None:
        key = _process_key if key is _UNSET else key
        self.path = recording_file(path, key)
        self.sample_rate = sample_rate
        self.encrypted = bool(key)
        self._wav = SafeWriter(self.path, 2, sample_rate, key, on_error)
        self._left = bytearray()
        self._right = bytearray()
        self.paused = False  # while True, both channels are written as silence
        self.closed = False

    def add_caller(self, pcm: bytes) -> None:
        self._left += bytes(len(pcm)) if self.paused else pcm

    def add_ivr(self, pcm: bytes) -> None:
        self._right += bytes(len(pcm)) if self.paused else pcm

    @property
    def buffered_seconds(self) -> float:
        """Audio of both channels added but not yet written (`flush` writes it)."""
        return min(len(self._left), len(self._right)) / (2 * self.sample_rate)

    def flush(self) -> None:
        """Write what both channels have (the longer one's remainder waits)."""
        n = min(len(self._left), len(self._right)) // 2 * 2
        if n == 0 or self.closed:
            return
        stereo = np.empty((n // 2, 2), dtype="<i2")
        stereo[:, 0] = np.frombuffer(self._left[:n], dtype="<i2")
        stereo[:, 1] = np.frombuffer(self._right[:n], dtype="<i2")
        self._wav.writeframes(stereo.tobytes())
        del self._left[:n]
        del self._right[:n]

    @property
    def error(self) -> str | None:
        """Why the recording could not be written (None while it works)."""
        return self._wav.error

    @property
    def seconds(self) -> float:
        return self._wav.getnframes() / self.sample_rate if not self.closed else 0.0

    def close(self) -> None:
        if self.closed:
            return
        longest = max(len(self._left), len(self._right))
        self._left += bytes(longest - len(self._left))
        self._right += bytes(longest - len(self._right))
        self.flush()
        self._wav.close()
        self.closed = True
