"""Stereo call recording: caller on the left channel, IVR/agent on the right.

Both channels are fed 20 ms at a time by the same media clock, so they stay aligned; the
writer interleaves what both channels have and keeps the remainder. `wave.writeframes`
rewrites the header on every write, so a crash loses at most the unflushed tail.

Encrypted at rest (issue 8): with a recording key (the `key` argument, or the process-wide key
the service sets with `set_recording_key` at start-up), the file is ``<name>.wav.enc``, an
AES-256-GCM container (`ivr.privacy.crypto`) sealed about once a second; nothing is written in
plaintext, and a crash loses at most the last unsealed second.
"""

from __future__ import annotations

import wave
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ivr.privacy.crypto import EncryptedWavWriter, encrypted_path

_process_key: bytes | None = None
_UNSET: Any = object()


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


class CallRecorder:
    def __init__(self, path: Path, sample_rate: int, key: bytes | None = _UNSET) -> None:
        key = _process_key if key is _UNSET else key
        self.path = recording_file(path, key)
        self.sample_rate = sample_rate
        self.encrypted = bool(key)
        self._wav = open_writer(self.path, 2, sample_rate, key)
        self._left = bytearray()
        self._right = bytearray()
        self.paused = False  # while True, both channels are written as silence
        self.closed = False

    def add_caller(self, pcm: bytes) -> None:
        self._left += bytes(len(pcm)) if self.paused else pcm

    def add_ivr(self, pcm: bytes) -> None:
        self._right += bytes(len(pcm)) if self.paused else pcm

    def flush(self) -> None:
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
