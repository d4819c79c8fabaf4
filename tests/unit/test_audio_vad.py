"""Endpointer on real speech: one utterance per padded clip, silence and short bursts ignored."""

from __future__ import annotations

import time

import numpy as np
import pytest

from audio_models.frames import AudioFrame, concat, split_frames
from audio_models.protocols import EndpointerConfig, SpeechEnded, SpeechStarted
from audio_models.vad import Endpointer
from testkit.bench.measure import speech_end_s
from tests.audio_data import load_clip

T0 = 1000.0  # monotonic-like start time of the fake call
CLIP = ("asr_en_misc", "audio/ljspeech/LJ001-0013.flac")  # trimmed read speech, 2.58 s


def _run(ep: Endpointer, audio: AudioFrame, frame_ms: int = 20, flush: bool = True) -> list:
    events = []
    for frame in split_frames(AudioFrame(audio.pcm, audio.sample_rate, T0), frame_ms):
        events += ep.push_frame(frame)
    if flush and (last := ep.flush()) is not None:
        events.append(last)
    return events


def _level_end(clip: AudioFrame) -> float:
    """Where the clip's speech ends by its level (the benchmark's measure)."""
    samples = np.frombuffer(clip.pcm, np.int16).astype(np.float32) / 32768
    return speech_end_s(samples, clip.sample_rate)


def _padded(clip: AudioFrame, pad: float = 1.0) -> AudioFrame:
    silence = AudioFrame.silence(pad, clip.sample_rate)
    return concat([silence, clip, silence])


@pytest.mark.parametrize("frame_ms", [20, 10, 30])
def test_one_utterance_with_plausible_bounds(frame_ms):
    clip = load_clip(*CLIP)
    ep = Endpointer(EndpointerConfig(), sample_rate=clip.sample_rate)
    events = _run(ep, _padded(clip), frame_ms=frame_ms, flush=False)
    assert [type(e) for e in events] == [SpeechStarted, SpeechEnded]
    started, ended = events
    assert started.timestamp == ended.speech_start
    assert ended.speech_start - T0 == pytest.approx(1.0, abs=0.15)
    # the clip's last 0.28 s is a quiet tail (-50..-65 dBFS): speech ends where the level
    # drops, measured independently of the endpointer
    assert ended.speech_end - T0 == pytest.approx(1.0 + _level_end(clip), abs=0.06)
    assert ended.detected_at - ended.speech_end == pytest.approx(0.7, abs=0.03)
    assert not ended.truncated
    # audio: pre-roll + speech + a little tail, at the input rate
    assert ended.audio.sample_rate == clip.sample_rate
    assert ended.audio.timestamp == pytest.approx(ended.speech_start - 0.3, abs=0.02)
    assert clip.duration < ended.audio.duration < clip.duration + 0.9
    assert not ep.in_speech


def test_the_level_gate_removes_webrtcvads_hangover_on_the_fading_tail():
    clip = load_clip(*CLIP)
    ends = {}
    for drop in (35.0, 0.0):
        ep = Endpointer(EndpointerConfig(tail_drop_db=drop), sample_rate=clip.sample_rate)
        events = _run(ep, _padded(clip), flush=False)
        assert [type(e) for e in events] == [SpeechStarted, SpeechEnded]
        ends[drop] = events[1].speech_end - T0
    true_end = 1.0 + _level_end(clip)
    assert abs(ends[35.0] - true_end) <= 0.06
    assert ends[0.0] - true_end >= 0.1  # webrtcvad alone still votes voiced on the tail
    with pytest.raises(ValueError, match="tail_drop_db"):
        Endpointer(EndpointerConfig(tail_drop_db=-1.0), sample_rate=clip.sample_rate)


def test_start_hysteresis_longer_than_min_utterance():
    clip = load_clip(*CLIP)
    cfg = EndpointerConfig(start_speech_ms=300, min_utterance_ms=100)
    events = _run(Endpointer(cfg, clip.sample_rate), _padded(clip))
    assert [type(e) for e in events] == [SpeechStarted, SpeechEnded]
    assert events[0].timestamp - T0 == pytest.approx(1.0, abs=0.15)


def test_silence_and_flush_give_nothing():
    ep = Endpointer(EndpointerConfig(), sample_rate=8000)
    assert _run(ep, AudioFrame.silence(3.0, 8000), flush=False) == []
    assert ep.flush() is None


def _burst() -> AudioFrame:
    """160 ms cut from the middle of a word: voiced, but far too short to be an answer."""
    clip = load_clip(*CLIP)
    start = int(0.30 * clip.sample_rate) * 2
    return AudioFrame(clip.pcm[start : start + int(0.16 * clip.sample_rate) * 2], clip.sample_rate)


