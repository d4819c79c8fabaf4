"""Sample-rate conversion at the edges of the system (soxr).

One `Resampler` per call and direction keeps the filter state between frames, so a stream of
20 ms frames converts without clicks at frame boundaries. `resample` converts a whole clip
(prompts, utterances) in one go.
"""

from __future__ import annotations

import numpy as np
import soxr

from audio_models.frames import AudioFrame


class Resampler:
    """Streaming converter from `in_rate` to `out_rate` for one direction of one call.

    Frames must all be at `in_rate`; a frame at another rate raises ValueError (the caller
    should drop it and keep the call). Output chunk lengths vary slightly at the start because
    of the filter delay (a few ms); call `flush` at the end of the stream for the tail.
    """

    def __init__(self, in_rate: int, out_rate: int, quality: str = "HQ") -> None:
        if in_rate <= 0 or out_rate <= 0:
            raise ValueError(f"sample rates must be positive, got {in_rate} -> {out_rate}")
        self.in_rate = in_rate
        self.out_rate = out_rate
        self.quality = quality
        self._stream: soxr.ResampleStream | None = None
        self._last_end = 0.0
        self.reset()

    @property
    def passthrough(self) -> bool:
        """True when input and output rates are equal (frames pass unchanged)."""
        return self.in_rate == self.out_rate

    def reset(self) -> None:
        """Forget the filter state (e.g. after a gap in the stream)."""
        self._stream = (
            None
            if self.passthrough
            else soxr.ResampleStream(
                self.in_rate, self.out_rate, 1, dtype="int16", quality=self.quality
            )
        )
        self._last_end = 0.0

    def process(self, frame: AudioFrame) -> AudioFrame:
        """Convert one frame. The result's timestamp is placed so it ends where the input ends."""
        if frame.sample_rate != self.in_rate:
            raise ValueError(
                f"frame at {frame.sample_rate} Hz given to a {self.in_rate} Hz resampler"
            )
        end = frame.timestamp + frame.duration
        self._last_end = end
        if self._stream is None:
            return frame
        samples = np.frombuffer(frame.pcm, dtype="<i2")
        out = self._stream.resample_chunk(samples, last=False)
        return AudioFrame(
            out.astype("<i2", copy=False).tobytes(), self.out_rate, end - len(out) / self.out_rate
        )

    def flush(self) -> AudioFrame:
        """Return the samples still held in the filter (end of stream) and reset."""
        if self._stream is None:
            return AudioFrame(b"", self.out_rate, self._last_end)
        out = self._stream.resample_chunk(np.zeros(0, dtype=np.int16), last=True)
        frame = AudioFrame(out.astype("<i2", copy=False).tobytes(), self.out_rate, self._last_end)
        self.reset()
        return frame


def resample(frame: AudioFrame, rate: int, quality: str = "HQ") -> AudioFrame:
    """Convert a whole clip to `rate` in one call; returns `frame` itself when already there."""
    if rate <= 0:
        raise ValueError(f"sample rate must be positive, got {rate}")
    if frame.sample_rate == rate:
        return frame
    if not frame.pcm:
        return AudioFrame(b"", rate, frame.timestamp)
    samples = np.frombuffer(frame.pcm, dtype="<i2")
    out = soxr.resample(samples, frame.sample_rate, rate, quality=quality)
    return AudioFrame(np.asarray(out, dtype="<i2").tobytes(), rate, frame.timestamp)


def to_float32(frame: AudioFrame, rate: int) -> np.ndarray:
    """Samples of `frame` at `rate` as float32 in [-1, 1), resampling in float (no clipping)."""
    samples = frame.to_float32()
    if frame.sample_rate == rate or samples.size == 0:
        return samples
    return np.asarray(soxr.resample(samples, frame.sample_rate, rate), dtype=np.float32)
