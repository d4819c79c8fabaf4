"""Holes in what the caller heard: audio gaps in baresip's recording of a call.

baresip records the decoded audio of each call. A *gap* is a run of at least `min_gap_ms`
(40 ms) of digital silence (every sample within `threshold`, i.e. at most one mu-law step
around zero) that has non-silent audio on both sides within `max_gap_ms` (300 ms): a hole
inside a prompt, not the silence between prompts or while the caller speaks. A TTS voice can
itself produce such runs (a pause between words rendered as exact zeros), so the figure is
only meaningful against the same measurement on an idle system (the M=1 point of a sweep):
gaps that appear only under load are starvation (a frame the IVR did not have ready) or lost
RTP packets.
"""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Gap:
    start_s: float
    duration_ms: float


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """Mono 16-bit PCM samples (first channel) and the sample rate."""
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2:
            raise ValueError(f"{path}: {8 * w.getsampwidth()}-bit, expected 16-bit PCM")
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        channels, rate = w.getnchannels(), w.getframerate()
    return data[::channels].astype(np.int32), rate


def silence_runs(samples: np.ndarray, threshold: int) -> list[tuple[int, int]]:
    """(start, end) sample indices of maximal runs with |x| <= threshold."""
    quiet = np.abs(samples) <= threshold
    if not quiet.size:
        return []
    edges = np.diff(np.concatenate(([0], quiet.astype(np.int8), [0])))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(),
                    strict=True))


def find_gaps(samples: np.ndarray, rate: int, *, threshold: int = 8, min_gap_ms: float = 40.0,
              max_gap_ms: float = 300.0) -> list[Gap]:
    """Runs of digital silence of min_gap_ms..max_gap_ms with audio on both sides."""
    gaps = []
    for start, end in silence_runs(samples, threshold):
        if start == 0 or end == len(samples):
            continue  # leading / trailing silence: not between audio
        ms = (end - start) * 1000 / rate
        if min_gap_ms <= ms <= max_gap_ms:
            gaps.append(Gap(start / rate, ms))
    return gaps


def audible_seconds(samples: np.ndarray, rate: int, threshold: int = 8,
                    max_gap_ms: float = 300.0) -> float:
    """Seconds of prompt audio heard: everything except silence runs longer than max_gap_ms
    (the silence between prompts), so gaps per minute can be compared between runs."""
    long_quiet = sum(end - start for start, end in silence_runs(samples, threshold)
                     if (end - start) * 1000 / rate > max_gap_ms)
    return (len(samples) - long_quiet) / rate
