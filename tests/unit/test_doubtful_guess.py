"""A speculative pass whose short-window result is doubtful is not redone in Whisper's full
window (`DoubtfulGuess`, a `DeadlineMissed`): the call recognises the utterance again at the
end of speech, straight in the full window when the audio is the same. A final recognition
is still redone as before."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

import pytest

from audio_models import whisper_asr
from audio_models.frames import AudioFrame
from audio_models.inference import FINAL, SPECULATIVE, DeadlineMissed
from audio_models.inference_batch import WhisperBatches
from audio_models.protocols import ASRCapabilities
from audio_models.whisper_asr import FULL_WINDOW_FRAMES, DoubtfulGuess, WhisperASR
from tests.unit.call_runner import Call, run_call, speech_clip
from tests.unit.fakes import transcript
from tests.unit.test_session_early import AGENT, Timeline, english_menu, silence

SURE = SimpleNamespace(tokens=[1] * 10, compression_ratio=1.4, avg_logprob=-0.2,
                       text="two tickets", start=0.0, end=3.0, no_speech_prob=0.01)
LOOP = SimpleNamespace(tokens=[1] * 10, compression_ratio=3.2, avg_logprob=-0.2,
                       text="0 0 0 0 0 0", start=0.0, end=3.0, no_speech_prob=0.01)


def _asr(results: list[list[Any]]) -> tuple[WhisperASR, list[int]]:
    """A WhisperASR whose decoding is scripted (`_transcribe`): the windows it was asked for."""
    asr = object.__new__(WhisperASR)
    asr.capabilities = ASRCapabilities(languages=("en", "zh"), sample_rate=16000,
                                       streaming=False, model_name="fake")
    asr.name, asr.short_window_s = "fake", 10.0
    asr.last_window_frames = FULL_WINDOW_FRAMES
    asr._t2s_lock, asr._t2s = threading.Lock(), None
    asr.scheduler, asr._closed = None, False
    asr._executor = ThreadPoolExecutor(1)
    windows: list[int] = []

    def transcribe(samples, lang, prompt, frames, duration, *, capped=False):  # type: ignore[no-untyped-def]
        windows.append(frames)
        return results.pop(0)

    asr._transcribe = transcribe  # type: ignore[method-assign]
    return asr, windows


def _speech(seconds: float = 3.0) -> AudioFrame:
    return AudioFrame(b"\x10\x00" * int(16000 * seconds), 16000)


def test_a_doubtful_speculative_result_is_dropped_not_redone() -> None:
    asr, windows = _asr([[LOOP]])
    with pytest.raises(DoubtfulGuess) as caught:
        asr.transcribe_sync(_speech(), "en", speculative=True)
    assert windows == [1000]  # the short window only: no 30 s redo
    assert isinstance(caught.value, DeadlineMissed) and caught.value.doubtful


def test_a_doubtful_final_result_is_still_redone_in_the_full_window() -> None:
    asr, windows = _asr([[LOOP], [SURE]])
    t = asr.transcribe_sync(_speech(), "en")
    assert windows == [1000, FULL_WINDOW_FRAMES] and t.text == "two tickets"


def test_a_sure_speculative_result_is_returned() -> None:
    asr, windows = _asr([[SURE]])
    assert asr.transcribe_sync(_speech(), "en", speculative=True).text == "two tickets"
    assert windows == [1000]


def test_recognize_marks_speculative_priority_only() -> None:
    asr, _ = _asr([[LOOP], [LOOP], [SURE]])

    async def both() -> None:
        with pytest.raises(DoubtfulGuess):
            await asr.recognize(_speech(), "en", priority=SPECULATIVE)
        t = await asr.recognize(_speech(), "en", priority=FINAL)
        assert t.text == "two tickets"

    asyncio.run(both())


def test_the_inference_server_passes_speculative_on() -> None:
    seen: list[bool] = []

    class Model:
        short_window_s = 10.0

        def transcribe_sync(self, *a: Any, speculative: bool = False, **k: Any) -> Any:
            seen.append(speculative)
            return transcript("x")

    batches = WhisperBatches({"base": Model()})
    for priority in (SPECULATIVE, FINAL, 2):
        batches.recognise({"model": "base", "audio": _speech(), "language": "en",
                           "prompt": None, "detect": None, "full_window": False,
                           "grammar": None, "priority": priority}, None)
    assert seen == [True, False, False]
    assert whisper_asr._window.encoded is None


def test_the_call_goes_straight_to_the_full_window_after_a_doubtful_guess(tmp_path):
    async def scenario(c: Call) -> None:
        await english_menu(c)
        tl = Timeline()
        tl.feed(c, silence(0.5), speech_clip(), silence(0.3))  # a pause: speculation
        await asyncio.sleep(0.1)
        tl.feed(c, silence(0.6))  # the end of speech, no voice since: the same audio
        await c.wait_event("turn", count=2)
        c.session.on_hangup("caller_hangup")

    c = run_call(tmp_path, scenario, asr_script=[DoubtfulGuess("doubtful"), transcript(AGENT)],
                 speed=0.01, early_commit_score=0)
    assert [p for p, _d in c.asr.urgency] == [SPECULATIVE, FINAL]
    assert c.asr.full_windows == [False, True]
    assert [e["why"] for e in c.events("asr_early_discarded")] == ["doubtful"]
    assert not c.events("error")
    turn = c.row()["turns"][1]
    assert (turn["caller_text"], turn["intent"]) == (AGENT, "agent")
