"""The inference server's work besides recognition (issue 22), over a real Unix socket with
fake feature and voice functions: a worker's emotion features and Piper prompts come from the
server bit for bit; malformed requests are refused; and a worker whose server is gone (or
never offered the work) does it itself, saying so once in its log."""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from audio_models.emotion import N_FEATURES
from audio_models.frames import AudioFrame
from audio_models.inference_batch import RecognitionQueue
from audio_models.inference_client import InferenceClient
from audio_models.inference_extras import MAX_PENDING, Busy, ExtraWork
from audio_models.inference_protocol import (
    MAX_TEXT,
    FrameError,
    encode_frame,
    prosody_args,
    read_frame,
    speech_args,
)
from audio_models.inference_server import InferenceServer
from audio_models.protocols import TTSCapabilities
from audio_models.remote_extras import ServedEmotionModel, ServedPiper
from audio_models.tts_piper import piper_identity

RNG = np.random.default_rng(7)
VECTOR = RNG.normal(size=N_FEATURES).astype(np.float32)  # what the "server" computes


class FakeVoice:
    """A Piper stand-in with the real voice's identity: 22.05 kHz, a sample per character."""

    def __init__(self) -> None:
        self.voice_id, self.capabilities = piper_identity()
        self.texts: list[str] = []

    def synthesize_sync(self, text: str, language: str = "en") -> AudioFrame:
        self.texts.append(text)
        return AudioFrame(np.arange(len(text), dtype="<i2").tobytes(), 22050)


_DIRS: list[str] = []


@pytest.fixture(autouse=True)
def _remove_socket_dirs() -> Iterator[None]:
    yield
    while _DIRS:
        shutil.rmtree(_DIRS.pop(), ignore_errors=True)


async def _serve(extras: ExtraWork) -> tuple[InferenceServer, Path]:
    _DIRS.append(tempfile.mkdtemp(prefix="ext"))
    path = Path(_DIRS[-1]) / "s.sock"
    queue = RecognitionQueue(None, threads=1, max_batch=1, linger_s=0)  # type: ignore[arg-type]
    server = InferenceServer(path, queue, {}, extras)
    await server.start()
    return server, path


async def _raw(path: Path, header: dict[str, Any], payload: bytes = b"") -> tuple[dict, bytes]:
    reader, writer = await asyncio.open_unix_connection(str(path))
    writer.write(encode_frame(header, payload))
    answer = await asyncio.wait_for(read_frame(reader), 5)
    writer.close()
    return answer


def test_prosody_and_speech_requests_are_checked() -> None:
    pcm = bytes(3200)
    assert prosody_args({"rate": 16000}, pcm).samples == 1600
    for header, payload in [({"rate": 11025}, pcm), ({"rate": True}, pcm),
                            ({"rate": 16000}, b""), ({"rate": 16000}, bytes(3)),
                            ({"rate": 8000}, bytes(8000 * 2 * 61))]:
        with pytest.raises(FrameError):
            prosody_args(header, payload)
    assert speech_args({"text": "Hello.", "language": "en-US"}) == ("Hello.", "en-US")
    for header in [{"text": "  ", "language": "en"}, {"text": "x" * (MAX_TEXT + 1),
                   "language": "en"}, {"text": "Hi", "language": "e" * 17},
                   {"text": 3, "language": "en"}, {"text": "Hi"}]:
        with pytest.raises(FrameError):
            speech_args(header)


def test_the_server_serves_features_and_speech_and_refuses_what_it_lacks() -> None:
    voice = FakeVoice()

    async def go() -> None:
        server, path = await _serve(ExtraWork(prosody=lambda f: VECTOR, voice=voice))
        hello, _ = await _raw(path, {"op": "hello", "id": 0})
        assert hello["extras"]["prosody"] is True
        assert hello["extras"]["speak"]["voice_id"] == voice.voice_id
        ok, _ = await _raw(path, {"op": "prosody", "id": 1, "rate": 8000}, bytes(1600))
        assert ok["ok"] and np.array_equal(np.asarray(ok["features"], np.float32), VECTOR)
        spoken, pcm = await _raw(path, {"op": "speak", "id": 2, "text": "Hi", "language": "en"})
        assert spoken["ok"] and spoken["rate"] == 22050 and len(pcm) == 4
        zh, _ = await _raw(path, {"op": "speak", "id": 3, "text": "你好", "language": "zh"})
        assert zh["kind"] == "model"  # espeak stays in the worker: no voice for zh here
        bad, _ = await _raw(path, {"op": "prosody", "id": "x", "rate": 8000}, bytes(2))
        assert bad["kind"] == "bad_request"
        odd, _ = await _raw(path, {"op": "prosody", "id": 4, "rate": 8000}, bytes(3))
        assert odd["kind"] == "bad_request" and "16-bit" in odd["error"]
        await server.close()
        bare, bare_path = await _serve(ExtraWork())
        hello, _ = await _raw(bare_path, {"op": "hello", "id": 0})
        assert hello["extras"] == {}
        none, _ = await _raw(bare_path, {"op": "prosody", "id": 1, "rate": 8000}, bytes(2))
        assert none["kind"] == "model" and not none["ok"]
        await bare.close()

    asyncio.run(go())


