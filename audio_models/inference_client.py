"""A SIP worker's side of the machine's inference server: the recogniser its calls use.

`InferenceClient` is one worker process's connection (every call of the worker shares it;
requests are multiplexed by id and answered in any order). `RemoteWhisper` is one served
model behind the same surface as `WhisperASR` (`recognize`, `transcribe_sync`, languages and
capabilities), so call sessions, `Recognizers` and the grammar code do not know the
difference.

When the server dies (or is restarted by the supervisor) the connection drops: every request
in flight is kept, the client reconnects (the server is back within seconds) and sends each
final recognition **once more**, with its original deadline, so it goes to the front of the
queue. A second failure, or no server within `retry_s`, raises a retryable `ModelError`: the
call reports an ASR error and reprompts; a speculative request is not retried
(`DeadlineMissed`: it is redone at the end of speech). The outage is logged once, not per
request.

Threads: `recognize` runs on the worker's event loop (no blocking I/O); `transcribe_sync`
(tools, `ivr test`) opens its own short connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from audio_models.frames import AudioFrame
from audio_models.grammar import Grammar
from audio_models.inference import FINAL, DeadlineMissed
from audio_models.inference_protocol import (
    decode_transcript,
    encode_frame,
    encode_grammar,
    read_frame,
)
from audio_models.languages import ModelLanguages
from audio_models.protocols import ASRCapabilities, ModelError, Transcript

log = logging.getLogger("ivr.asr")


class _Lost(ConnectionError):
    """The connection dropped with the request in flight."""


class _Connection:
    """One connection to the server and the requests sent on it (failed with it)."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.reader_task: asyncio.Task[None] | None = None
        self.draining = False  # its server is stopping: answers still come, no new requests

    @property
    def usable(self) -> bool:
        return not self.draining and not self.writer.is_closing()

    def fail(self, exc: BaseException) -> None:
        self.writer.close()
        for fut in self.pending.values():
            if not fut.done():
                fut.set_exception(exc)


class InferenceClient:
    """One worker's multiplexed connection to the inference server at `path`."""

    def __init__(self, path: Path | str, *, retry_s: float = 20.0) -> None:
        self.path = str(path)
        self.retry_s = retry_s
        self.models: dict[str, ASRCapabilities] = {}
        self.extras: dict[str, Any] = {}  # what else the server offers (`prosody`, `speak`)
        self.loop: asyncio.AbstractEventLoop | None = None  # the one it was started on
        self._ids = itertools.count(1)
        self._conn: _Connection | None = None  # the one new requests go on
        self._open: set[_Connection] = set()  # and any still draining
        self._connect_lock = asyncio.Lock()
        self._down_since: float | None = None
        self._closed = False

    async def start(self, timeout_s: float = 120.0) -> InferenceClient:
        """Connect (waiting for a server that is still loading its models) and learn what
        it serves."""
        self.loop = asyncio.get_running_loop()
        await self._ensure(time.monotonic() + timeout_s)
        return self

    async def reachable(self, timeout_s: float = 1.0) -> bool:
        """Connected to the server, or connected again within `timeout_s` (`/api/ready`:
        a restarted server is found without waiting for the next recognition)."""
        try:
            await self._ensure(time.monotonic() + timeout_s)
        except ModelError:
            return False
        return True

    async def stats(self) -> dict[str, Any]:
        """The server's queue counters (recognised, batches, batched, dropped, max_queue)."""
        answer = await self.request({"op": "stats"}, b"", retry=False, deadline=None)
        return {**answer["stats"], "queued": answer["queued"]}

    def recognizer(self, name: str) -> RemoteWhisper:
        if name not in self.models:
            raise ModelError(f"the inference server does not serve ASR model {name!r} "
                             f"(it has {', '.join(sorted(self.models)) or 'none'})")
        return RemoteWhisper(self, name, self.models[name])

    async def aclose(self) -> None:
        self._closed = True
        self._conn = None
        for conn in list(self._open):
            if conn.reader_task is not None:
                conn.reader_task.cancel()
                await asyncio.gather(conn.reader_task, return_exceptions=True)
            conn.fail(ModelError("inference client closed"))
        self._open.clear()

    # ------------------------------------------------------------ requests
    async def request(self, header: dict[str, Any], payload: bytes, *, retry: bool,
                      deadline: float | None, connect_s: float | None = None) -> dict[str, Any]:
        """Send one request and await its answer (an answer's payload is its `_payload`);
        `retry`: once more after a reconnect if the connection drops. `deadline` (monotonic)
        is re-sent as time left each time; `connect_s` bounds the wait for a server (default
        `retry_s`)."""
        for attempt in (0, 1):
            conn = await self._ensure(time.monotonic() + (
                self.retry_s if connect_s is None else connect_s))
            rid = next(self._ids)
            fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
            conn.pending[rid] = fut
            sent = dict(header, id=rid)
            if deadline is not None:
                sent["deadline_in_s"] = deadline - time.monotonic()
            try:
                conn.writer.write(encode_frame(sent, payload))
                answer = await fut
                if answer.get("kind") != "closing" or not retry or attempt:
                    return answer
                conn.draining = True  # a server stopping: its successor takes it
            except (_Lost, ConnectionError) as e:
                if not retry or attempt:
                    raise ModelError(f"inference server connection lost: {e}",
                                     retryable=True) from None
                log.debug("recognition lost with the inference server: sending it again")
            except asyncio.CancelledError:
                self._cancel_remote(conn, rid)
                raise
            finally:
                conn.pending.pop(rid, None)
        raise AssertionError("unreachable")

    @staticmethod
    def _cancel_remote(conn: _Connection, rid: int) -> None:
        with contextlib.suppress(Exception):
            if not conn.writer.is_closing():
                conn.writer.write(encode_frame({"op": "cancel", "id": rid}))

    # ------------------------------------------------------------ the connection
    async def _ensure(self, until: float) -> _Connection:
        async with self._connect_lock:
            while True:
                if self._closed:
                    raise ModelError("inference client closed")
                if self._conn is not None and self._conn.usable:
                    return self._conn
                try:
                    self._conn = await self._connect()
                except (OSError, asyncio.IncompleteReadError, ModelError) as e:
                    if time.monotonic() >= until:
                        raise ModelError(f"no inference server at {self.path}: {e}",
                                         retryable=True) from None
                    await asyncio.sleep(0.2)

    async def _connect(self) -> _Connection:
        reader, writer = await asyncio.open_unix_connection(self.path, limit=256 * 1024)
        try:
            writer.write(encode_frame({"op": "hello", "id": 0}))
            header, _ = await asyncio.wait_for(read_frame(reader), 10)
            if not header.get("ok"):
                raise ModelError(f"inference server refused: {header.get('error')}")
            models = {name: ASRCapabilities(tuple(c["languages"]), int(c["sample_rate"]),
                                            False, name)
                      for name, c in header["models"].items()}
        except (TimeoutError, OSError, ValueError, KeyError, TypeError) as e:
            writer.close()
            raise ModelError(f"no usable answer to hello: {e}") from None
        except BaseException:
            writer.close()
            raise
        self.models = models
        extras = header.get("extras")
        self.extras = extras if isinstance(extras, dict) else {}
        conn = _Connection(writer)
        self._open.add(conn)
        conn.reader_task = asyncio.get_running_loop().create_task(self._read(reader, conn))
        if self._down_since is not None:
            log.warning("reconnected to the inference server (pid %s) after %.1f s",
                        header.get("pid"), time.monotonic() - self._down_since)
            self._down_since = None
        return conn

    async def _read(self, reader: asyncio.StreamReader, conn: _Connection) -> None:
        """Answers of `conn` to their requests; when it ends, its requests in flight fail
        with `_Lost` (and are sent once more on the next connection)."""
        why = "closed"
        try:
            while True:
                header, payload = await read_frame(reader)
                header["_payload"] = payload  # (rendered speech; b"" for the rest)
                fut = conn.pending.get(header.get("id"))  # type: ignore[arg-type]
                if fut is not None and not fut.done():
                    fut.set_result(header)
                elif header.get("id") is None and not header.get("ok"):
                    log.warning("inference server: %s", header.get("error"))
        except (asyncio.IncompleteReadError, ConnectionError, ValueError) as e:
            why = str(e) or type(e).__name__
        if not self._closed and conn is self._conn:  # (a draining one's end is expected)
            in_flight = sum(not f.done() for f in conn.pending.values())
            if self._down_since is None:
                log.error("inference server connection lost (%s): %d recognition(s) in "
                          "flight", why, in_flight)
                self._down_since = time.monotonic()
        self._open.discard(conn)
        conn.fail(_Lost(why))


