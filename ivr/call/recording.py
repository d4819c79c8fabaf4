"""The recording stage of a call: its stereo recording (caller left, what the caller heard
right), opened at answer or on consent, silenced while sensitive input is taken, closed when
the call ends. A recording that cannot be written ends the recording, never the call
(`ivr.call.recorder.SafeWriter`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ivr.call.events import Emit, RecordingFailed, RecordingPaused, RecordingResumed
from ivr.call.recorder import CallRecorder

__all__ = ["WRITE_EVERY_S", "CallRecording"]

WRITE_EVERY_S = 1.0  # audio buffered before a write: per-frame writes cost CPU (recorder.py)


class CallRecording:
    """One call's recording. `emit(event)` reports what happens to the call's record
    (`RecordingFailed`, `RecordingPaused`, `RecordingResumed` of `ivr.call.events`);
    `drain()` moves the audio waiting in the media buffers into `write` first, so a pause or
    a resume takes effect at the right frame."""

    def __init__(self, path: Path, sample_rate: int, emit: Emit,
                 drain: Callable[[], None]) -> None:
        self._planned = path
        self._rate = sample_rate
        self._emit = emit
        self._drain = drain
        self._recorder: CallRecorder | None = None
        self._paused: tuple[str, float] | None = None  # (node, since) while silenced

    @property
    def active(self) -> bool:
        """Recording now (started and not closed)."""
        return self._recorder is not None and not self._recorder.closed

    @property
    def path(self) -> Path | None:
        """The file of a started recording (``.wav`` or ``.wav.enc``)."""
        return self._recorder.path if self._recorder is not None else None

    def start(self) -> Path:
        """Open the recording (at answer, or when the caller consents); its path."""
        if self._recorder is None:
            self._recorder = CallRecorder(self._planned, self._rate, on_error=self._failed)
        return self._recorder.path

    def _failed(self, error: str) -> None:
        # logged once by the recorder; the call goes on without it, and its record says so
        self._emit(RecordingFailed(error=error))

    def pause(self, node: str) -> None:
        """Silence both channels (sensitive input is being asked for at `node`)."""
        if self._paused is not None or not self.active:
            return
        self._drain()  # what came before is recorded as it was
        assert self._recorder is not None
        self._recorder.paused = True
        self._paused = (node, time.monotonic())
        self._emit(RecordingPaused(reason="sensitive_input", node=node))

    def resume(self) -> None:
        if self._paused is None:
            return
        node, since = self._paused
        if self.active:
            self._drain()  # what came during the input stays silent
            assert self._recorder is not None
            self._recorder.paused = False
        self._paused = None
        self._emit(RecordingResumed(node=node, paused_s=round(time.monotonic() - since, 2)))

    def write(self, caller: Iterable[bytes], far: Iterable[bytes]) -> None:
        """Append 20 ms frames of both directions (no-op when not recording); written to
        the file once `WRITE_EVERY_S` of both is buffered, and at `flush` / `close`."""
        rec = self._recorder
        if rec is None or rec.closed:
            return
        for pcm in caller:
            rec.add_caller(pcm)
        for pcm in far:
            rec.add_ivr(pcm)
        if rec.buffered_seconds >= WRITE_EVERY_S:
            rec.flush()

    def flush(self) -> None:
        """Write the audio buffered so far (the file then holds everything up to now)."""
        if self._recorder is not None and not self._recorder.closed:
            self._recorder.flush()

    def close(self) -> None:
        if self._recorder is not None:
            self._recorder.close()

    def describe(self) -> dict[str, Any]:
        """What the call row stores about it."""
        return {"recording_path": str(self.path) if self.path else None}
