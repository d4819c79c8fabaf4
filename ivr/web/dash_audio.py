"""Call recordings for the dashboard player: one channel as a mono WAV, and byte ranges.

Recordings are stereo WAV (caller on the left, IVR and agent on the right). The player asks
for ``caller``, ``ivr`` or ``mixed``; the mono file is made with soundfile and numpy and kept in
a small cache keyed by path, modification time and channel, so the seeks of an ``<audio>``
element (HTTP Range requests) do not decode the file again each time.
"""

from __future__ import annotations

import io
import re
from collections import OrderedDict
from pathlib import Path

import numpy as np
import soundfile as sf

CHANNELS = ("caller", "ivr", "mixed")
CACHE_ENTRIES = 8

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_cache: OrderedDict[tuple[str, float, str], bytes] = OrderedDict()


class RangeNotSatisfiable(ValueError):
    """The Range header asks for bytes outside the file."""


def channel_wav(path: Path, channel: str) -> bytes:
    """The recording's `channel` as a 16-bit mono WAV (bytes). Raises ValueError for an
    unknown channel, OSError / soundfile errors for a missing or broken file."""
    if channel not in CHANNELS:
        raise ValueError(f"channel must be one of {', '.join(CHANNELS)}")
    key = (str(path), path.stat().st_mtime, channel)
    if key in _cache:
        _cache.move_to_end(key)
        return _cache[key]
    data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    if channel == "caller" or data.shape[1] == 1:
        mono = data[:, 0]
    elif channel == "ivr":
        mono = data[:, 1]
    else:
        mono = np.clip(data[:, 0] + data[:, 1], -1.0, 1.0)
    out = io.BytesIO()
    sf.write(out, mono, rate, format="WAV", subtype="PCM_16")
    wav = out.getvalue()
    _cache[key] = wav
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
