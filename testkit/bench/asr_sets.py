"""The real-speech sets of `scripts/bench_asr`: which clips of the shared data
(../shared/data/asr_*) a run takes, and each one after the simulated telephone channel.

A limited run must still be a fair sample: `spread` takes clips evenly over a manifest (read
prose changes speaker and topic as it goes), and the single-digit set goes round its (digit,
speaker) cells so every digit and every speaker is heard (`stratified_digits`); both are
deterministic so two runs hear the same clips.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from audio_models.frames import AudioFrame
from audio_models.telephone import telephone_channel

REPO = Path(__file__).resolve().parents[2]
DEFAULT_DATA = REPO.parent / "shared" / "data"
# This clip's manifest transcript belongs to another utterance (data/README.md).
EXCLUDED = {"asr_en_misc": {"audio/librispeech/1272-128104-0000.flac"}}
DEFAULT_LIMITS = {"aishell": 60, "en_misc": 45, "digits": 60}
SETS = {  # name -> (folder, profile id, metric, prompt conditions)
    "aishell": ("asr_zh_aishell", "zh-CN", "CER", ("none", "profile", "hotwords")),
    "en_misc": ("asr_en_misc", "en-US", "WER", ("none", "hotwords")),
    "digits": ("asr_en_digits", "en-US", "ERR", ("none", "hotwords")),
}


@dataclass
class Clip:
    path: str
    ref: str
    speaker: str
    audio: AudioFrame  # after the telephone channel


def load_audio(path: Path) -> AudioFrame:
    """The first channel of a sound file, 16-bit, at its own rate (also `spoken_intents`)."""
    data, rate = sf.read(str(path), dtype="int16", always_2d=True)
    return AudioFrame(np.ascontiguousarray(data[:, 0]).tobytes(), rate)


def spread(rows: list[dict[str, str]], n: int) -> list[dict[str, str]]:
    """`n` rows evenly spaced over the manifest (deterministic), all when n >= len."""
    if n >= len(rows):
        return rows
    idx = np.linspace(0, len(rows) - 1, n).round().astype(int)
    return [rows[i] for i in sorted(set(idx.tolist()))]


def stratified_digits(rows: list[dict[str, str]], n: int) -> list[dict[str, str]]:
    """Round-robin over (digit, speaker) cells, so every digit and speaker is represented;
    the cell order of each round is a seeded shuffle (deterministic)."""
    cells: dict[tuple[str, str], list[dict[str, str]]] = {}
    for r in rows:
        cells.setdefault((r["transcript"], r["speaker"]), []).append(r)
    out: list[dict[str, str]] = []
    depth = 0
    while len(out) < n and any(depth < len(c) for c in cells.values()):
        keys = sorted(cells)
        random.Random(1000 + depth).shuffle(keys)
        for k in keys:
            if depth < len(cells[k]) and len(out) < n:
                out.append(cells[k][depth])
        depth += 1
    return out


def load_set(data: Path, name: str, limit: int, codec: str) -> list[Clip]:
    folder = SETS[name][0]
    with open(data / folder / "manifest.csv", encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["path"] not in EXCLUDED.get(folder, set())]
    rows = stratified_digits(rows, limit) if name == "digits" else spread(rows, limit)
    clips = []
    for r in rows:
        audio = telephone_channel(load_audio(data / folder / r["path"]), codec)
        clips.append(Clip(r["path"], r["transcript"], r.get("speaker", ""), audio))
    return clips