class RemoteWhisper(ModelLanguages):
    """One model of the inference server, with `WhisperASR`'s surface."""

    def __init__(self, client: InferenceClient, name: str, caps: ASRCapabilities) -> None:
        self.client, self.name, self.capabilities = client, name, caps
        self.model_dir = Path(name)

    async def recognize(
        self, audio: AudioFrame, language: str, initial_prompt: str | None = None, *,
        priority: int = FINAL, deadline: float | None = None,
        detect: Mapping[str, str | None] | None = None, full_window: bool = False,
        grammar: Grammar | None = None,
    ) -> Transcript:
        """Recognised by the server; see the module docstring for what happens when it dies."""
        header = {"op": "recognize", "model": self.name, "language": language,
                  "prompt": initial_prompt, "detect": dict(detect) if detect else None,
                  "full_window": full_window, "grammar": encode_grammar(grammar),
                  "priority": priority, "rate": audio.sample_rate}
        try:
            answer = await self.client.request(header, audio.pcm, retry=priority == FINAL,
                                               deadline=deadline)
        except ModelError:
            if priority != FINAL:
                raise DeadlineMissed("speculative recognition lost with the inference "
                                     "server") from None
            raise
        if answer.get("ok"):
            return decode_transcript(answer["transcript"])
        if answer.get("kind") == "deadline" or (
                priority != FINAL and answer.get("kind") in ("busy", "closing")):
            raise DeadlineMissed(str(answer.get("error")))  # a guess: redone at the end
        raise ModelError(f"inference server: {answer.get('error')}",
                         retryable=bool(answer.get("retryable")))

    def transcribe_sync(
        self, audio: AudioFrame, language: str, initial_prompt: str | None = None, *,
        detect: Mapping[str, str | None] | None = None, full_window: bool = False,
        grammar: Grammar | None = None,
    ) -> Transcript:
        """Blocking, on a connection of its own (not from an event loop thread)."""
        async def once() -> Transcript:
            client = InferenceClient(self.client.path, retry_s=self.client.retry_s)
            await client.start(self.client.retry_s)
            try:
                return await RemoteWhisper(client, self.name, self.capabilities).recognize(
                    audio, language, initial_prompt, detect=detect, full_window=full_window,
                    grammar=grammar)
            finally:
                await client.aclose()

        return asyncio.run(once())

    def warmup(self) -> float:
        return 0.0  # the server warmed its models up when it loaded them

    def close(self) -> None:
        pass  # the connection belongs to the client (closed by the service)
