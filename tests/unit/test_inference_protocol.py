"""The inference wire protocol and server, over a real Unix socket with a fake model:
bad magic, oversized, truncated and malformed frames get an error answer (or a closed
connection), never a crashed server; the socket is private; grammars and transcripts survive
the trip; the client with WhisperASR's surface retries a final recognition lost with the
server once after it comes back, and reports it as an ASR error when it does not."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import stat
import struct
import tempfile
import time
from argparse import Namespace
from collections.abc import Hashable, Iterator
from pathlib import Path
from typing import Any

import pytest

from audio_models.frames import AudioFrame
from audio_models.grammar import ChoiceGrammar, DigitGrammar, GrammarResult
from audio_models.inference import FINAL, SPECULATIVE, DeadlineMissed
from audio_models.inference_batch import RecognitionQueue
from audio_models.inference_client import InferenceClient
from audio_models.inference_protocol import (
    MAX_HEADER,
    MAX_PAYLOAD,
    FrameError,
    decode_grammar,
    decode_transcript,
    encode_frame,
    encode_grammar,
    encode_transcript,
    read_frame,
    recognition_args,
)
from audio_models.inference_server import InferenceServer, claim_socket_path
from audio_models.protocols import ModelError, Transcript

CAPS = {"fake": {"languages": ["en", "zh"], "sample_rate": 16000}}


class EchoModel:
    """Answers with what it was asked (language, prompt, grammar kind, samples), slowly
    when told to (`delay_s`), so a test can kill the server mid-request."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s
        self.seen: list[dict[str, Any]] = []

    def key(self, args: dict[str, Any]) -> Hashable:
        return args["model"]

    def encode(self, batch: list[dict[str, Any]]) -> list[Any]:
        return [None] * len(batch)

    def recognise(self, args: dict[str, Any], encoded: Any) -> Transcript:
        if args["model"] != "fake":
            raise ModelError(f"no model {args['model']!r}")
        self.seen.append(args)
        time.sleep(self.delay_s)
        g = args["grammar"]
        heard = None if g is None else GrammarResult("42", "4 2", 0.9, (("43", 0.1),), 0.01)
        text = f"{args['language']}:{args['prompt']}:{args['audio'].samples}"
        return Transcript(text, args["language"], 0.8, float("-inf"), 0.1,
                          args["audio"].duration, 0.01, 0.7, heard)


_DIRS: list[str] = []


@pytest.fixture(autouse=True)
def _remove_socket_dirs() -> Iterator[None]:
    yield
    while _DIRS:
        shutil.rmtree(_DIRS.pop(), ignore_errors=True)


def _sock() -> Path:
    """A socket path short enough for AF_UNIX (pytest's tmp_path can be too long)."""
    _DIRS.append(tempfile.mkdtemp(prefix="inf"))
    return Path(_DIRS[-1]) / "s.sock"


async def _server(path: Path, model: EchoModel) -> tuple[InferenceServer, RecognitionQueue]:
    queue = RecognitionQueue(model, threads=1, max_batch=4, linger_s=0)
    server = InferenceServer(path, queue, CAPS)
    await server.start()
    return server, queue


async def _stop(server: InferenceServer, queue: RecognitionQueue) -> None:
    """As the server process stops on SIGTERM."""
    server.stop_listening()
    await asyncio.to_thread(queue.close)
    await asyncio.sleep(0.05)
    await server.close()


async def _raw(path: Path, data: bytes, answers: int = 1) -> list[dict[str, Any]]:
    reader, writer = await asyncio.open_unix_connection(str(path))
    writer.write(data)
    await writer.drain()
    out = []
    try:
        for _ in range(answers):
            out.append((await asyncio.wait_for(read_frame(reader), 5))[0])
    except asyncio.IncompleteReadError:
        out.append({"closed": True})
    writer.close()
    return out


def _recognize(rid: int = 1, **over: Any) -> dict[str, Any]:
    return {"op": "recognize", "id": rid, "model": "fake", "language": "en", "prompt": None,
            "rate": 8000, "priority": 0, **over}


def test_frames_round_trip_and_bounds() -> None:
    async def go() -> None:
        reader = asyncio.StreamReader()
        reader.feed_data(encode_frame({"op": "x", "n": "中文"}, b"\x01\x00"))
        reader.feed_eof()
        assert await read_frame(reader) == ({"op": "x", "n": "中文"}, b"\x01\x00")
        with pytest.raises(asyncio.IncompleteReadError):
            await read_frame(reader)

    asyncio.run(go())
    with pytest.raises(FrameError):
        encode_frame({}, bytes(MAX_PAYLOAD + 2))
    with pytest.raises(FrameError):
        encode_frame({"x": "a" * MAX_HEADER})


