"""Call recordings for the dashboard player: one channel as a mono WAV, and byte ranges.

Recordings are stereo WAV (caller on the left, IVR and agent on the right). The player asks
for ``caller``, ``ivr`` or ``mixed``; the mono file is made with soundfile and numpy and kept in
a small cache keyed by path, modification time and channel, so the seeks of an ``<audio>``
element (HTTP Range requests) do not decode the file again each time.

Recordings encrypted at rest (``.wav.enc``, `ivr.privacy.crypto`) are decrypted in memory with
the key given to `channel_wav`; plaintext never reaches the disk. A container cut short by a
crash plays its authenticated part.
"""

from __future__ import annotations

import io
import re
from collections import OrderedDict
from pathlib import Path

import numpy as np
import soundfile as sf

from ivr.privacy.crypto import SUFFIX, RecordingDecryptError, decrypt_to_wav

CHANNELS = ("caller", "ivr", "mixed")
CACHE_ENTRIES = 8

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_cache: OrderedDict[tuple[str, float, str], bytes] = OrderedDict()


class RangeNotSatisfiable(ValueError):
    """The Range header asks for bytes outside the file."""


def channel_wav(path: Path, channel: str, key: bytes | None = None) -> bytes:
    """The recording's `channel` as a 16-bit mono WAV (bytes); an encrypted recording
    (``.enc``) is decrypted with `key`. Raises ValueError for an unknown channel,
    `RecordingDecryptError` (a ValueError) for a missing or wrong key or a tampered file,
    OSError / soundfile errors for a missing or broken file."""
    if channel not in CHANNELS:
        raise ValueError(f"channel must be one of {', '.join(CHANNELS)}")
    entry = (str(path), path.stat().st_mtime, channel)
    if entry in _cache:
        _cache.move_to_end(entry)
        return _cache[entry]
    if path.name.endswith(SUFFIX):
        if key is None:
            raise RecordingDecryptError("the recording is encrypted and no recording key is "
                                        "configured")
        source: Path | io.BytesIO = io.BytesIO(decrypt_to_wav(path, key, allow_truncated=True))
    else:
        source = path
    data, rate = sf.read(source, dtype="float32", always_2d=True)
    if channel == "caller" or data.shape[1] == 1:
        mono = data[:, 0]
    elif channel == "ivr":
        mono = data[:, 1]
    else:
        mono = np.clip(data[:, 0] + data[:, 1], -1.0, 1.0)
    out = io.BytesIO()
    sf.write(out, mono, rate, format="WAV", subtype="PCM_16")
    wav = out.getvalue()
    _cache[entry] = wav
    while len(_cache) > CACHE_ENTRIES:
        _cache.popitem(last=False)
    return wav


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive ``(start, end)`` a ``Range: bytes=a-b`` header asks for; None when there
    is no usable single range (serve the whole file). Raises `RangeNotSatisfiable`."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if match is None:
        return None  # multiple or other units: ignore the header, as RFC 9110 allows
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # the last N bytes
        n = int(last)
        if n == 0:
            raise RangeNotSatisfiable(header)
        return max(0, size - n), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        raise RangeNotSatisfiable(header)
    return start, end
