"""Calm speech per language: the first-turn prior of the emotion model, and what it is
measured on.

A caller's first turn has no earlier turns to compare with, so it is z-scored against calm
speakers of the caller's language (`language_prior`). The model was trained on German acted
speech (EmoDB); Mandarin read news against German statistics looked "fearful" on every turn
(issue 18). Priors come from real neutral speech, split so that the figures in the model
card are not measured on the clips that made the prior:

- zh: AISHELL read news (asr_zh_aishell, one speaker S0150): the first half of the clips in
  path order calibrates, the second half evaluates (one speaker: split by file);
- en: LJ Speech (asr_en_misc, speaker LJ, 32 clips) calibrates; every other English speaker
  evaluates (the rest of asr_en_misc, the four FSDD digit speakers of asr_en_digits, and
  Allison's IVR prompts under /usr/share/asterisk/sounds/en_US_f_Allison when installed);
- de: EmoDB's neutral clips of the training speakers (the model's own corpus);
- "*": any other language falls back to the pooled prior of every calibrated language
  (wider, so an unknown voice reads as less unusual; see `pooled_prior`).

One speaker says nothing about how speakers differ, so a language's between-speaker spread is
at least EmoDB's (ten speakers, five female and five male). Real calm speech varies more
than EmoDB's acted neutral clips; `training.calibrated_priors` widens the zh and en priors by
one factor chosen on the calibration clips only.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from audio_models.emotion.baseline import PopulationStats
from audio_models.emotion.features import prosody_features, warm_up
from audio_models.frames import AudioFrame

ALLISON_DIR = Path("/usr/share/asterisk/sounds/en_US_f_Allison")
FALLBACK = "*"  # the prior key for a language without calm speech of its own


@dataclass(frozen=True)
class CalmSource:
    """Which clips of one folder calibrate and which evaluate."""

    language: str  # base language code ("zh", "en")
    folder: str  # under the shared data folder
    calibrates: Callable[[str, int, int], bool]  # (speaker, index of clip, clips) -> bool
    rule: str  # said in the model card


CALM_SOURCES: tuple[CalmSource, ...] = (
    CalmSource("zh", "asr_zh_aishell", lambda spk, i, n: i < n // 2,
               "first half of the clips (path order) calibrate, second half evaluate"),
    CalmSource("en", "asr_en_misc", lambda spk, i, n: spk == "LJ",
               "speaker LJ (LJ Speech) calibrates; the other speakers evaluate"),
    CalmSource("en", "asr_en_digits", lambda spk, i, n: False,
               "evaluation only (george, jackson, lucas, nicolas)"),
)


@dataclass
class CalmSet:
    """Features of calm clips of one language, for calibration or evaluation."""

    language: str
    name: str  # folder (and speaker set) for reports
    features: np.ndarray  # [n, F] float32
    speakers: list[str]
    paths: list[str]
    transcripts: list[str]
    durations: list[float] = field(default_factory=list)  # seconds of audio per clip


def _load(path: Path) -> AudioFrame:
    import soundfile as sf

    data, rate = sf.read(str(path), dtype="int16", always_2d=True)
    return AudioFrame(np.ascontiguousarray(data[:, 0]).tobytes(), rate)


def _calm_set(language: str, name: str, root: Path, rows: list[dict[str, str]]) -> CalmSet:
    frames = [_load(root / r["path"]) for r in rows]
    return CalmSet(language, name,
                   np.array([prosody_features(f) for f in frames], dtype=np.float32).reshape(
                       len(frames), -1),
                   [r["speaker"] for r in rows], [r["path"] for r in rows],
                   [r.get("transcript", "") for r in rows], [f.duration for f in frames])


def load_calm(data_dir: Path, *, allison: Path | None = ALLISON_DIR, evaluate: bool = True
              ) -> tuple[list[CalmSet], list[CalmSet]]:
    """(calibration sets, evaluation sets) from the shared data folder (and Allison's
    prompts, if installed). Folders that are absent are left out; `evaluate=False`: no
    evaluation sets (features of the calibration part only)."""
    warm_up()
    calibration: list[CalmSet] = []
    evaluation: list[CalmSet] = []
    for src in CALM_SOURCES:
        manifest = data_dir / src.folder / "manifest.csv"
        if not manifest.is_file():
            continue
        with open(manifest, encoding="utf-8", newline="") as f:
            rows = sorted(csv.DictReader(f), key=lambda r: r["path"])
        cal, ev = [], []
        for spk in sorted({r["speaker"] for r in rows}):
            mine = [r for r in rows if r["speaker"] == spk]
            for i, r in enumerate(mine):
                (cal if src.calibrates(spk, i, len(mine)) else ev).append(r)
        root = data_dir / src.folder
        if cal:
            calibration.append(_calm_set(src.language, src.folder, root, cal))
        if ev and evaluate:
            evaluation.append(_calm_set(src.language, src.folder, root, ev))
    if evaluate and allison is not None and allison.is_dir():
        paths = sorted(allison.glob("*.wav"))
        rows = [{"path": str(p), "speaker": "allison", "transcript": ""} for p in paths]
        if rows:
            evaluation.append(_calm_set("en", "allison_prompts", Path("/"), rows))
    return calibration, evaluation


def language_prior(features: np.ndarray, speakers: list[str], between_floor: np.ndarray
                   ) -> PopulationStats:
    """Calm-speech statistics of one language; between-speaker spread at least
    `between_floor` (one or two speakers cannot show how much speakers differ)."""
    st = PopulationStats.from_speakers(features, speakers)
    return PopulationStats(st.mean, st.within_var, np.maximum(st.between_var, between_floor),
                           st.min_var)


def language_priors(calibration: list[CalmSet], between_floor: np.ndarray
                    ) -> dict[str, PopulationStats]:
    """One prior per calibrated language, from its calm calibration clips."""
    priors = {}
    for lang in sorted({c.language for c in calibration}):
        sets = [c for c in calibration if c.language == lang]
        x = np.vstack([c.features for c in sets])
        spk = [f"{c.name}/{s}" for c in sets for s in c.speakers]
        priors[lang] = language_prior(x, spk, between_floor)
    return priors


def widened(stats: PopulationStats, factor: float) -> PopulationStats:
    """`stats` with every spread `factor` times wider (variances x factor**2)."""
    f2 = float(factor) ** 2
    return PopulationStats(stats.mean, stats.within_var * f2, stats.between_var * f2,
                           stats.min_var * f2)


def calls_of(c: CalmSet, turns: int) -> list[np.ndarray]:
    """Row indices of `c` as calls: `turns` consecutive clips of one speaker (path order; a
    speaker's last call may be shorter)."""
    spk = np.asarray(c.speakers)
    out = []
    for s in sorted(set(c.speakers)):
        idx = np.flatnonzero(spk == s)
        out.extend(idx[a:a + turns] for a in range(0, len(idx), turns))
    return out


def pooled_prior(priors: list[PopulationStats]) -> PopulationStats:
    """The fallback: the mean of the languages' priors, with how far their means differ
    added to the between-speaker spread."""
    means = np.array([p.mean for p in priors])
    return PopulationStats(
        means.mean(axis=0),
        np.mean([p.within_var for p in priors], axis=0),
        np.mean([p.between_var for p in priors], axis=0) + means.var(axis=0),
        np.mean([p.min_var for p in priors], axis=0),
    )