def test_short_bursts_are_dropped():
    burst, gap = _burst(), AudioFrame.silence(1.0, 8000)
    audio = concat([gap, burst, gap, burst, gap])
    cfg = dict(start_speech_ms=60, end_silence_ms=500)
    # control: the bursts are voiced enough to make utterances when short ones are allowed
    loose = _run(Endpointer(EndpointerConfig(min_utterance_ms=40, **cfg), 8000), audio)
    assert [type(e) for e in loose] == [SpeechStarted, SpeechEnded] * 2
    strict = Endpointer(EndpointerConfig(min_utterance_ms=300, **cfg), 8000)
    assert _run(strict, audio) == []


def test_max_utterance_truncates():
    clip = load_clip("asr_en_misc", "audio/misc/jfk.flac")  # 11 s, no long pause
    ep = Endpointer(EndpointerConfig(max_utterance_s=3.0), sample_rate=clip.sample_rate)
    events = _run(ep, _padded(clip, 0.5))
    ended = [e for e in events if isinstance(e, SpeechEnded)]
    starts = [e for e in events if isinstance(e, SpeechStarted)]
    assert len(ended) >= 3 and len(starts) == len(ended)
    assert ended[0].truncated and ended[1].truncated
    assert ended[1].speech_start == pytest.approx(ended[0].detected_at, abs=0.2)  # continues
    assert ended[0].detected_at - ended[0].speech_start == pytest.approx(3.0, abs=0.03)
    assert ended[0].audio.duration <= 3.0 + 0.3 + 0.02
    assert all(e.audio.duration <= 3.4 for e in ended)


def test_flush_returns_the_utterance_in_progress():
    clip = load_clip(*CLIP)
    ep = Endpointer(EndpointerConfig(), sample_rate=8000)
    silence = AudioFrame.silence(0.5, 8000)
    events = _run(ep, concat([silence, clip]), flush=False)
    assert [type(e) for e in events] == [SpeechStarted]
    assert ep.in_speech
    ended = ep.flush()
    assert isinstance(ended, SpeechEnded) and not ended.truncated
    assert not ep.in_speech and ep.flush() is None


def test_end_silence_can_change_at_run_time():
    clip = load_clip(*CLIP)
    gap = AudioFrame.silence(0.3, 8000)  # + the clip's quiet 0.28 s tail: a 0.58 s pause
    audio = concat([gap, clip, gap, clip, AudioFrame.silence(1.0, 8000)])
    ep = Endpointer(EndpointerConfig(end_silence_ms=700), sample_rate=8000)
    assert sum(isinstance(e, SpeechEnded) for e in _run(ep, audio)) == 1  # pause bridged
    ep.set_end_silence_ms(300)
    assert ep.config.end_silence_ms == 300
    assert sum(isinstance(e, SpeechEnded) for e in _run(ep, audio)) == 2  # pause ends it
    with pytest.raises(ValueError):
        ep.set_end_silence_ms(0)


def test_config_is_copied_per_call():
    shared = EndpointerConfig()
    ep = Endpointer(shared, 8000)
    ep.set_end_silence_ms(250)
    assert shared.end_silence_ms == 700


def test_odd_frame_sizes_are_buffered():
    clip = load_clip(*CLIP)
    audio = AudioFrame(_padded(clip).pcm, 8000, T0)
    ep, events, step = Endpointer(EndpointerConfig(), 8000), [], 8000 * 2 * 37 // 1000
    for n, i in enumerate(range(0, len(audio.pcm), step)):
        events += ep.push_frame(AudioFrame(audio.pcm[i : i + step], 8000, T0 + n * 0.037))
    assert [type(e) for e in events] == [SpeechStarted, SpeechEnded]
    assert events[1].speech_start - T0 == pytest.approx(1.0, abs=0.15)


def test_rejects_wrong_rate_and_bad_config():
    ep = Endpointer(EndpointerConfig(), 8000)
    with pytest.raises(ValueError, match="16000 Hz"):
        ep.push_frame(AudioFrame.silence(0.02, 16000))
    with pytest.raises(ValueError):
        Endpointer(EndpointerConfig(), 11025)
    with pytest.raises(ValueError):
        Endpointer(EndpointerConfig(aggressiveness=4), 8000)


@pytest.mark.parametrize("rate", [8000, 16000])
def test_cost_per_frame_is_microseconds(rate):
    rng = np.random.default_rng(0)
    noise = AudioFrame.from_float32(rng.normal(0, 0.05, rate * 10).astype(np.float32), rate)
    frames = split_frames(concat([noise, AudioFrame.silence(10.0, rate)]), 20)
    ep = Endpointer(EndpointerConfig(), rate)
    t0 = time.perf_counter()
    for f in frames:
        ep.push_frame(f)
    us = (time.perf_counter() - t0) / len(frames) * 1e6
    print(f"\nVAD {rate} Hz: {us:.1f} us per 20 ms frame")
    assert us < 200
