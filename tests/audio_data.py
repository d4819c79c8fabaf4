"""Real speech clips from /work/shared/data for tests (skips when the data is absent)."""

from __future__ import annotations

import csv
import re
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audio_models.frames import AudioFrame
from ivr.understanding.intents import edit_distance  # noqa: F401 - re-exported for tests

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "audio"


def shared_data_dir() -> Path:
    """/work/shared/data (the repo's sibling `shared/data`); skips the test when absent."""
    path = Path(__file__).resolve().parents[1].parent / "shared" / "data"
    if not path.is_dir():
        pytest.skip(f"shared speech data not found at {path}")
    return path


def shared_file(*parts: str) -> Path:
    """A file under the shared data folder (e.g. an EmoDB or AISHELL clip); skips if absent."""
    path = shared_data_dir().joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} not found")
    return path


@cache
def manifest(folder: str) -> tuple[dict[str, str], ...]:
    """Rows of `folder/manifest.csv` (path, transcript, ...)."""
    with open(shared_data_dir() / folder / "manifest.csv", encoding="utf-8", newline="") as f:
        return tuple(csv.DictReader(f))


def load_clip(folder: str, rel: str) -> AudioFrame:
    """One clip as a mono 16-bit frame at its own rate (8 kHz for the shared data)."""
    path = shared_data_dir() / folder / rel
    if not path.is_file():
        pytest.skip(f"clip {path} not found")
    data, rate = sf.read(str(path), dtype="int16", always_2d=True)
    return AudioFrame(np.ascontiguousarray(data[:, 0]).tobytes(), rate)


def words(text: str) -> list[str]:
    """Lower-case words without punctuation, for WER."""
    return re.findall(r"[a-z0-9']+", text.lower())


def hanzi(text: str) -> list[str]:
    """Characters without spaces or punctuation, for CER."""
    return [c for c in text if c.isalnum()]
