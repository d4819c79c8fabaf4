"""The machine's inference server: Whisper loaded once, recognising for every SIP worker.

`python -m audio_models.inference_server --socket PATH --model base --model tiny.en ...`
(`ivr serve --workers N` starts and supervises it: `ivr.inference_service`). Each worker's
`InferenceClient` keeps one connection to the Unix socket (mode 0600: the service's user
only) and sends its calls' recognitions as frames (`audio_models.inference_protocol`); all of
them wait in one `RecognitionQueue` (oldest caller first, batched, speculative work on idle
capacity only: `audio_models.inference_batch`). One encoder pass per utterance still serves
language detection, the free transcript and the grammar: the request carries all three and
`WhisperASR.transcribe_sync` does them together, as in a worker. With `--emotion` and
`--tts-voice` it also computes callers' prosody features and renders prompts for the workers
(`audio_models.inference_extras`), so a worker holds none of those models either.

Nothing a peer sends can stop the server: a bad frame is answered with an error (and, when
the stream is out of step, that connection is closed); a peer that goes away has its queued
requests cancelled; connections and queued requests are bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import socket
import stat
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from audio_models.inference import DeadlineMissed
from audio_models.inference_batch import BatchModel, QueueFull, RecognitionQueue, ServerClosing
from audio_models.inference_extras import Busy, ExtraWork, load_extras
from audio_models.inference_protocol import (
    MAX_PAYLOAD,
    FrameError,
    encode_frame,
    encode_transcript,
    prosody_args,
    read_frame,
    recognition_args,
    speech_args,
)
from audio_models.protocols import ModelError, Transcript

log = logging.getLogger("ivr.inference")

MAX_CONNECTIONS = 64  # workers of one machine, with room for restarts and tools
MAX_PER_CONNECTION = 64  # a worker has at most 4 calls, one or two recognitions each


class InferenceServer:
    """Serves `queue` (over `models`' capabilities) on a Unix socket at `path`."""

    def __init__(self, path: Path, queue: RecognitionQueue, capabilities: dict[str, Any],
                 extras: ExtraWork | None = None) -> None:
        self.path = Path(path)
        self.queue = queue
        self.capabilities = capabilities  # model name -> {"languages": [...], "sample_rate"}
        self.extras = extras or ExtraWork()  # prosody features, Piper (none: refused)
        self._server: asyncio.AbstractServer | None = None
        self._connections = 0
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        claim_socket_path(self.path)
        old = os.umask(0o177)  # the socket is born private (no window with wider rights)
        try:
            self._server = await asyncio.start_unix_server(self._serve, path=str(self.path),
                                                           limit=64 * 1024)
        finally:
            os.umask(old)
        os.chmod(self.path, 0o600)

    def stop_listening(self) -> None:
        """No new connections (a successor may bind the path); open ones stay for now."""
        if self._server is not None:
            self._server.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def close(self) -> None:
        """Stop listening and drop every connection: their clients reconnect to the next
        server and send what was in flight once more. (A clean stop: `stop_listening`,
        `queue.close` to answer what is queued "closing", then this.)"""
        self.stop_listening()
        for writer in list(self._writers):
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._connections >= MAX_CONNECTIONS:
            writer.write(encode_frame(_error(None, "too many connections", "busy")))
            writer.close()
            return
        self._connections += 1
        self._writers.add(writer)
        conn = _Connection(self, writer)
        try:
            while True:
                try:
                    header, payload = await read_frame(reader)
                except FrameError as e:
                    conn.send(_error(None, str(e), "bad_request"))
                    if e.fatal:
                        log.warning("inference: closing a connection that sent %s", e)
                        break
                    await writer.drain()
                    continue
                conn.handle(header, payload)
                await writer.drain()  # a peer that sends but never reads is not read either
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the peer went away (a worker stopped or restarted)
        finally:
            self._connections -= 1
            self._writers.discard(writer)
            self.queue.cancel(lambda j: j.owner is conn)
            conn.closed = True
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


class _Connection:
    """One peer: its requests in flight, answers written from the loop."""

    def __init__(self, server: InferenceServer, writer: asyncio.StreamWriter) -> None:
        self.server, self.writer = server, writer
        self.loop = asyncio.get_running_loop()
        self.in_flight: dict[Any, Any] = {}
        self.extra_in_flight = 0  # prosody and speech requests of this peer
        self.closed = False

    def send(self, header: dict[str, Any], payload: bytes = b"") -> None:
        if not self.closed and not self.writer.is_closing():
            self.writer.write(encode_frame(header, payload))

    def handle(self, header: dict[str, Any], payload: bytes) -> None:
        op, rid = header.get("op"), header.get("id")
        if op == "hello":
            self.send({"id": rid, "ok": True, "pid": os.getpid(),
                       "models": self.server.capabilities, "extras": self.server.extras.offers})
        elif op == "stats":  # counters for tests, benchmarks and operators
            self.send({"id": rid, "ok": True, "stats": asdict(self.server.queue.stats),
                       "queued": self.server.queue.queued()})
        elif op == "cancel":
            job = self.in_flight.pop(rid, None)
            if job is not None:
                self.server.queue.cancel(lambda j: j is job)
        elif op == "recognize":
            self._recognize(rid, header, payload)
        elif op in ("prosody", "speak"):
            self._extra(op, rid, header, payload)
        else:
            self.send(_error(rid, f"unknown op {op!r}", "bad_request"))

    def _recognize(self, rid: Any, header: dict[str, Any], payload: bytes) -> None:
        if not isinstance(rid, int) or isinstance(rid, bool) or rid in self.in_flight:
            self.send(_error(rid, "recognize needs a fresh integer id", "bad_request"))
            return
        if len(self.in_flight) >= MAX_PER_CONNECTION:
            self.send(_error(rid, "too many recognitions in flight", "busy", retryable=True))
            return
        try:
            args = recognition_args(header, payload)
            self.in_flight[rid] = self.server.queue.put(
                args, lambda t, e: self.loop.call_soon_threadsafe(self._answer, rid, t, e),
                owner=self)
        except FrameError as e:
            self.send(_error(rid, str(e), "bad_request"))
        except ModelError as e:  # a model this server does not have
            self.send(_error(rid, str(e), "model"))
        except QueueFull as e:
            self.send(_error(rid, str(e), "busy", retryable=True))
        except RuntimeError as e:
            self.send(_error(rid, str(e), "closing", retryable=True))

    def _extra(self, op: str, rid: Any, header: dict[str, Any], payload: bytes) -> None:
        """A prosody or speech request: run on the extras thread, answered from the loop."""
        if not isinstance(rid, int) or isinstance(rid, bool):
            self.send(_error(rid, f"{op} needs an integer id", "bad_request"))
            return
        if self.extra_in_flight >= MAX_PER_CONNECTION:
            self.send(_error(rid, f"too many {op} requests in flight", "busy", retryable=True))
            return
        try:
            if op == "prosody":
                fut = self.server.extras.prosody(prosody_args(header, payload))
            else:
                fut = self.server.extras.speak(*speech_args(header))
        except FrameError as e:
            self.send(_error(rid, str(e), "bad_request"))
            return
        except LookupError as e:  # not loaded here: the worker does it itself
            self.send(_error(rid, str(e), "model"))
            return
        except Busy as e:
            self.send(_error(rid, str(e), "busy", retryable=True))
            return
        self.extra_in_flight += 1
        fut.add_done_callback(
            lambda f: self.loop.call_soon_threadsafe(self._extra_answer, op, rid, f))

    def _extra_answer(self, op: str, rid: int, fut: Any) -> None:
        self.extra_in_flight -= 1
        if fut.cancelled() or fut.exception() is not None:
            # the exception's class only: its message may quote a private prompt's words
            e = type(fut.exception()).__name__ if not fut.cancelled() else "cancelled"
            self.send(_error(rid, f"{op} failed: {e}", "model", retryable=False))
        elif op == "prosody":
            self.send({"id": rid, "ok": True, "features": fut.result()})
        else:
            frame = fut.result()
            if len(frame.pcm) > MAX_PAYLOAD:
                self.send(_error(rid, "rendered speech too long for one frame", "model"))
            else:
                self.send({"id": rid, "ok": True, "rate": frame.sample_rate}, frame.pcm)

    def _answer(self, rid: int, t: Transcript | None, e: BaseException | None) -> None:
        if self.in_flight.pop(rid, None) is None:
            return  # cancelled meanwhile
        if e is None and t is not None:
            self.send({"id": rid, "ok": True, "transcript": encode_transcript(t)})
        elif isinstance(e, DeadlineMissed):
            self.send(_error(rid, str(e), "deadline", retryable=False))
        elif isinstance(e, ServerClosing):
            self.send(_error(rid, str(e), "closing", retryable=True))
        else:
            retryable = bool(getattr(e, "retryable", False))
            self.send(_error(rid, f"{type(e).__name__}: {e}", "model", retryable=retryable))


def _error(rid: Any, message: str, kind: str, retryable: bool = False) -> dict[str, Any]:
    return {"id": rid if isinstance(rid, int) else None, "ok": False, "error": message,
            "kind": kind, "retryable": retryable}


def claim_socket_path(path: Path) -> None:
    """Remove a stale socket left by a server that died; refuse when one still answers
    there, or when the path is something other than a socket."""
    if len(os.fsencode(path)) > 100:
        raise OSError(f"socket path too long for a Unix socket (max ~100 bytes): {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise OSError(f"{path} exists and is not a socket")
    with socket.socket(socket.AF_UNIX) as probe:
        try:
            probe.connect(str(path))
        except OSError:
            path.unlink()  # nobody listens: a dead server's
            return
    raise OSError(f"an inference server is already listening on {path}")


# ------------------------------------------------------------ the process
def load_models(specs: list[str], models_dir: Path, opts: dict[str, Any]) -> dict[str, Any]:
    from audio_models.model_store import resolve_asr_model
    from audio_models.whisper_asr import WhisperASR

    models = {}
    for spec in dict.fromkeys(s for s in specs if s):
        t0 = time.monotonic()
        asr = WhisperASR(resolve_asr_model(spec, models_dir), name=spec, **opts)
        warm = asr.warmup()
        log.info("inference: model %s loaded in %.1f s (warm-up %.2f s)", spec,
                 time.monotonic() - t0, warm)
        models[spec] = asr
    return models


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m audio_models.inference_server",
                                description=__doc__.split("\n")[0])
    p.add_argument("--socket", type=Path, required=True, help="Unix socket path (mode 0600)")
    p.add_argument("--model", action="append", default=[], help="model spec (repeatable)")
    p.add_argument("--models-dir", type=Path, default=Path("var/cache/models"))
    p.add_argument("--compute-type", default="int8")
    p.add_argument("--cpu-threads", type=int, default=2)
    p.add_argument("--beam-size", type=int, default=1)
    p.add_argument("--short-window-s", type=float, default=10.0)
    p.add_argument("--threads", type=int, default=1, help="recognitions at once")
    p.add_argument("--max-batch", type=int, default=8, help="utterances per encoder call")
    p.add_argument("--batch-window-ms", type=float, default=20.0,
                   help="how long the head of the queue waits for companions")
    p.add_argument("--emotion", action="store_true",
                   help="compute callers' prosody features for the workers' emotion model")
    p.add_argument("--tts-voice", default=None,
                   help="render prompts with this Piper .onnx voice ('default': the bundled)")
    return p


async def serve(args: argparse.Namespace, model: BatchModel | None = None,
                capabilities: dict[str, Any] | None = None,
                extras: ExtraWork | None = None) -> None:
    if extras is None:  # (loaded on its own thread while Whisper loads and after)
        extras = load_extras(getattr(args, "emotion", False), getattr(args, "tts_voice", None))
    if model is None:
        from audio_models.inference_batch import WhisperBatches

        models = await asyncio.to_thread(load_models, args.model, args.models_dir, {
            "compute_type": args.compute_type, "cpu_threads": args.cpu_threads,
            "beam_size": args.beam_size, "short_window_s": args.short_window_s})
        model = WhisperBatches(models)
        capabilities = {name: {"languages": list(m.capabilities.languages),
                               "sample_rate": m.capabilities.sample_rate}
                        for name, m in models.items()}
    queue = RecognitionQueue(model, threads=args.threads, max_batch=args.max_batch,
                             linger_s=args.batch_window_ms / 1000)
    server = InferenceServer(args.socket, queue, capabilities or {}, extras)
    await server.start()
    log.info("inference ready: socket %s, models %s, %d thread(s), batches up to %d, "
             "extras %s", args.socket, ",".join(server.capabilities), args.threads,
             args.max_batch, ",".join(extras.offers) or "none")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        server.stop_listening()
        await asyncio.to_thread(queue.close)  # queued requests answered "closing"
        await asyncio.sleep(0.05)  # (the answers are written by the loop)
        await server.close()
        extras.close()
        s = queue.stats
        log.info("inference stopped: %d recognised, %d in %d batches, %d dropped", s.run,
                 s.batched, s.batches, s.dropped)


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM; 1 when the socket or a model cannot be had."""
    try:
        asyncio.run(serve(args))
    except (OSError, ModelError) as e:
        print(f"inference server: {e}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("faster_whisper").setLevel(logging.WARNING)  # a line per recognition
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
