"""The short encoder window: which utterances get it, and the hook into faster-whisper."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import numpy as np
import pytest

from audio_models import whisper_asr
from audio_models.whisper_asr import (
    FULL_WINDOW_FRAMES,
    SHORT_WINDOW_MAX_FILL,
    SHORT_WINDOW_MIN_S,
    window_frames,
)


@pytest.mark.parametrize(("duration", "window", "frames"), [
    (2.5, 10.0, 1000),  # a typical request
    (SHORT_WINDOW_MIN_S, 10.0, 1000),
    (10.0 * SHORT_WINDOW_MAX_FILL, 10.0, 1000),  # fills half the window
    (5.01, 10.0, 1100),  # e.g. an 8-digit string (lost digits filling 10 s): half of 11 s
    (7.0, 10.0, 1400),  # a long request: a window it fills half of
    (14.9, 10.0, FULL_WINDOW_FRAMES),
    (20.0, 10.0, FULL_WINDOW_FRAMES),  # never more than Whisper's 30 s
    (0.6, 10.0, FULL_WINDOW_FRAMES),  # a single word: repetitions in a short window
    (2.5, 0.0, FULL_WINDOW_FRAMES),  # off
    (2.5, 30.0, FULL_WINDOW_FRAMES),  # the full window anyway
    (3.0, 7.5, 750),
])
def test_window_frames(duration: float, window: float, frames: int) -> None:
    assert window_frames(duration, window) == frames


def test_the_hook_pads_to_the_calling_threads_window_only() -> None:
    import faster_whisper.transcribe as fwt

    whisper_asr._install_window_hook()
    whisper_asr._install_window_hook()  # idempotent: not wrapped twice
    assert fwt.pad_or_trim.ivr_window_hook
    features = np.zeros((80, 250), dtype=np.float32)
    assert fwt.pad_or_trim(features).shape == (80, FULL_WINDOW_FRAMES)  # no window set
    seen: dict[str, tuple[int, ...]] = {}

    def other_thread() -> None:
        seen["other"] = fwt.pad_or_trim(features).shape

    whisper_asr._window.frames = 1000
    try:
        assert fwt.pad_or_trim(features).shape == (80, 1000)
        assert fwt.pad_or_trim(features, 500).shape == (80, 500)  # an explicit length stays
        t = threading.Thread(target=other_thread)
        t.start()
        t.join()
    finally:
        whisper_asr._window.frames = 0
    assert seen["other"] == (80, FULL_WINDOW_FRAMES)


def _seg(tokens: int, ratio: float = 1.5, logprob: float = -0.3, text: str = "") -> SimpleNamespace:
    return SimpleNamespace(tokens=[1] * tokens, compression_ratio=ratio, avg_logprob=logprob,
                           text=text)


def test_a_doubtful_short_window_result_is_redone_in_the_full_window() -> None:
    assert not whisper_asr._doubtful([_seg(12)], 2.5)
    assert not whisper_asr._doubtful([], 2.5)  # nothing said: nothing to redo
    assert whisper_asr._doubtful([_seg(12, ratio=3.1)], 2.5)  # "0 0 0 0 ..." repetition
    assert whisper_asr._doubtful([_seg(12, logprob=-1.4)], 2.5)  # unsure
    cap = whisper_asr._token_cap(2.5)
    assert cap == 50
    assert whisper_asr._doubtful([_seg(cap)], 2.5)  # ran into the cap: a loop


def test_a_transcript_that_only_repeats_the_prompt_is_doubtful() -> None:
    """English said to a Mandarin first turn came back as "以下是普通" (the decoder's prompt)."""
    prompt = "以下是普通话的句子。"
    assert whisper_asr._doubtful([_seg(5, text="以下是普通")], 2.4, prompt)
    assert not whisper_asr._doubtful([_seg(5, text="以下是普通")], 2.4)  # no prompt given
    assert not whisper_asr._doubtful([_seg(5, text="我要查话费")], 2.4, prompt)
    assert not whisper_asr._doubtful([_seg(2, text="以下")], 2.4, prompt)  # too short to tell
