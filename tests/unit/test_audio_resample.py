"""Resampling at the edges: streaming state, rate checks, one-shot conversion."""

from __future__ import annotations

import numpy as np
import pytest

from audio_models.frames import AudioFrame, concat, split_frames
from audio_models.resample import Resampler, resample, to_float32


def _tone(freq: float, seconds: float, rate: int) -> AudioFrame:
    t = np.arange(int(seconds * rate)) / rate
    return AudioFrame.from_float32(0.5 * np.sin(2 * np.pi * freq * t).astype(np.float32), rate)


def _peak_hz(frame: AudioFrame) -> float:
    x = frame.to_float32()
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / frame.sample_rate)[np.argmax(spectrum)])


def test_rate_mismatch_raises():
    r = Resampler(8000, 16000)
    with pytest.raises(ValueError, match="16000 Hz given to a 8000 Hz resampler"):
        r.process(AudioFrame.silence(0.02, 16000))


def test_streaming_matches_duration_and_keeps_the_tone():
    tone = _tone(440, 1.0, 8000)
    r = Resampler(8000, 16000)
    out = [r.process(f) for f in split_frames(tone, 20)]
    out.append(r.flush())
    joined = concat([f for f in out if f.samples])
    assert joined.sample_rate == 16000
    assert abs(joined.samples - 16000) <= 2
    assert abs(_peak_hz(joined) - 440) < 3


def test_stream_timestamps_end_where_the_input_ends():
    r = Resampler(8000, 16000)
    frame = AudioFrame(bytes(320), 8000, timestamp=10.0)
    out = r.process(frame)
    assert out.timestamp + out.duration == pytest.approx(10.02)


def test_passthrough_returns_the_same_frame():
    r = Resampler(8000, 8000)
    frame = AudioFrame.silence(0.02, 8000)
    assert r.process(frame) is frame


def test_one_shot_identity_and_conversion():
    tone = _tone(1000, 0.5, 22050)
    assert resample(tone, 22050) is tone
    down = resample(tone, 8000)
    assert down.sample_rate == 8000 and abs(down.samples - 4000) <= 1
    assert abs(_peak_hz(down) - 1000) < 5
    assert resample(AudioFrame(b"", 8000), 16000).samples == 0


def test_to_float32_resamples_without_clipping():
    loud = AudioFrame.from_float32(np.full(800, 0.999, dtype=np.float32), 8000)
    x = to_float32(loud, 16000)
    assert x.dtype == np.float32 and len(x) == 1600


def test_invalid_rates_raise():
    with pytest.raises(ValueError):
        Resampler(0, 8000)
    with pytest.raises(ValueError):
        resample(AudioFrame.silence(0.01, 8000), -1)