def test_waiting_extra_work_is_bounded() -> None:
    import threading

    gate = threading.Event()
    work = ExtraWork(prosody=lambda f: (gate.wait(5), VECTOR)[1])
    frame = AudioFrame(bytes(2), 8000)
    futures = [work.prosody(frame) for _ in range(MAX_PENDING)]
    with pytest.raises(Busy):
        work.prosody(frame)
    gate.set()
    assert all(len(f.result(5)) == N_FEATURES for f in futures)
    work.prosody(frame).result(5)  # room again
    work.close()


def test_extras_load_on_their_thread_and_requests_wait_for_the_load(tmp_path: Path) -> None:
    import threading

    gate = threading.Event()
    work = ExtraWork(offers={"prosody": True},
                     load=lambda: (gate.wait(5), (lambda f: VECTOR), None)[1:])
    pending = work.prosody(AudioFrame(bytes(2), 8000))
    assert not pending.done()  # behind the load
    gate.set()
    assert pending.result(5) == [float(x) for x in VECTOR]
    with pytest.raises(LookupError):
        work.speak("Hi", "en")  # not offered
    work.close()

    def broken() -> tuple[object, object]:
        raise OSError("voice file unreadable")

    failed = ExtraWork(offers={"prosody": True}, load=broken)
    with pytest.raises(RuntimeError, match="not loaded"):
        failed.prosody(AudioFrame(bytes(2), 8000)).result(5)
    failed.close()
    from audio_models.inference_extras import load_extras

    nothing = load_extras(False, str(tmp_path / "missing.onnx"))  # a bad voice: no offer
    assert nothing.offers == {}
    nothing.close()


def test_a_worker_uses_the_servers_features_and_falls_back_when_it_is_gone(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    import audio_models.emotion.features as features

    local_calls: list[int] = []
    local = np.zeros(N_FEATURES, np.float32)
    monkeypatch.setattr(features, "prosody_features",
                        lambda f: (local_calls.append(f.samples), local)[1])
    frame = AudioFrame(bytes(3200), 16000)

    async def go() -> None:
        server, path = await _serve(ExtraWork(prosody=lambda f: VECTOR))
        client = await InferenceClient(path, retry_s=2).start(5)
        model = ServedEmotionModel(client)
        turn = await asyncio.to_thread(model.measure, frame)
        assert np.array_equal(turn.features, VECTOR) and not local_calls  # bit for bit
        baseline = model.new_baseline("en")
        assert model.judge(turn, baseline).anger >= 0.0  # the classifier stays local
        await server.close()  # gone, nobody restarts it
        await asyncio.sleep(0.1)
        for _ in range(2):
            turn = await asyncio.to_thread(model.measure, frame)
            assert turn.features is local
        assert local_calls == [1600, 1600]
        await client.aclose()

    with caplog.at_level(logging.WARNING, logger="ivr.inference"):
        asyncio.run(go())
    said = [r.getMessage() for r in caplog.records if "in this worker" in r.getMessage()]
    assert len(said) == 1 and "emotion features" in said[0] and "unavailable" in said[0]


def test_a_worker_renders_piper_prompts_on_the_server_with_the_same_cache_identity(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    import audio_models.tts_piper as tts_piper

    served = FakeVoice()
    local = FakeVoice()
    monkeypatch.setattr(tts_piper, "PiperTTS", lambda voice=None: local)

    async def go() -> None:
        server, path = await _serve(ExtraWork(voice=served))
        client = await InferenceClient(path, retry_s=2).start(5)
        piper = ServedPiper(client)
        assert (piper.voice_id, piper.capabilities) == piper_identity()  # cache keys agree
        assert piper.capabilities == TTSCapabilities(("en",), 22050)
        frame = await asyncio.to_thread(piper.synthesize_sync, "Hello there.", "en")
        assert frame.sample_rate == 22050 and frame.samples == 12
        assert served.texts == ["Hello there."] and not local.texts
        # on the loop thread it cannot wait for the loop's own answer: rendered here
        assert piper.synthesize_sync("on the loop", "en").samples == 11
        await server.close()
        await asyncio.sleep(0.1)
        frame = await asyncio.to_thread(piper.synthesize_sync, "Goodbye.", "en")
        assert local.texts == ["on the loop", "Goodbye."] and frame.samples == 8
        await client.aclose()

    with caplog.at_level(logging.WARNING, logger="ivr.inference"):
        asyncio.run(go())
    assert any("Piper prompts rendered in this worker" in r.getMessage()
               for r in caplog.records)
