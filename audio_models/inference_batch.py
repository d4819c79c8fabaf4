"""The inference server's one queue: every call of the machine, oldest caller first, batched.

- **Order**: final recognitions (a caller has finished and waits) before speculative ones
  (begun at a pause, maybe thrown away); within a class, by deadline. A final recognition's
  deadline is the end of the caller's speech + a fixed allowance (`ivr.call.hearing`), so
  earliest deadline first is the caller who has waited longest; a request without one is
  ordered as if its caller had just stopped speaking. A request retried after the server
  restarted keeps its deadline: it goes first again.
- **Speculative work on idle capacity only**: a speculative request runs only when no final
  one is queued (it is behind all of them) and never joins a final's batch; one still queued
  when its deadline passes is not run (`DeadlineMissed`). Background work (priority 2: an
  agent leg's transcript, `ivr.escalation.agent_transcript`) comes after both, undropped.
- **Batches**: when a thread is free it takes the head of the queue and the oldest queued
  requests of the same class, model and encoder window (`key`), up to `max_batch`; a head
  younger than `linger_s` first waits until it is that old for companions. CTranslate2
  encodes them in one call (`WhisperBatches.encode`); each is then decoded alone, in queue
  order, and answered as soon as it is done. A lone request is recognised exactly as a
  local recogniser would.

`BatchModel` is what the runner needs from models; `WhisperBatches` is the real one (the
models of `audio_models.whisper_asr`), unit tests use a fake.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Protocol

from audio_models.grammar import DigitGrammar
from audio_models.inference import FINAL, SPECULATIVE, DeadlineMissed
from audio_models.protocols import ModelError, Transcript

log = logging.getLogger("ivr.inference")

UNTIMED_ALLOWANCE_S = 2.0  # a request without a deadline is ordered as a final one that has
# just arrived (`ivr.call.hearing.FINAL_ASR_DEADLINE_S` after the end of speech)
Done = Callable[[Transcript | None, BaseException | None], None]


class ServerClosing(ModelError):
    """The server stopped with the request queued: the client sends it again elsewhere."""


class QueueFull(RuntimeError):
    """More requests queued than the server's bound: answered `busy`, never queued."""


@dataclass(order=True)
class Job:
    """One recognition request, as queued (ordered by class, then deadline, then arrival)."""

    priority: int
    order: float  # deadline (monotonic), else arrival + UNTIMED_ALLOWANCE_S
    seq: int
    args: dict[str, Any] = field(compare=False)  # inference_protocol.recognition_args
    done: Done = field(compare=False)
    owner: Hashable = field(compare=False, default=None)  # the connection it came on
    deadline: float | None = field(compare=False, default=None)
    enqueued: float = field(compare=False, default_factory=time.monotonic)
    key: Hashable = field(compare=False, default=None)  # batch compatibility
    cancelled: bool = field(compare=False, default=False)


class BatchModel(Protocol):
    def key(self, args: dict[str, Any]) -> Hashable:
        """Requests with equal keys may share one encoder call."""
        ...

    def encode(self, batch: list[dict[str, Any]]) -> list[Any]:
        """One encoder output per request (one batched call)."""
        ...

    def recognise(self, args: dict[str, Any], encoded: Any) -> Transcript:
        """Recognise one request; `encoded`: its encoder output, or None to encode alone."""
        ...


@dataclass
class QueueStats:
    run: int = 0
    batches: int = 0  # encoder calls of more than one request
    batched: int = 0  # requests recognised in such a call
    dropped: int = 0
    max_queue: int = 0


