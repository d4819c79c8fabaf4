"""Per-caller normalisation of emotion features.

Prosody is mostly *who* is speaking (a high voice, a fast talker, a quiet line); emotion is
how a turn differs from that person's usual. The model is trained on features z-scored per
speaker, and `SpeakerBaseline` gives the same z-scores at run time from the caller's
earlier turns, starting from population statistics when there are none yet:

    w_mean = n / (n + k)                       n = caller turns seen, k = prior_turns
    w_var  = (n - 1) / (n - 1 + k)             (0 for n <= 1: one turn has no spread)
    mean   = (1 - w_mean) * pop_mean + w_mean * caller_mean
    var    = (1 - w_var) * (within_var + (1 - w_mean) * between_var) + w_var * caller_var
    z      = (x - mean) / sqrt(max(var, min_var))

On the first turn this is a z-score against the population of calm speakers of the
caller's language (between-speaker plus within-speaker spread, since the caller's own level
is unknown; `EmotionModel.prior_for`); as turns accumulate the mean becomes the caller's own,
usually calm, level. Training z-scores each speaker against their own neutral clips
(`neutral_zscores`) and against the prior, so 0 means "as calm as usual" in both.
`min_var` (a fraction of the population's within-speaker variance) stops a caller with
almost no spread in a feature from producing huge z-scores.

One `SpeakerBaseline` per call. Not thread-safe: use it from the call's own task.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

MIN_VAR_FRACTION = 0.05  # min_var = this fraction of the within-speaker variance
DEFAULT_PRIOR_TURNS = 3.0


@dataclass(frozen=True)
class PopulationStats:
    """Feature statistics of the training speakers (float64 arrays of one length)."""

    mean: np.ndarray  # mean of the per-speaker means
    within_var: np.ndarray  # mean of the per-speaker variances (ddof=1)
    between_var: np.ndarray  # variance of the per-speaker means (ddof=0)
    min_var: np.ndarray  # floor of any variance used to normalise

    def __post_init__(self) -> None:
        shapes = {np.shape(a) for a in (self.mean, self.within_var, self.between_var, self.min_var)}
        if len(shapes) != 1 or len(next(iter(shapes))) != 1:
            raise ValueError(f"population statistics need 1-D arrays of one length, got {shapes}")
        if not all(np.all(np.isfinite(a)) for a in (self.mean, self.within_var,
                                                     self.between_var, self.min_var)):
            raise ValueError("population statistics contain NaN or infinity")
        if np.any(self.min_var <= 0):
            raise ValueError("min_var must be positive")

    @property
    def size(self) -> int:
        return int(self.mean.shape[0])

    @property
    def total_var(self) -> np.ndarray:
        return self.within_var + self.between_var

    @classmethod
    def from_speakers(cls, features: np.ndarray, speakers: Iterable[str]) -> PopulationStats:
        """Statistics of `features` [n, F] grouped by speaker (each needs >= 2 rows)."""
        x = np.asarray(features, dtype=np.float64)
        spk = np.asarray(list(speakers))
        means, variances = [], []
        for s in sorted(set(spk.tolist())):
            rows = x[spk == s]
            if rows.shape[0] < 2:
                raise ValueError(f"speaker {s!r} has fewer than 2 clips")
            means.append(rows.mean(axis=0))
            variances.append(rows.var(axis=0, ddof=1))
        m = np.array(means)
        within = np.mean(variances, axis=0)
        min_var = np.maximum(MIN_VAR_FRACTION * within, 1e-12)
        return cls(m.mean(axis=0), within, m.var(axis=0), min_var)

    def to_json(self) -> dict[str, list[float]]:
        return {
            "mean": [float(v) for v in self.mean],
            "within_var": [float(v) for v in self.within_var],
            "between_var": [float(v) for v in self.between_var],
            "min_var": [float(v) for v in self.min_var],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PopulationStats:
        return cls(*(np.asarray(data[k], dtype=np.float64)
                     for k in ("mean", "within_var", "between_var", "min_var")))


def speaker_zscores(
    features: np.ndarray, speakers: Iterable[str], stats: PopulationStats
) -> np.ndarray:
    """Training-time normalisation: each speaker's rows z-scored by that speaker's own mean
    and variance (ddof=1, floored at `stats.min_var`). Equals a `SpeakerBaseline` with
    `prior_turns=0` that has seen all of the speaker's rows."""
    x = np.asarray(features, dtype=np.float64)
    spk = np.asarray(list(speakers))
    z = np.empty_like(x)
    for s in set(spk.tolist()):
        sel = spk == s
        rows = x[sel]
        var = rows.var(axis=0, ddof=1) if rows.shape[0] > 1 else np.zeros(x.shape[1])
        z[sel] = (rows - rows.mean(axis=0)) / np.sqrt(np.maximum(var, stats.min_var))
    return z.astype(np.float32)


