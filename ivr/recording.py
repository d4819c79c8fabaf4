"""Stereo call recording: caller on the left channel, IVR/agent on the right.

Both channels are fed 20 ms at a time by the same media clock, so they stay aligned; the
writer interleaves what both channels have and keeps the remainder. `wave.writeframes`
rewrites the header on every write, so a crash loses at most the unflushed tail.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np


class CallRecorder:
    def __init__(self, path: Path, sample_rate: int) -> None:
        self.path = path
        self.sample_rate = sample_rate
        path.parent.mkdir(parents=True, exist_ok=True)
        self._wav = wave.open(str(path), "wb")  # noqa: SIM115 - closed in close()
        self._wav.setnchannels(2)
        self._wav.setsampwidth(2)
        self._wav.setframerate(sample_rate)
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