class RecognitionQueue:
    """The ordered, bounded queue and the threads that serve it with `model`."""

    def __init__(self, model: BatchModel, *, threads: int = 1, max_batch: int = 8,
                 linger_s: float = 0.02, max_queued: int = 256) -> None:
        self.model, self.max_batch, self.linger_s = model, max(1, max_batch), linger_s
        self.max_queued = max_queued
        self.stats = QueueStats()
        self._heap: list[Job] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._closed = False
        self._threads = [threading.Thread(target=self._serve, name=f"recognise-{i}",
                                          daemon=True) for i in range(max(1, threads))]
        for t in self._threads:
            t.start()

    def put(self, args: dict[str, Any], done: Done, owner: Hashable = None) -> Job:
        now = time.monotonic()
        rel = args.get("deadline_in_s")
        deadline = None if rel is None else now + rel
        order = now + UNTIMED_ALLOWANCE_S if deadline is None else deadline
        job = Job(args["priority"], order, next(self._seq),
                  args, done, owner, deadline, now, self.model.key(args))
        with self._cond:
            if self._closed:
                raise RuntimeError("inference server is closing")
            if len(self._heap) >= self.max_queued:
                raise QueueFull(f"{len(self._heap)} recognitions queued")
            heapq.heappush(self._heap, job)
            self.stats.max_queue = max(self.stats.max_queue, len(self._heap))
            self._cond.notify()
        return job

    def cancel(self, predicate: Callable[[Job], bool]) -> int:
        """Mark queued jobs matching `predicate` cancelled (never run, never answered)."""
        with self._cond:
            hits = [j for j in self._heap if predicate(j)]
            for j in hits:
                j.cancelled = True
        return len(hits)

    def queued(self) -> int:
        with self._cond:
            return sum(not j.cancelled for j in self._heap)

    def close(self, timeout: float = 10.0) -> None:
        with self._cond:
            self._closed = True
            pending, self._heap = self._heap, []
            self._cond.notify_all()
        for job in pending:
            if not job.cancelled:
                job.done(None, ServerClosing("inference server closing", retryable=True))
        for t in self._threads:
            t.join(timeout)

    # ------------------------------------------------------------ serving threads
    def take(self) -> list[Job] | None:
        """The next batch (head first), waiting for work; None when closed."""
        with self._cond:
            while True:
                while self._heap and self._heap[0].cancelled:
                    heapq.heappop(self._heap)
                if self._closed:
                    return None
                if not self._heap:
                    self._cond.wait()
                    continue
                head = self._heap[0]
                wait = head.enqueued + self.linger_s - time.monotonic()
                if wait > 0 and self.max_batch > 1:
                    self._cond.wait(wait)  # companions may still arrive (or a final, first)
                    continue
                return self._batch_locked(head)

    def _batch_locked(self, head: Job) -> list[Job]:
        mates = sorted(j for j in self._heap if j is not head and not j.cancelled
                       and j.key == head.key and j.priority == head.priority)
        batch = [head, *mates[:self.max_batch - 1]]
        taken = {id(j) for j in batch}
        self._heap = [j for j in self._heap if id(j) not in taken]
        heapq.heapify(self._heap)
        return batch

    def _serve(self) -> None:
        while (batch := self.take()) is not None:
            now = time.monotonic()
            live = []
            for job in batch:
                if job.priority != FINAL and job.deadline is not None and now > job.deadline:
                    self.stats.dropped += 1
                    job.done(None, DeadlineMissed("speculative: deadline passed while queued"))
                else:
                    live.append(job)
            if live:
                self._run(live)

    def _run(self, batch: list[Job]) -> None:
        encoded: list[Any] = [None] * len(batch)
        if len(batch) > 1:
            try:
                encoded = self.model.encode([j.args for j in batch])
            except Exception as exc:  # noqa: BLE001 - every request of the batch is told
                for job in batch:
                    job.done(None, exc)
                return
            self.stats.batches += 1
            self.stats.batched += len(batch)
        for job, enc in zip(batch, encoded, strict=True):
            if job.cancelled:
                continue
            try:
                result = self.model.recognise(job.args, enc)
            except Exception as exc:  # noqa: BLE001 - answered to the request's sender
                job.done(None, exc)
                continue
            self.stats.run += 1
            job.done(result, None)


class WhisperBatches:
    """`BatchModel` over loaded `WhisperASR` models by name."""

    def __init__(self, models: dict[str, Any]) -> None:
        self.models = models

    def _asr(self, name: str) -> Any:
        if name not in self.models:
            raise ModelError(f"the inference server has no model {name!r} "
                             f"(it serves {', '.join(sorted(self.models))})")
        return self.models[name]

    def key(self, args: dict[str, Any]) -> Hashable:
        from audio_models.whisper_asr import window_frames

        asr = self._asr(args["model"])
        full = args["full_window"] or isinstance(args["grammar"], DigitGrammar)
        return args["model"], window_frames(args["audio"].duration, asr.short_window_s, full)

    def encode(self, batch: list[dict[str, Any]]) -> list[Any]:
        """The first window of each utterance, encoded in one CTranslate2 call, padded as
        `WhisperASR.transcribe_sync` pads it (`whisper_asr._encode`), split per request."""
        import ctranslate2
        import numpy as np
        from faster_whisper.audio import pad_or_trim

        from audio_models.resample import to_float32

        asr = self._asr(batch[0]["model"])
        frames = self.key(batch[0])[1]  # type: ignore[index]
        model = asr._model  # noqa: SLF001 - the batching hook of whisper_asr
        fe = model.feature_extractor
        segments = []
        for args in batch:
            features = fe(to_float32(args["audio"], asr.capabilities.sample_rate))
            segments.append(pad_or_trim(
                features[:, :min(features.shape[-1] - 1, fe.nb_max_frames)], frames))
        try:
            out = np.asarray(model.encode(np.stack(segments)))
        except (RuntimeError, ValueError) as exc:
            raise ModelError(f"batched encoder call failed: {exc}", retryable=True) from exc
        return [ctranslate2.StorageView.from_array(np.ascontiguousarray(out[i:i + 1]))
                for i in range(len(batch))]

    def recognise(self, args: dict[str, Any], encoded: Any) -> Transcript:
        from audio_models import whisper_asr

        asr = self._asr(args["model"])
        whisper_asr._window.encoded = encoded  # noqa: SLF001 - decoded instead of encoding again
        try:
            return asr.transcribe_sync(args["audio"], args["language"], args["prompt"],
                                       detect=args["detect"], full_window=args["full_window"],
                                       grammar=args["grammar"],
                                       speculative=args["priority"] == SPECULATIVE)
        finally:
            whisper_asr._window.encoded = None  # noqa: SLF001 - never left for another request
