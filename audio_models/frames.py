"""The one audio frame type that crosses every boundary.

Every frame carries its own sample rate. PCM is always signed 16-bit little-endian mono.
Resampling happens only at the edges (see `audio_models.resample`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SAMPLE_WIDTH = 2  # bytes per sample, signed 16-bit little endian


@dataclass(frozen=True, slots=True)
class AudioFrame:
    """A chunk of mono 16-bit PCM audio.

    `timestamp` is the `time.monotonic()` value of the frame's first sample as seen by the
    producer (for caller audio: when the media clock delivered it).
    """

    pcm: bytes
    sample_rate: int
    timestamp: float = 0.0

    def __post_init__(self) -> None:
        if self.sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, got {self.sample_rate}")
        if len(self.pcm) % SAMPLE_WIDTH:
            raise ValueError(f"pcm length {len(self.pcm)} is not a whole number of 16-bit samples")

    @property
    def samples(self) -> int:
        return len(self.pcm) // SAMPLE_WIDTH

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.samples / self.sample_rate

    def to_float32(self) -> np.ndarray:
        """Samples as float32 in [-1, 1)."""
        return np.frombuffer(self.pcm, dtype="<i2").astype(np.float32) / 32768.0

    @classmethod
    def from_float32(
        cls, samples: np.ndarray, sample_rate: int, timestamp: float = 0.0
    ) -> AudioFrame:
        clipped = np.clip(samples, -1.0, 32767 / 32768)
        return cls((clipped * 32768.0).astype("<i2").tobytes(), sample_rate, timestamp)

    @classmethod
    def silence(cls, duration: float, sample_rate: int, timestamp: float = 0.0) -> AudioFrame:
        return cls(bytes(int(round(duration * sample_rate)) * SAMPLE_WIDTH), sample_rate, timestamp)


def split_frames(audio: AudioFrame, frame_ms: int = 20) -> list[AudioFrame]:
    """Cut `audio` into frames of exactly `frame_ms`, zero-padding the last one."""
    step = audio.sample_rate * frame_ms // 1000 * SAMPLE_WIDTH
    pcm = audio.pcm
    if len(pcm) % step:
        pcm = pcm + bytes(step - len(pcm) % step)
    dt = frame_ms / 1000
    return [
        AudioFrame(pcm[i : i + step], audio.sample_rate, audio.timestamp + n * dt)
        for n, i in enumerate(range(0, len(pcm), step))
    ]


def concat(frames: list[AudioFrame]) -> AudioFrame:
    """Join frames of one sample rate; raises ValueError on mixed rates."""
    if not frames:
        raise ValueError("concat needs at least one frame")
    rate = frames[0].sample_rate
    for f in frames:
        if f.sample_rate != rate:
            raise ValueError(f"cannot join frames of {rate} Hz and {f.sample_rate} Hz")
    return AudioFrame(b"".join(f.pcm for f in frames), rate, frames[0].timestamp)