def test_grammars_and_transcripts_survive_the_trip() -> None:
    for g in (DigitGrammar(4, 8), ChoiceGrammar((("yes", ("是", "对")), ("no", ("不",)))), None):
        assert decode_grammar(json.loads(json.dumps(encode_grammar(g)))) == g
    t = Transcript("hi", "en", 0.5, float("-inf"), 0.2, 1.0, 0.1, 0.9,
                   GrammarResult("yes", "yeah", 0.8, (("no", 0.2),), 0.02))
    assert decode_transcript(json.loads(json.dumps(encode_transcript(t)))) == t


@pytest.mark.parametrize("header, payload, error", [
    (_recognize(rate=12345), b"", "rate must be one of"),
    (_recognize(), b"\x00", "whole 16-bit samples"),
    (_recognize(priority=7), b"", "priority"),
    (_recognize(priority=True), b"", "priority"),
    (_recognize(language=None), b"", "language"),
    (_recognize(prompt="x" * 5000), b"", "prompt"),
    (_recognize(deadline_in_s=float("nan")), b"", None),  # NaN is not JSON: refused earlier
    (_recognize(grammar={"digits": [1, 999]}), b"", "digits"),
    (_recognize(grammar={"choices": [["a", "not a list"]]}), b"", "choice"),
    (_recognize(grammar={"digits": [1, 2], "choices": []}), b"", "grammar must be"),
    (_recognize(detect=["en"]), b"", "detect"),
])
def test_malformed_requests_are_refused_with_a_reason(header: dict[str, Any], payload: bytes,
                                                      error: str | None) -> None:
    if error is None:
        with pytest.raises((FrameError, ValueError)):
            recognition_args(json.loads(json.dumps(header, allow_nan=False)), payload)
        return
    with pytest.raises(FrameError, match=error):
        recognition_args(header, payload)


def test_a_hostile_peer_gets_errors_and_the_server_keeps_serving() -> None:
    async def go() -> None:
        path = _sock()
        model = EchoModel()
        server, queue = await _server(path, model)
        try:
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o600  # the service's user only
            bad_magic = await _raw(path, b"GET / HTTP/1.1\r\n\r\n", answers=2)
            assert "bad magic" in bad_magic[0]["error"] and bad_magic[1] == {"closed": True}
            huge = struct.pack(">4sII", b"IVR1", 10, MAX_PAYLOAD + 1)
            over = await _raw(path, huge, answers=2)
            assert "too large" in over[0]["error"] and over[1] == {"closed": True}
            junk = struct.pack(">4sII", b"IVR1", 5, 0) + b"{nope"
            deep = b"[" * 60000  # nested past the JSON parser's recursion limit
            junk += struct.pack(">4sII", b"IVR1", len(deep), 0) + deep
            ok_after = encode_frame(_recognize(7), bytes(1600))
            answers = await _raw(path, junk + encode_frame([1, 2]) +  # type: ignore[arg-type]
                                 encode_frame({"op": "launch"}) + ok_after, answers=5)
            assert "not JSON" in answers[0]["error"] and "not JSON" in answers[1]["error"]
            assert "not a JSON object" in answers[2]["error"]
            assert "unknown op" in answers[3]["error"]
            assert answers[4]["ok"] and answers[4]["id"] == 7  # same connection goes on
            assert answers[4]["transcript"]["text"] == "en:None:800"
            # truncated: the peer vanishes inside a frame
            reader, writer = await asyncio.open_unix_connection(str(path))
            writer.write(encode_frame(_recognize(8), bytes(3200))[:40])
            await writer.drain()
            writer.close()
            wrong_model = await _raw(path, encode_frame(_recognize(9, model="other"),
                                                        bytes(160)))
            assert not wrong_model[0]["ok"] and wrong_model[0]["kind"] == "model"
            hello = await _raw(path, encode_frame({"op": "hello", "id": 0}))
            assert hello[0]["models"] == CAPS  # still serving after all that
        finally:
            await _stop(server, queue)
        assert not path.exists()

    asyncio.run(go())


def test_claiming_the_socket_path_removes_a_dead_servers_socket_only(tmp_path: Path) -> None:
    import socket

    stale = tmp_path / "s.sock"
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(stale))  # bound, never listening: a dead server's leftover
    claim_socket_path(stale)
    assert not stale.exists()
    (tmp_path / "file").write_text("x")
    with pytest.raises(OSError, match="not a socket"):
        claim_socket_path(tmp_path / "file")
    with pytest.raises(OSError, match="too long"):
        claim_socket_path(tmp_path / ("x" * 120))


