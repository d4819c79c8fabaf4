"""Real-speech benchmark sets for recognition by grammar (issue 19): spoken digits and digit
strings, and how to score them as digit sequences.

English digit strings: Free Spoken Digit Dataset clips (../shared/data/asr_en_digits, 8 kHz
FLAC, 4 speakers, 5 takes of every digit per speaker in the manifest's `test` subset; the
`train` subset is never used here). A string is drawn with `random.Random(seed)`: a speaker
(round robin over the 4), then each digit uniformly from 0-9 (so repeated digits occur as they
naturally would: about 40% of 4-digit and 94% of 8-digit strings repeat a digit), then for each
digit one of that speaker's test takes, a different take for a repeated digit while one is
left. The takes are joined with silences drawn uniformly from 150-300 ms, with 250 ms of
silence before and after (digital silence: the G.711 channel is applied afterwards by the
benchmark, `audio_models.telephone.telephone_channel`). Single digits: every test clip.

Mandarin: `testkit.bench.zh_cuts` (digit syllables and yes/no words cut from AISHELL by forced
alignment) joins them the same way with `join_clips`. Yes/no and menu choices in English:
`testkit.bench.choice_sets`.

Scoring: a reference and a hypothesis are digit strings ("69832548"), compared digit by digit
(Levenshtein over digits), never read as cardinal numbers.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from audio_models.frames import AudioFrame
from ivr.understanding.fuzzy import edit_distance

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data"
FSDD = DATA / "asr_en_digits"
ALLISON = Path("/usr/share/asterisk/sounds/en_US_f_Allison")  # Debian asterisk-core-sounds-en-wav
CACHE = REPO / "var" / "cache" / "bench"
RATE = 8000
GAP_S = (0.150, 0.300)  # silence between joined clips, uniform
EDGE_S = 0.250  # silence before the first and after the last clip
EN_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

__all__ = [
    "ALLISON", "CACHE", "DATA", "EDGE_S", "FSDD", "GAP_S", "RATE", "Clip", "Utterance",
    "build_strings", "clip_audio", "digit_errors", "draw_strings", "en_digit_strings",
    "en_single_digits", "fsdd_clips", "join_clips", "load_clip", "score_digits", "source_path",
]


@dataclass(frozen=True)
class Clip:
    """One real recording (or a cut of one): `ref` is what was said (a digit, a choice id)."""

    source: str  # path relative to ../shared/data (or the Allison sounds directory)
    ref: str
    speaker: str
    start_s: float = 0.0  # a cut of the file: [start_s, end_s); end_s 0 = to the end
    end_s: float = 0.0


@dataclass
class Utterance:
    """What a caller says to one question: 8 kHz audio before the telephone channel."""

    uid: str
    ref: str  # digits ("0471"), or a choice id ("yes", "friday")
    language: str  # profile id: en-US, zh-CN
    speaker: str
    audio: AudioFrame
    parts: list[str] = field(default_factory=list)  # the clips it was joined from
    gaps_s: list[float] = field(default_factory=list)  # the silences between them


def load_clip(path: Path, start_s: float = 0.0, end_s: float = 0.0) -> np.ndarray:
    """Mono int16 samples of a file at 8 kHz (all shared sets and Allison are 8 kHz),
    optionally cut to [start_s, end_s)."""
    data, rate = sf.read(str(path), dtype="int16", always_2d=True)
    if rate != RATE:
        raise ValueError(f"{path}: {rate} Hz, expected {RATE}")
    samples = np.ascontiguousarray(data[:, 0])
    if end_s > 0 or start_s > 0:
        a = max(int(round(start_s * RATE)), 0)
        b = int(round(end_s * RATE)) if end_s > 0 else len(samples)
        samples = samples[a:b]
    return samples


def join_clips(parts: Sequence[np.ndarray], rng: random.Random,
               gap_s: tuple[float, float] = GAP_S, edge_s: float = EDGE_S
               ) -> tuple[AudioFrame, list[float]]:
    """The clips one after another with a random silence of `gap_s` (uniform) between two,
    `edge_s` before and after; returns the audio and the gaps used (seconds, rounded to
    samples)."""
    gaps = [round(rng.uniform(*gap_s) * RATE) / RATE for _ in range(len(parts) - 1)]
    edge = np.zeros(int(round(edge_s * RATE)), dtype=np.int16)
    chunks = [edge]
    for i, part in enumerate(parts):
        if i:
            chunks.append(np.zeros(int(round(gaps[i - 1] * RATE)), dtype=np.int16))
        chunks.append(np.asarray(part, dtype=np.int16))
    chunks.append(edge)
    return AudioFrame(np.concatenate(chunks).tobytes(), RATE), gaps


def fsdd_clips(subset: str = "test", data: Path = DATA) -> list[Clip]:
    """FSDD clips of one manifest subset, manifest order; `ref` is the digit ("7")."""
    folder = data / "asr_en_digits"
    with open(folder / "manifest.csv", encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["subset"] == subset]
    return [Clip(f"asr_en_digits/{r['path']}", str(EN_WORDS.index(r["transcript"].strip())),
                 r["speaker"]) for r in rows]


def source_path(source: str, data: Path = DATA) -> Path:
    """File of a clip source: "allison:<name>" (the installed Asterisk prompts) or a path
    under the shared data."""
    if source.startswith("allison:"):
        return ALLISON / source.split(":", 1)[1]
    return data / source


def clip_audio(clip: Clip, data: Path = DATA) -> np.ndarray:
    """The samples of a clip (its cut when it is one)."""
    return load_clip(source_path(clip.source, data), clip.start_s, clip.end_s)


def en_single_digits(limit: int = 0, data: Path = DATA) -> list[Utterance]:
    """Every FSDD test clip as a single-digit answer (250 ms of silence around it); `limit`
    keeps that many, round robin over (digit, speaker) cells (each round in a seeded order), so
    all stay represented."""
    clips = fsdd_clips("test", data)
    cells: dict[tuple[str, str], list[Clip]] = {}
    for c in clips:
        cells.setdefault((c.ref, c.speaker), []).append(c)
    order: list[Clip] = []
    for depth in range(max(len(v) for v in cells.values())):
        keys = sorted(cells)
        random.Random(1000 + depth).shuffle(keys)  # each round in a seeded order
        order += [cells[k][depth] for k in keys if depth < len(cells[k])]
    if limit:
        order = order[:limit]
    out = []
    rng = random.Random(0)
    for c in order:
        audio, _ = join_clips([clip_audio(c, data)], rng)
        out.append(Utterance(f"en1/{Path(c.source).stem}", c.ref, "en-US", c.speaker, audio,
                             [c.source]))
    return out


def draw_strings(pool: dict[str, dict[str, list[Clip]]], n: int, length: int, seed: int,
                 alphabet: str = "0123456789") -> list[tuple[str, str, list[Clip]]]:
    """`n` (speaker, digits, clips) drawn from `pool` (speaker -> digit -> clips): speakers
    round robin, digits uniform over `alphabet` (only digits the speaker has), a different
    clip for a repeated digit while the speaker has one left."""
    rng = random.Random(seed)
    speakers = sorted(pool)
    out = []
    for i in range(n):
        spk = speakers[i % len(speakers)]
        have = [d for d in alphabet if pool[spk].get(d)]
        digits = "".join(rng.choice(have) for _ in range(length))
        used: dict[str, list[Clip]] = {}
        clips = []
        for d in digits:
            takes = pool[spk][d]
            fresh = [c for c in takes if c not in used.get(d, [])]
            pick = rng.choice(fresh or takes)
            used.setdefault(d, []).append(pick)
            clips.append(pick)
        out.append((spk, digits, clips))
    return out


def build_strings(pool: dict[str, dict[str, list[Clip]]], n: int, length: int, seed: int,
                  language: str, prefix: str, data: Path = DATA,
                  alphabet: str = "0123456789") -> list[Utterance]:
    """Joined digit strings (see `draw_strings`, `join_clips`), deterministic for a seed."""
    rng = random.Random(seed + 7919)
    out = []
    for i, (spk, digits, clips) in enumerate(draw_strings(pool, n, length, seed, alphabet)):
        audio, gaps = join_clips([clip_audio(c, data) for c in clips], rng)
        parts = [f"{c.source}@{c.start_s:.2f}" if c.end_s else c.source for c in clips]
        out.append(Utterance(f"{prefix}/{i:03d}", digits, language, spk, audio, parts, gaps))
    return out


def en_digit_strings(n: int, length: int, seed: int = 19, data: Path = DATA
                     ) -> list[Utterance]:
    """`n` English `length`-digit strings of FSDD test takes, one speaker each."""
    pool: dict[str, dict[str, list[Clip]]] = {}
    for c in fsdd_clips("test", data):
        pool.setdefault(c.speaker, {}).setdefault(c.ref, []).append(c)
    return build_strings(pool, n, length, seed + length, "en-US", f"en{length}", data)


# ------------------------------------------------------------------ scoring
def digit_errors(ref: str, hyp: str) -> int:
    """Levenshtein distance between two digit strings, digit by digit ("69832548" vs
    "683548": 2 deletions)."""
    return edit_distance(ref, hyp)


def score_digits(pairs: Sequence[tuple[str, str]]) -> dict[str, float]:
    """Exact-string rate and per-digit error rate (edits / reference digits) of
    (reference, hypothesis) digit strings."""
    if not pairs:
        return {"n": 0, "exact": 0.0, "digit_error": 0.0}
    exact = sum(1 for r, h in pairs if r == h)
    edits = sum(digit_errors(r, h) for r, h in pairs)
    digits = sum(len(r) for r, _ in pairs)
    return {"n": len(pairs), "exact": exact / len(pairs),
            "digit_error": edits / digits if digits else 0.0}
