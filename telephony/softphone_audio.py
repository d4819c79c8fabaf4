"""Audio files for the test softphone: baresip's `aufile` source needs WAVs at the codec rate
(8 kHz mono 16-bit for PCMU) and hangs up when the file ends, so callers' files are padded."""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path

import numpy as np
import soundfile as sf

__all__ = ["prepare_caller_wav", "shared_silence_wav", "silence_wav"]


def prepare_caller_wav(
    src: Path | str,
    dst: Path | str,
    lead_silence: float = 1.0,
    tail_silence: float = 5.0,
    rate: int = 8000,
) -> Path:
    """Convert any WAV/FLAC to `rate` Hz mono 16-bit PCM WAV, padded with silence."""
    data, sr = sf.read(str(src), dtype="float32", always_2d=True)
    mono = data.mean(axis=1)
    if sr != rate:
        import soxr

        mono = soxr.resample(mono, sr, rate)
    pad = np.zeros
    out = np.concatenate(
        [pad(int(lead_silence * rate), np.float32), mono, pad(int(tail_silence * rate), np.float32)]
    )
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(dst), np.clip(out, -1.0, 32767 / 32768), rate, subtype="PCM_16")
    return dst


def silence_wav(dst: Path | str, seconds: float, rate: int = 8000) -> Path:
    """A silent `rate` Hz mono 16-bit WAV (the softphone's source when it has nothing to say)."""
    dst = Path(dst)
    sf.write(str(dst), np.zeros(int(seconds * rate), dtype=np.int16), rate, subtype="PCM_16")
    return dst


def shared_silence_wav(seconds: float, rate: int = 8000) -> Path:
    """A silence WAV cached in the temp dir (10 minutes at 8 kHz is ~10 MB: write it once)."""
    path = Path(tempfile.gettempdir()) / f"telephony-silence-{rate}hz-{int(seconds)}s.wav"
    if not path.exists() or path.stat().st_size < seconds * rate * 2:
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.{threading.get_ident()}.tmp.wav")
        silence_wav(tmp, seconds, rate)
        os.replace(tmp, path)  # atomic: concurrent test processes never see a partial file
    return path