def neutral_zscores(
    features: np.ndarray, speakers: Iterable[str], reference: np.ndarray, stats: PopulationStats
) -> np.ndarray:
    """Training-time normalisation against calm speech: each speaker's rows minus the mean of
    that speaker's `reference` (neutral) rows, over the pooled within-speaker spread of
    `stats` (floored at `stats.min_var`). What a `SpeakerBaseline` gives once it has seen
    many calm turns of a caller, so a calm turn comes out near 0 at run time as in training."""
    x = np.asarray(features, dtype=np.float64)
    spk = np.asarray(list(speakers))
    ref = np.asarray(reference, dtype=bool)
    sd = np.sqrt(np.maximum(stats.within_var, stats.min_var))
    z = np.empty_like(x)
    for s in set(spk.tolist()):
        sel = spk == s
        if not np.any(sel & ref):
            raise ValueError(f"speaker {s!r} has no reference (neutral) rows")
        z[sel] = (x[sel] - x[sel & ref].mean(axis=0)) / sd
    return z.astype(np.float32)


class SpeakerBaseline:
    """Running statistics of one caller's turns, blended with the population prior."""

    def __init__(self, stats: PopulationStats, prior_turns: float = DEFAULT_PRIOR_TURNS) -> None:
        if prior_turns < 0:
            raise ValueError(f"prior_turns must be >= 0, got {prior_turns}")
        self.stats = stats
        self.prior_turns = float(prior_turns)
        self.reset()

    def use_prior(self, stats: PopulationStats) -> None:
        """Switch the population prior (the call's language became known); the caller's
        turns seen so far are kept."""
        if stats.size != self.stats.size:
            raise ValueError(f"prior has {stats.size} features, expected {self.stats.size}")
        self.stats = stats

    def reset(self) -> None:
        """Forget the caller's turns (back to the population prior)."""
        self._n = 0
        self._mean = np.zeros(self.stats.size)
        self._m2 = np.zeros(self.stats.size)

    @property
    def turns(self) -> int:
        """Number of turns given to `update`."""
        return self._n

    @property
    def weights(self) -> tuple[float, float]:
        """(w_mean, w_var): the weight of the caller's own mean and variance (see module doc)."""
        n, k = self._n, self.prior_turns
        w_mean = n / (n + k) if n + k > 0 else 0.0
        nv = max(n - 1, 0)
        w_var = nv / (nv + k) if nv + k > 0 else 0.0
        return w_mean, w_var

    @property
    def caller_mean(self) -> np.ndarray:
        return self._mean.copy()

    @property
    def caller_var(self) -> np.ndarray:
        """Sample variance (ddof=1) of the caller's turns; zeros below two turns."""
        return self._m2 / (self._n - 1) if self._n > 1 else np.zeros(self.stats.size)

    def mean_var(self) -> tuple[np.ndarray, np.ndarray]:
        """The blended mean and variance `normalise` uses now."""
        s = self.stats
        w_mean, w_var = self.weights
        mean = (1 - w_mean) * s.mean + w_mean * self._mean
        prior_var = s.within_var + (1 - w_mean) * s.between_var
        var = (1 - w_var) * prior_var + w_var * self.caller_var
        return mean, np.maximum(var, s.min_var)

    def normalise(self, features: np.ndarray) -> np.ndarray:
        """z-scores of one feature vector (or rows [n, F]) against the current baseline."""
        x = self._check(features)
        mean, var = self.mean_var()
        return ((x - mean) / np.sqrt(var)).astype(np.float32)

    def update(self, features: np.ndarray) -> None:
        """Add one turn's feature vector to the caller's statistics (Welford)."""
        x = self._check(features)
        if x.ndim != 1:
            raise ValueError("update takes one feature vector")
        self._n += 1
        delta = x - self._mean
        self._mean += delta / self._n
        self._m2 += delta * (x - self._mean)

    def _check(self, features: np.ndarray) -> np.ndarray:
        x = np.asarray(features, dtype=np.float64)
        if x.shape[-1] != self.stats.size:
            raise ValueError(f"expected {self.stats.size} features, got shape {x.shape}")
        if not np.all(np.isfinite(x)):
            raise ValueError("features contain NaN or infinity")
        return x