def test_the_client_speaks_whisper_and_carries_every_option() -> None:
    async def go() -> None:
        path = _sock()
        model = EchoModel()
        server, queue = await _server(path, model)
        client = await InferenceClient(path, retry_s=2).start()
        try:
            with pytest.raises(ModelError, match="does not serve"):
                client.recognizer("base")
            asr = client.recognizer("fake")
            assert asr.identifies_languages and asr.supports_language("zh-CN")
            with pytest.raises(ModelError, match="<\\|fr\\|>"):
                asr.check_language("fr")
            audio = AudioFrame(bytes(3200), 8000)
            results = await asyncio.gather(*[
                asr.recognize(audio, "en", "p", priority=FINAL, full_window=True,
                              deadline=time.monotonic() + 2, grammar=DigitGrammar(4, 4)),
                asr.recognize(audio, "zh", None, detect={"zh": "普通话", "en": None})])
            assert results[0].text == "en:p:1600" and results[0].grammar.value == "42"
            assert results[1].avg_logprob == float("-inf")
            seen = {a["language"]: a for a in model.seen}
            assert seen["en"]["full_window"] and seen["en"]["grammar"] == DigitGrammar(4, 4)
            assert 0 < seen["en"]["deadline_in_s"] <= 2
            assert seen["zh"]["detect"] == {"zh": "普通话", "en": None}
            late = await asyncio.gather(
                asr.recognize(audio, "en", priority=SPECULATIVE,
                              deadline=time.monotonic() - 1), return_exceptions=True)
            assert isinstance(late[0], DeadlineMissed)
            background = await asr.recognize(audio, "en", "leg", priority=2)  # agent legs
            assert background.text == "en:leg:1600"
            sync = await asyncio.to_thread(asr.transcribe_sync, audio, "en", "s")
            assert sync.text == "en:s:1600"
        finally:
            await client.aclose()
            await _stop(server, queue)

    asyncio.run(go())


def test_a_recognition_lost_with_the_server_is_sent_once_more_after_it_restarts() -> None:
    async def go() -> None:
        path = _sock()
        slow = EchoModel(delay_s=0.5)
        server, queue = await _server(path, slow)
        client = await InferenceClient(path, retry_s=1.5).start()
        asr = client.recognizer("fake")
        audio = AudioFrame(bytes(1600), 8000)
        try:
            pending = asyncio.ensure_future(asr.recognize(audio, "en", "again"))
            spec = asyncio.ensure_future(asr.recognize(audio, "en", priority=SPECULATIVE,
                                                       deadline=time.monotonic() + 5))
            await asyncio.sleep(0.2)  # both sent, the first one running
            await server.close()  # the server dies mid-request: no answer, connection gone
            await asyncio.sleep(0.3)
            old = queue
            fresh = EchoModel()
            server, queue = await _server(path, fresh)  # the supervisor's restart
            t = await asyncio.wait_for(pending, 10)
            assert t.text == "en:again:800"
            assert [a["prompt"] for a in fresh.seen] == ["again"]  # by the new server
            await asyncio.to_thread(old.close)
            with pytest.raises(DeadlineMissed):  # a guess is not retried: redone at the end
                await spec
            await _stop(server, queue)  # and now it stays down
            with pytest.raises(ModelError) as lost:
                await asyncio.wait_for(asr.recognize(audio, "en"), 15)
            assert lost.value.retryable  # the call reports an ASR error and reprompts
        finally:
            await client.aclose()
            with_server = path.exists()
            if with_server:
                await _stop(server, queue)

    asyncio.run(go())


def test_the_server_entry_point_serves_a_fake_model(tmp_path: Path) -> None:
    """`serve` with an injected model: ready, answers, stops on SIGTERM-like cancel."""
    from audio_models import inference_server

    async def go() -> None:
        path = _sock()
        args = Namespace(socket=path, threads=1, max_batch=2, batch_window_ms=0.0,
                         model=["fake"])
        task = asyncio.ensure_future(inference_server.serve(args, EchoModel(), CAPS))
        client = await InferenceClient(path, retry_s=5).start(5)
        t = await client.recognizer("fake").recognize(AudioFrame(bytes(320), 16000), "zh")
        assert t.text == "zh:None:160"
        await client.aclose()
        os.kill(os.getpid(), 15)  # the server's own SIGTERM handler stops it
        await asyncio.wait_for(task, 10)
        assert not path.exists()

    asyncio.run(go())


def test_work_queued_on_a_stopping_server_goes_to_its_successor() -> None:
    async def go() -> None:
        path = _sock()
        server, queue = await _server(path, EchoModel(delay_s=0.4))
        client = await InferenceClient(path, retry_s=5).start()
        asr = client.recognizer("fake")
        audio = AudioFrame(bytes(1600), 8000)
        try:
            running = asyncio.ensure_future(asr.recognize(audio, "en", "running"))
            await asyncio.sleep(0.1)
            queued = asyncio.ensure_future(asr.recognize(audio, "en", "queued"))
            await asyncio.sleep(0.1)
            await _stop(server, queue)  # SIGTERM: the running one ends, the queued one is
            successor = EchoModel()  # answered "closing"
            server, queue = await _server(path, successor)
            assert (await asyncio.wait_for(running, 10)).text == "en:running:800"
            assert (await asyncio.wait_for(queued, 10)).text == "en:queued:800"
            assert [a["prompt"] for a in successor.seen] == ["queued"]
            again = await asr.recognize(audio, "zh", "next")  # the new connection holds
            assert again.text == "zh:next:800"
        finally:
            await client.aclose()
            await _stop(server, queue)

    asyncio.run(go())
