"""Endpointer pauses for speculative recognition: `SpeechPaused`, `SpeechResumed`, `commit()`."""

from __future__ import annotations

import pytest

from audio_models.frames import AudioFrame, concat
from audio_models.protocols import EndpointerConfig, SpeechEnded, SpeechStarted
from audio_models.vad import Endpointer, SpeechPaused, SpeechResumed
from tests.audio_data import load_clip
from tests.unit.test_audio_vad import CLIP, T0, _level_end, _run


def _clip() -> AudioFrame:
    return load_clip(*CLIP)


def _silence(s: float, rate: int) -> AudioFrame:
    return AudioFrame.silence(s, rate)


def test_pause_then_end_has_the_same_speech_bounds():
    clip = _clip()
    ep = Endpointer(EndpointerConfig(), clip.sample_rate, early_silence_ms=200)
    audio = concat([_silence(1.0, clip.sample_rate), clip, _silence(1.0, clip.sample_rate)])
    events = _run(ep, audio, flush=False)
    assert [type(e) for e in events] == [SpeechStarted, SpeechPaused, SpeechEnded]
    _, paused, ended = events
    assert (paused.speech_start, paused.speech_end) == (ended.speech_start, ended.speech_end)
    assert paused.detected_at - paused.speech_end == pytest.approx(0.2, abs=0.03)
    assert ended.detected_at - ended.speech_end == pytest.approx(0.7, abs=0.03)
    # the same audio apart from trailing silence (200 ms kept instead of 300 ms)
    assert paused.audio.timestamp == ended.audio.timestamp
    assert ended.audio.pcm.startswith(paused.audio.pcm)
    assert ended.audio.duration - paused.audio.duration == pytest.approx(0.1, abs=0.021)


def test_speech_after_a_pause_resumes_and_ends_later():
    clip = _clip()
    rate = clip.sample_rate
    ep = Endpointer(EndpointerConfig(), rate, early_silence_ms=200)
    # a pause of 0.4 s: the clip's quiet 0.28 s tail and 0.12 s of silence
    audio = concat([_silence(1.0, rate), clip, _silence(0.12, rate), clip, _silence(1.0, rate)])
    events = _run(ep, audio, flush=False)
    kinds = [type(e) for e in events]
    assert kinds[0] is SpeechStarted and kinds[-1] is SpeechEnded
    assert SpeechResumed in kinds
    ended = events[-1]
    resumed = events[kinds.index(SpeechResumed)]
    first_pause = events[1]
    assert isinstance(first_pause, SpeechPaused)
    assert first_pause.speech_end < resumed.timestamp < ended.speech_end
    assert ended.speech_end - T0 == pytest.approx(1.0 + clip.duration + 0.12 + _level_end(clip),
                                                  abs=0.06)
    assert isinstance(events[-2], SpeechPaused) and events[-2].speech_end == ended.speech_end
    assert kinds.count(SpeechEnded) == 1


def test_no_pause_events_when_off_or_not_shorter_than_the_end():
    clip = _clip()
    audio = concat([_silence(1.0, clip.sample_rate), clip, _silence(1.0, clip.sample_rate)])
    for early in (0, 700, 900):
        ep = Endpointer(EndpointerConfig(), clip.sample_rate, early_silence_ms=early)
        assert [type(e) for e in _run(ep, audio, flush=False)] == [SpeechStarted, SpeechEnded]
    with pytest.raises(ValueError):
        Endpointer(EndpointerConfig(), clip.sample_rate, early_silence_ms=-1)


def test_commit_ends_the_utterance_at_once():
    clip = _clip()
    rate = clip.sample_rate
    ep = Endpointer(EndpointerConfig(), rate, early_silence_ms=200)
    assert ep.commit() is None  # nothing in progress
    events = _run(ep, concat([_silence(1.0, rate), clip, _silence(0.3, rate)]), flush=False)
    assert [type(e) for e in events] == [SpeechStarted, SpeechPaused]
    ended = ep.commit()
    assert isinstance(ended, SpeechEnded) and not ended.truncated
    assert (ended.speech_start, ended.speech_end) == (events[1].speech_start,
                                                      events[1].speech_end)
    # the clip ends with a quiet tail, then 0.3 s of silence
    tail = clip.duration - _level_end(clip)
    assert ended.detected_at - ended.speech_end == pytest.approx(tail + 0.3, abs=0.06)
    assert not ep.in_speech
    # what follows is a new utterance
    more = _run(ep, concat([clip, _silence(1.0, rate)]), flush=False)
    assert [type(e) for e in more] == [SpeechStarted, SpeechPaused, SpeechEnded]
