"""Telephone-channel simulation: 8 kHz band and G.711 companding (mu-law or A-law).

`telephone_channel(frame)` is what a caller's speech goes through on a PCMU/PCMA call: the
audio is resampled to 8 kHz (soxr's anti-alias filter gives the telephone band), encoded to
8-bit G.711 codes and decoded back to 16-bit linear PCM at 8 kHz.

The codecs follow ITU-T G.711 exactly (the same integer arithmetic as the CCITT reference
`g711.c`): mu-law works on the 14 most significant bits of a 16-bit sample, A-law on the 13
most significant bits; decoded values are scaled back to 16 bits. Pure numpy (no `audioop`,
which Python 3.13 removed).
"""

from __future__ import annotations

import numpy as np

from audio_models.frames import AudioFrame
from audio_models.resample import resample

TELEPHONE_RATE = 8000

# Upper ends of the 8 segments (chords), in the codec's own input units.
_MU_SEG_END = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF], dtype=np.int32)
_A_SEG_END = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF], dtype=np.int32)
_MU_BIAS = 0x84  # 132: bias added before segment search (33 in 14-bit units)
_MU_CLIP = 8159  # largest 14-bit magnitude mu-law represents

_CODECS = {"pcmu": "pcmu", "ulaw": "pcmu", "mulaw": "pcmu", "mu-law": "pcmu",
           "pcma": "pcma", "alaw": "pcma", "a-law": "pcma"}


def _as_int16(samples: np.ndarray | bytes) -> np.ndarray:
    if isinstance(samples, bytes | bytearray | memoryview):
        return np.frombuffer(samples, dtype="<i2")
    arr = np.asarray(samples)
    if arr.dtype != np.int16:
        raise TypeError(f"expected int16 samples, got {arr.dtype}")
    return arr


def _as_codes(codes: np.ndarray | bytes) -> np.ndarray:
    if isinstance(codes, bytes | bytearray | memoryview):
        return np.frombuffer(codes, dtype=np.uint8)
    return np.asarray(codes, dtype=np.uint8)


def mulaw_encode(samples: np.ndarray | bytes) -> np.ndarray:
    """16-bit linear PCM -> G.711 mu-law codes (uint8). 0 -> 0xFF, +max -> 0x80, -max -> 0x00."""
    x = _as_int16(samples).astype(np.int32) >> 2  # 14-bit (arithmetic shift: floor)
    negative = x < 0
    mag = np.minimum(np.where(negative, -x, x), _MU_CLIP) + (_MU_BIAS >> 2)
    seg = np.searchsorted(_MU_SEG_END, mag, side="left")  # first end >= mag
    mantissa = (mag >> (np.minimum(seg, 7) + 1)) & 0xF
    code = np.where(seg >= 8, 0x7F, (np.minimum(seg, 7) << 4) | mantissa)
    mask = np.where(negative, 0x7F, 0xFF)
    return (code ^ mask).astype(np.uint8)


def mulaw_decode(codes: np.ndarray | bytes) -> np.ndarray:
    """G.711 mu-law codes -> 16-bit linear PCM (int16); range -32124..32124."""
    u = ~_as_codes(codes).astype(np.int32) & 0xFF
    t = (((u & 0x0F) << 3) + _MU_BIAS) << ((u & 0x70) >> 4)
    return np.where(u & 0x80, _MU_BIAS - t, t - _MU_BIAS).astype(np.int16)


def alaw_encode(samples: np.ndarray | bytes) -> np.ndarray:
    """16-bit linear PCM -> G.711 A-law codes (uint8), even bits inverted (0 -> 0xD5)."""
    x = _as_int16(samples).astype(np.int32) >> 3  # 13-bit
    negative = x < 0
    mag = np.where(negative, -x - 1, x)
    seg = np.searchsorted(_A_SEG_END, mag, side="left")
    s = np.minimum(seg, 7)
    mantissa = np.where(s < 2, mag >> 1, mag >> s) & 0xF
    code = np.where(seg >= 8, 0x7F, (s << 4) | mantissa)
    mask = np.where(negative, 0x55, 0xD5)
    return (code ^ mask).astype(np.uint8)


def alaw_decode(codes: np.ndarray | bytes) -> np.ndarray:
    """G.711 A-law codes -> 16-bit linear PCM (int16); range -32256..32256."""
    a = _as_codes(codes).astype(np.int32) ^ 0x55
    seg = (a & 0x70) >> 4
    t = (a & 0x0F) << 4
    t = np.where(seg == 0, t + 8, (t + 0x108) << np.maximum(seg - 1, 0))
    return np.where(a & 0x80, t, -t).astype(np.int16)


def g711_roundtrip(samples: np.ndarray | bytes, codec: str = "pcmu") -> np.ndarray:
    """Encode and decode 16-bit samples with `codec` ("pcmu"/"ulaw" or "pcma"/"alaw")."""
    kind = _codec(codec)
    if kind == "pcmu":
        return mulaw_decode(mulaw_encode(samples))
    return alaw_decode(alaw_encode(samples))


def _codec(codec: str) -> str:
    try:
        return _CODECS[codec.lower()]
    except KeyError:
        raise ValueError(
            f"unknown G.711 codec {codec!r}: use 'pcmu' (mu-law) or 'pcma' (A-law)"
        ) from None


def telephone_channel(frame: AudioFrame, codec: str = "pcmu") -> AudioFrame:
    """`frame` as heard over a G.711 call: resampled to 8 kHz, companded, decoded at 8 kHz.

    `codec` is "pcmu" (mu-law, North America / Japan) or "pcma" (A-law, Europe / China).
    The timestamp is kept.
    """
    kind = _codec(codec)
    narrow = resample(frame, TELEPHONE_RATE)
    if not narrow.pcm:
        return AudioFrame(b"", TELEPHONE_RATE, frame.timestamp)
    pcm = g711_roundtrip(np.frombuffer(narrow.pcm, dtype="<i2"), kind)
    return AudioFrame(pcm.astype("<i2", copy=False).tobytes(), TELEPHONE_RATE, frame.timestamp)
