"""Telephone-channel simulation: G.711 mu-law / A-law exactness and the 8 kHz channel."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from audio_models.frames import AudioFrame
from audio_models.telephone import (
    alaw_decode,
    alaw_encode,
    g711_roundtrip,
    mulaw_decode,
    mulaw_encode,
    telephone_channel,
)

ALL_INT16 = np.arange(-32768, 32768, dtype=np.int16)
ALL_CODES = np.arange(256, dtype=np.uint8)


# ------------------------------------------------ scalar reference (CCITT g711.c, transcribed)
def _search(value: int, table: list[int]) -> int:
    for i, end in enumerate(table):
        if value <= end:
            return i
    return len(table)


def _ref_linear2ulaw(pcm: int) -> int:
    pcm >>= 2
    if pcm < 0:
        pcm, mask = -pcm, 0x7F
    else:
        mask = 0xFF
    pcm = min(pcm, 8159) + 33
    seg = _search(pcm, [0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])
    if seg >= 8:
        return 0x7F ^ mask
    return ((seg << 4) | ((pcm >> (seg + 1)) & 0xF)) ^ mask


def _ref_linear2alaw(pcm: int) -> int:
    pcm >>= 3
    if pcm >= 0:
        mask = 0xD5
    else:
        mask, pcm = 0x55, -pcm - 1
    seg = _search(pcm, [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF])
    if seg >= 8:
        return 0x7F ^ mask
    aval = seg << 4
    aval |= ((pcm >> 1) if seg < 2 else (pcm >> seg)) & 0xF
    return aval ^ mask


def _ref_ulaw2linear(u: int) -> int:
    u = ~u & 0xFF
    t = (((u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4)
    return 0x84 - t if u & 0x80 else t - 0x84


def _ref_alaw2linear(a: int) -> int:
    a ^= 0x55
    t = (a & 0x0F) << 4
    seg = (a & 0x70) >> 4
    t = t + 8 if seg == 0 else (t + 0x108) << max(seg - 1, 0)
    return t if a & 0x80 else -t


# ------------------------------------------------------------------ known code values
@pytest.mark.parametrize(
    ("sample", "code"),
    [(0, 0xFF), (3, 0xFF), (-1, 0x7E), (4, 0xFE), (-4, 0x7E), (32767, 0x80), (-32768, 0x00),
     (32124, 0x80), (100, 0xF2), (124, 0xEF), (8000, 0xA0), (-8000, 0x20)],
)
def test_mulaw_known_codes(sample, code):
    assert int(mulaw_encode(np.array([sample], dtype=np.int16))[0]) == code


@pytest.mark.parametrize(
    ("code", "sample"),
    [(0xFF, 0), (0x7F, 0), (0x80, 32124), (0x00, -32124), (0xFE, 8), (0x7E, -8), (0xF0, 120),
     (0xEF, 132)],
)
def test_mulaw_known_decoded_values(code, sample):
    assert int(mulaw_decode(bytes([code]))[0]) == sample


@pytest.mark.parametrize(
    ("sample", "code"),
    [(0, 0xD5), (7, 0xD5), (-1, 0x55), (-8, 0x55), (32767, 0xAA), (-32768, 0x2A), (16, 0xD4),
     (100, 0xD3), (8000, 0x8A), (-8000, 0x0A)],
)
def test_alaw_known_codes(sample, code):
    assert int(alaw_encode(np.array([sample], dtype=np.int16))[0]) == code


@pytest.mark.parametrize(
    ("code", "sample"), [(0xD5, 8), (0x55, -8), (0xAA, 32256), (0x2A, -32256), (0xD4, 24)]
)
def test_alaw_known_decoded_values(code, sample):
    assert int(alaw_decode(bytes([code]))[0]) == sample


# ------------------------------------------------------------------ exactness
def test_encoders_match_the_reference_on_every_16_bit_value():
    mu = mulaw_encode(ALL_INT16)
    a = alaw_encode(ALL_INT16)
    assert mu.dtype == np.uint8 and a.dtype == np.uint8
    assert mu.tolist() == [_ref_linear2ulaw(int(x)) for x in ALL_INT16]
    assert a.tolist() == [_ref_linear2alaw(int(x)) for x in ALL_INT16]


def test_decoders_match_the_reference_on_every_code():
    assert mulaw_decode(ALL_CODES).tolist() == [_ref_ulaw2linear(int(c)) for c in ALL_CODES]
    assert alaw_decode(ALL_CODES).tolist() == [_ref_alaw2linear(int(c)) for c in ALL_CODES]


def test_matches_audioop_when_available():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        audioop = pytest.importorskip("audioop")
    pcm = ALL_INT16.astype("<i2").tobytes()
    assert mulaw_encode(pcm).tobytes() == audioop.lin2ulaw(pcm, 2)
    assert alaw_encode(pcm).tobytes() == audioop.lin2alaw(pcm, 2)
    assert mulaw_decode(ALL_CODES).astype("<i2").tobytes() == audioop.ulaw2lin(
        ALL_CODES.tobytes(), 2)
    assert alaw_decode(ALL_CODES).astype("<i2").tobytes() == audioop.alaw2lin(
        ALL_CODES.tobytes(), 2)


def test_codes_survive_decode_then_encode():
    # mu-law has two zeros: 0x7F (-0) decodes to 0, which encodes as 0xFF (+0)
    back = mulaw_encode(mulaw_decode(ALL_CODES))
    expected = ALL_CODES.copy()
    expected[0x7F] = 0xFF
    assert back.tolist() == expected.tolist()
    assert alaw_encode(alaw_decode(ALL_CODES)).tolist() == ALL_CODES.tolist()


def test_decoded_levels_are_monotonic_and_symmetric():
    for decode, encode in ((mulaw_decode, mulaw_encode), (alaw_decode, alaw_encode)):
        levels = decode(encode(ALL_INT16)).astype(int)
        assert np.all(np.diff(levels) >= 0)
        values = sorted(set(decode(ALL_CODES).tolist()))
        positive = [v for v in values if v > 0]
        assert [-v for v in reversed(positive)] == [v for v in values if v < 0]


def test_roundtrip_error_bounds():
    x = ALL_INT16.astype(int)
    # mu-law: half a quantisation step (2**(seg+3) in 16-bit units) plus the 2 dropped bits
    codes = mulaw_encode(ALL_INT16)
    err = np.abs(mulaw_decode(codes).astype(int) - x)
    seg = ((~codes.astype(int)) & 0x70) >> 4
    inside = np.abs(x) <= 32124
    assert np.all(err[inside] <= 2 ** (seg[inside] + 2) + 3)
    assert np.all(err[np.abs(x) <= 120] <= 7)  # first segment: steps of 8
    # A-law: steps of 16 in segments 0-1, 2**(seg+3) above, plus the 3 dropped bits
    codes = alaw_encode(ALL_INT16)
    err = np.abs(alaw_decode(codes).astype(int) - x)
    seg = ((codes.astype(int) ^ 0x55) & 0x70) >> 4
    step_half = np.where(seg < 2, 8, 2 ** (seg + 2))
    inside = np.abs(x) <= 32256
    assert np.all(err[inside] <= step_half[inside] + 7)
    # both: relative error under 3.6% above the lowest segments (~30 dB SNR companding)
    loud = (np.abs(x) >= 1024) & (np.abs(x) <= 32124)
    for decode, encode in ((mulaw_decode, mulaw_encode), (alaw_decode, alaw_encode)):
        rel = np.abs(decode(encode(ALL_INT16)).astype(int) - x)[loud] / np.abs(x[loud])
        assert rel.max() < 0.036


def test_clipping_saturates_at_the_largest_level():
    y = g711_roundtrip(np.array([32767, -32768], dtype=np.int16), "pcmu")
    assert y.tolist() == [32124, -32124]
    y = g711_roundtrip(np.array([32767, -32768], dtype=np.int16), "pcma")
    assert y.tolist() == [32256, -32256]


def test_accepts_bytes_and_rejects_other_dtypes():
    pcm = np.array([0, 1000, -1000], dtype="<i2")
    assert mulaw_encode(pcm.tobytes()).tolist() == mulaw_encode(pcm).tolist()
    with pytest.raises(TypeError, match="int16"):
        mulaw_encode(np.array([0.5], dtype=np.float32))


# ------------------------------------------------------------------ the channel
def _tone(freq: float, seconds: float, rate: int, amp: float = 0.5) -> AudioFrame:
    t = np.arange(int(seconds * rate)) / rate
    return AudioFrame.from_float32((amp * np.sin(2 * np.pi * freq * t)).astype(np.float32), rate)


def _band_energy(frame: AudioFrame, lo: float, hi: float) -> float:
    x = frame.to_float32()
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    f = np.fft.rfftfreq(len(x), 1 / frame.sample_rate)
    return float(spec[(f >= lo) & (f < hi)].sum())


@pytest.mark.parametrize("codec", ["pcmu", "pcma", "ulaw", "alaw"])
def test_channel_is_8khz_same_length_and_keeps_speech_band(codec):
    src = AudioFrame(_tone(1000, 1.0, 16000).pcm, 16000, timestamp=12.5)
    out = telephone_channel(src, codec)
    assert out.sample_rate == 8000
    assert out.timestamp == 12.5
    assert abs(out.duration - 1.0) < 0.005
    assert _band_energy(out, 950, 1050) > 0.99 * _band_energy(out, 0, 4000)


def test_channel_snr_is_that_of_g711():
    src = _tone(440, 1.0, 8000, amp=0.3)
    for codec in ("pcmu", "pcma"):
        out = telephone_channel(src, codec)
        x = src.to_float32()
        noise = out.to_float32() - x
        snr = 10 * np.log10(np.sum(x**2) / np.sum(noise**2))
        assert 33 < snr < 45, (codec, snr)  # G.711 gives ~38 dB on a loud tone


def test_channel_removes_what_is_above_the_telephone_band():
    high = _tone(6000, 0.5, 16000)
    out = telephone_channel(high)
    assert np.sqrt(np.mean(out.to_float32() ** 2)) < 0.01  # a 0.35 RMS tone is gone


def test_channel_passes_8khz_audio_through_the_codec_only():
    src = _tone(440, 0.2, 8000)
    out = telephone_channel(src)
    expected = g711_roundtrip(np.frombuffer(src.pcm, dtype="<i2"))
    assert out.pcm == expected.astype("<i2").tobytes()


def test_channel_silence_and_empty_input():
    assert telephone_channel(AudioFrame.silence(0.1, 8000)).pcm == bytes(1600)
    assert telephone_channel(AudioFrame(b"", 16000)).pcm == b""
    assert telephone_channel(AudioFrame(b"", 16000)).sample_rate == 8000


def test_unknown_codec_is_rejected():
    with pytest.raises(ValueError, match="unknown G.711 codec 'g722'"):
        telephone_channel(AudioFrame.silence(0.1, 8000), "g722")
