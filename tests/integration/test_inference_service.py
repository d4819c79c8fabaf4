"""The machine's inference server for real: `python -m ivr.inference_service` (Whisper base
and tiny.en, the shipped defaults) supervised as `ivr serve --workers N` supervises it,
recognising real speech for a worker's client.

- Through the server, batched or not, a recognition is the one a worker's own model gives:
  the same text for utterances whose encoder calls were batched together, for language
  detection (one encoder pass) and under a digit grammar.
- A worker's emotion features and English prompts come from the server (issue 22): the
  features equal a worker's own, bit for bit.
- The server killed (SIGKILL) with recognitions in flight: the supervisor restarts it with
  back-off, the client reconnects and sends each once more; every one is recognised, and
  the worker logs the outage once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from audio_models.grammar import DigitGrammar
from audio_models.inference_client import InferenceClient
from audio_models.model_store import resolve_asr_model, tiny_en_dir
from audio_models.whisper_asr import WhisperASR
from ivr.cluster.inference_process import READY, InferenceProcess
from testkit.harness import MODEL_DIR
from tests.audio_data import load_clip, manifest

pytestmark = pytest.mark.integration

EN = ("audio/ljspeech/LJ001-0001.flac", "audio/ljspeech/LJ001-0003.flac")  # 9.66 s, 9.67 s:
# one encoder window (20 s), so encoded in one batch
ZH_PROMPT = "以下是普通话的句子。"


@pytest.fixture(scope="module")
def server() -> Iterator[InferenceProcess]:
    data = Path(tempfile.mkdtemp(prefix="ivr-inf-"))  # short: a Unix socket path is bounded
    proc = InferenceProcess([], data, env={"IVR_MODEL_DIR": str(MODEL_DIR)},
                            backoff_s=(0.5, 5.0))
    try:
        proc.start(timeout=120)
        yield proc
    finally:
        proc.stop()
        shutil.rmtree(data, ignore_errors=True)


def _socket(proc: InferenceProcess) -> Path:
    return Path(proc.command[-1]) / "inference.sock"


def test_recognitions_through_the_server_equal_a_workers_own(server: InferenceProcess) -> None:
    tiny = WhisperASR(tiny_en_dir(), name="tiny.en", short_window_s=10.0)
    base = WhisperASR(resolve_asr_model("base", MODEL_DIR), name="base", short_window_s=10.0)
    en = [load_clip("asr_en_misc", rel) for rel in EN]
    zh_row = manifest("asr_zh_aishell")[0]
    zh = load_clip("asr_zh_aishell", zh_row["path"])  # 4.1 s
    short_en = load_clip("asr_en_misc", "audio/ljspeech/LJ001-0002.flac")  # 1.9 s
    detect = {"zh": ZH_PROMPT, "en": None}
    digits = load_clip("asr_en_digits", manifest("asr_en_digits")[0]["path"])

    async def through_server() -> list:
        client = await InferenceClient(_socket(server)).start()
        try:
            t, b = client.recognizer("tiny.en"), client.recognizer("base")
            got = await asyncio.gather(
                *[t.recognize(a, "en", deadline=time.monotonic() + 2) for a in en],
                *[b.recognize(a, "zh", ZH_PROMPT, detect=detect) for a in (zh, short_en)],
                t.recognize(digits, "en", grammar=DigitGrammar(1, 18)))
            return [*got, await client.stats()]
        finally:
            await client.aclose()

    try:
        *got, stats = asyncio.run(through_server())
        want = [tiny.transcribe_sync(a, "en") for a in en]
        want += [base.transcribe_sync(a, "zh", ZH_PROMPT, detect=detect) for a in (zh, short_en)]
        want.append(tiny.transcribe_sync(digits, "en", grammar=DigitGrammar(1, 18)))
    finally:
        tiny.close()
        base.close()
    assert [g.text for g in got] == [w.text for w in want]
    assert [g.language for g in got[2:4]] == ["zh", "en"]  # identified in the same pass
    assert got[4].grammar is not None and got[4].grammar.value == want[4].grammar.value
    assert "printing" in got[0].text.lower()
    assert stats["batches"] >= 1 and stats["batched"] >= 2, stats  # the pairs: one call each


def test_emotion_features_and_piper_speech_from_the_server(
        server: InferenceProcess, caplog: pytest.LogCaptureFixture) -> None:
    """Issue 22: a worker's emotion features come from the server bit for bit equal to its
    own (the same function on the same PCM: accuracy unchanged), and its English prompts are
    rendered there by the same voice (Piper's VITS samples noise: same voice and length,
    not the same bytes)."""
    import numpy as np

    from audio_models.emotion.features import prosody_features
    from audio_models.remote_extras import ServedEmotionModel, ServedPiper
    from audio_models.tts_piper import PiperTTS

    clips = [load_clip("asr_en_misc", EN[0]),
             load_clip("asr_zh_aishell", manifest("asr_zh_aishell")[0]["path"])]
    text = "Your last bill was issued on the third of December."

    async def served() -> tuple[list, object, str]:
        client = await InferenceClient(_socket(server)).start()
        try:
            model, piper = ServedEmotionModel(client), ServedPiper(client)
            turns = [await asyncio.to_thread(model.measure, c) for c in clips]
            speech = await asyncio.to_thread(piper.synthesize_sync, text, "en")
            return turns, speech, piper.voice_id
        finally:
            await client.aclose()

    with caplog.at_level(logging.WARNING, logger="ivr.inference"):
        turns, speech, voice_id = asyncio.run(served())
    assert "in this worker" not in caplog.text  # served, not the local fallback
    for turn, clip in zip(turns, clips, strict=True):
        assert np.array_equal(turn.features, prosody_features(clip))
    own = PiperTTS()
    assert voice_id == own.voice_id  # the prompt cache's key: the same either way
    mine = own.synthesize_sync(text, "en")
    assert speech.sample_rate == mine.sample_rate == 22050  # type: ignore[attr-defined]
    assert abs(speech.duration - mine.duration) < 0.25 * mine.duration  # type: ignore[attr-defined]


def test_server_killed_mid_request_restarts_and_nothing_is_lost(
        server: InferenceProcess, caplog: pytest.LogCaptureFixture) -> None:
    clips = [load_clip("asr_en_misc", rel) for rel in (*EN, "audio/ljspeech/LJ001-0004.flac")]
    stop = threading.Event()

    def supervise() -> None:  # the cluster supervisor's loop
        while not stop.wait(0.1):
            server.poll()

    async def go() -> list:
        client = await InferenceClient(_socket(server), retry_s=60).start()
        try:
            asr = client.recognizer("tiny.en")
            calls = [asyncio.ensure_future(asr.recognize(a, "en",
                                                         deadline=time.monotonic() + 2))
                     for a in clips]
            await asyncio.sleep(0.3)  # sent; the first batch is being recognised
            assert server.proc is not None
            os.kill(server.proc.pid, signal.SIGKILL)
            return await asyncio.wait_for(asyncio.gather(*calls), 90)
        finally:
            await client.aclose()

    first_pid = server.proc.pid if server.proc else None
    watcher = threading.Thread(target=supervise, daemon=True)
    watcher.start()
    try:
        with caplog.at_level(logging.INFO, logger="ivr.asr"):
            results = asyncio.run(go())
    finally:
        stop.set()
        watcher.join(5)
    texts = [r.text.lower() for r in results]
    assert "printing" in texts[0] and "chinese" in texts[1] and "block books" in texts[2]
    assert server.restarts == 1 and server.proc is not None and server.proc.pid != first_pid
    assert READY in server.log()  # the restarted server's own log
    lost = [r.getMessage() for r in caplog.records if "connection lost" in r.getMessage()]
    assert len(lost) == 1, [r.getMessage() for r in caplog.records]  # logged once
    assert re.search(r": [1-9]\d* recognition\(s\) in flight", lost[0]), lost[0]
    assert any("reconnected" in r.getMessage() for r in caplog.records)
