"""Pure measurement helpers for `scripts/bench_vs_pipecat`, shared by both sides.

Numpy only (no `ivr` imports): the Pipecat side imports this module from its own virtual
environment, so "end of speech", "first reply audio" and the intent keyword match are computed
by the same code for our pipeline and for Pipecat.

- `speech_end_s`: where the last speech sample of a recording is (10 ms windows, energy above
  max(-45 dBFS, peak - 35 dB)).
- `first_sound_s`: the first non-silent sample at or after a time (a 10 ms window above
  -45 dBFS, then the first sample in it above that level).
- `percentile`, `summary`, `ratio`: the figures printed.
- `keyword_intent`: the Pipecat side's stand-in for an NLU: the intent whose keyword (from our
  dialplan) occurs in the transcript (plural/possessive endings allowed), longest first.
  Chinese has no spaces between words: a keyword written in Han characters matches anywhere in
  the transcript (spaces and punctuation ignored), as the news desk's clips were chosen.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

import numpy as np

WINDOW_S = 0.010
SILENCE_DBFS = -45.0
BELOW_PEAK_DB = 35.0


def as_float(samples: np.ndarray) -> np.ndarray:
    """Mono float32 in [-1, 1] from int16 or float samples (channels averaged)."""
    x = np.asarray(samples)
    if x.dtype == np.int16:
        x = x.astype(np.float32) / 32768.0
    x = x.astype(np.float32, copy=False)
    return x.mean(axis=1) if x.ndim == 2 else x


def window_levels(samples: np.ndarray, rate: int, window_s: float = WINDOW_S) -> np.ndarray:
    """RMS level in dBFS of each whole `window_s` window (a partial last window is dropped)."""
    x = as_float(samples)
    n = max(1, int(round(rate * window_s)))
    count = len(x) // n
    if count == 0:
        return np.zeros(0, dtype=np.float32)
    frames = x[: count * n].reshape(count, n).astype(np.float64)
    rms = np.sqrt(np.mean(frames * frames, axis=1))
    return (20.0 * np.log10(np.maximum(rms, 1e-10))).astype(np.float32)


def speech_end_s(samples: np.ndarray, rate: int, floor_db: float = SILENCE_DBFS,
                 below_peak_db: float = BELOW_PEAK_DB) -> float:
    """Seconds from the start of the recording to the end of its last speech window.

    Raises ValueError if nothing in the recording is above the threshold."""
    levels = window_levels(samples, rate)
    if len(levels) == 0:
        raise ValueError("recording is shorter than one window")
    threshold = max(floor_db, float(levels.max()) - below_peak_db)
    loud = np.nonzero(levels > threshold)[0]
    if len(loud) == 0:
        raise ValueError("no speech in recording")
    return (int(loud[-1]) + 1) * WINDOW_S


def first_sound_s(samples: np.ndarray, rate: int, after_s: float = 0.0,
                  threshold_db: float = SILENCE_DBFS) -> float | None:
    """Seconds from the start to the first non-silent sample at or after `after_s` (None if
    the rest is silent): the first 10 ms window above `threshold_db`, then the first sample in
    that window whose magnitude reaches the same level."""
    x = as_float(samples)
    start = max(0, int(after_s * rate))
    n = max(1, int(round(rate * WINDOW_S)))
    levels = window_levels(x[start:], rate)
    loud = np.nonzero(levels > threshold_db)[0]
    if len(loud) == 0:
        return None
    w0 = start + int(loud[0]) * n
    amp = 10.0 ** (threshold_db / 20.0)
    hits = np.nonzero(np.abs(x[w0 : w0 + n]) >= amp)[0]
    return (w0 + (int(hits[0]) if len(hits) else 0)) / rate


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default method), q in [0, 100]."""
    if not values:
        raise ValueError("no values")
    xs = sorted(float(v) for v in values)
    pos = (len(xs) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def summary(values: Sequence[float]) -> dict[str, float]:
    """n, median, p95, min, max."""
    return {"n": float(len(values)), "median": percentile(values, 50),
            "p95": percentile(values, 95), "min": min(values), "max": max(values)}


def ratio(theirs: float, ours: float) -> float:
    """How many times faster ours is (theirs / ours); inf if ours is 0."""
    return math.inf if ours <= 0 else theirs / ours


_NON_WORD = re.compile(r"[^\w']+")
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def normalise(text: str) -> str:
    """Lower case, punctuation to spaces, single spaces."""
    return " ".join(_NON_WORD.sub(" ", text.lower()).split())


def _phrase_in(words: Sequence[str], phrase: Sequence[str]) -> bool:
    """`phrase` occurs as consecutive words, each word allowed a suffix of up to 2 letters
    ("representatives", "bills", "agent's")."""
    n = len(phrase)
    return any(all(w.startswith(k) and len(w) - len(k) <= 2 for w, k in
                   zip(words[i : i + n], phrase, strict=True))
               for i in range(len(words) - n + 1))


def keyword_intent(text: str, keywords: Mapping[str, Sequence[str]]) -> str | None:
    """The intent one of whose keywords occurs in `text` (whole words, plural or possessive
    endings allowed; a keyword in Han characters anywhere); the longest matching keyword wins,
    ties go to the earlier intent. None if nothing matches."""
    words = normalise(text).split()
    joined = "".join(words)
    best: tuple[int, str] | None = None
    for intent, kws in keywords.items():
        for kw in kws:
            k = normalise(kw)
            found = ("".join(k.split()) in joined if _HAN.search(k)
                     else _phrase_in(words, k.split()))
            if k and found and (best is None or len(k) > best[0]):
                best = (len(k), intent)
    return best[1] if best else None
