"""Per-call PCM media: a pjmedia port whose clock-thread callbacks only move bytes.

`CallMedia` is plain Python (safe to hold and drop on any thread); the pjsua2 port it owns is
created, connected and destroyed on the SIP thread only (`attach` / `close`). The frame
callbacks run on pjmedia's clock thread and touch only bounded deques under short locks.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import pjsua2 as pj

from audio_models.frames import AudioFrame, split_frames
from telephony.media_port import ConferencePort
from telephony.pcm import read_frame, write_frame
from telephony.playout import Playback, PlayoutOverflow, RunningStat

__all__ = ["CallMedia", "Playback", "PlayoutOverflow"]

log = logging.getLogger("telephony.media")

FRAME_MS = 20


class CallMedia:
    """Caller audio in, paced IVR audio out, and a tap of what was sent, for one call."""

    def __init__(
        self,
        clock_rate: int = 16000,
        *,
        inbound_seconds: float = 10.0,
        outbound_seconds: float = 120.0,
        sent_tap_seconds: float = 10.0,
        name: str = "ivr",
    ) -> None:
        self.clock_rate = clock_rate
        self.name = name
        self.frame_bytes = clock_rate * FRAME_MS // 1000 * 2
        self._silence = bytes(self.frame_bytes)
        per_s = 1000 // FRAME_MS
        self._in: collections.deque[AudioFrame] = collections.deque(
            maxlen=int(inbound_seconds * per_s)
        )
        self._in_lock = threading.Lock()
        self._notified = False
        self._notify: Callable[[], Any] | None = None
        self._out: collections.deque[tuple[bytes, Playback]] = collections.deque()
        self._out_max = int(outbound_seconds * per_s)
        self._out_lock = threading.Lock()
        self._current: Playback | None = None
        self._sent: collections.deque[bytes] = collections.deque(
            maxlen=int(sent_tap_seconds * per_s)
        )
        self._port: ConferencePort | None = None
        self._closed = False
        # Counters and timings (written by the clock thread only).
        self.frames_in = 0
        self.frames_out = 0
        self.dropped_in = 0
        self.dropped_sent = 0
        self.rx_cost = RunningStat()
        self.tx_cost = RunningStat()
        self.tx_spacing = RunningStat()
        self._last_tx: float | None = None

    # ---- SIP-thread side ------------------------------------------------------------------
    def attach(self, call_audio: Any) -> None:
        """Connect to the call's audio both ways, once (SIP thread only).

        Called again after each re-INVITE: pjsua may recreate the call's stream (connections
        gone, slot possibly moved); missing connections are re-made, never duplicated.
        """
        if self._closed:
            return
        if self._port is None:
            self._port = ConferencePort(
                self.name,
                self.clock_rate,
                FRAME_MS,
                self._on_frame_received,
                self._on_frame_requested,
            )
        self._port.connect(call_audio)

    def close(self) -> None:
        """Stop transmitting both ways, release the port (SIP thread); interrupts playout."""
        port, self._port = self._port, None
        self._closed = True
        if port is not None:
            port.close()
            del port
        self.clear()

    # ---- any thread -----------------------------------------------------------------------
    def set_notify(self, callback: Callable[[], Any] | None) -> None:
        """`callback()` runs on the clock thread when inbound audio arrives in an empty buffer."""
        self._notify = callback
        with self._in_lock:
            self._notified = bool(self._in)
        if self._notified and callback is not None:
            callback()

    def read_frames(self) -> list[AudioFrame]:
        """Drain and return the caller frames received so far (oldest first)."""
        with self._in_lock:
            frames = list(self._in)
            self._in.clear()
            self._notified = False
        return frames

    def read_sent(self) -> list[bytes]:
        """Drain the recording tap: one PCM frame per tick sent to the caller (silence too)."""
        out = []
        pop = self._sent.popleft
        try:
            while True:
                out.append(pop())
        except IndexError:
            return out

    def play(
        self,
        audio: AudioFrame,
        on_start: Callable[[Playback], Any] | None = None,
        on_done: Callable[[Playback], Any] | None = None,
    ) -> Playback:
        """Queue `audio` (at the clock rate) after anything already queued.

        Raises ValueError on a wrong sample rate and PlayoutOverflow past the queue bound. On
        closed media (call already gone) the playback finishes at once, interrupted.
        """
        if audio.sample_rate != self.clock_rate:
            raise ValueError(f"play() needs {self.clock_rate} Hz audio, got {audio.sample_rate} Hz")
        frames = [f.pcm for f in split_frames(audio, FRAME_MS)]
        pb = Playback(audio.duration, on_start, on_done)
        if not frames:
            pb.started_at = time.monotonic()
            pb._fire_start()
            pb._finish(pb.started_at, interrupted=False)
            return pb
        pb._remaining = len(frames)
        with self._out_lock:
            closed = self._closed
            if not closed and len(self._out) + len(frames) > self._out_max:
                raise PlayoutOverflow(
                    f"playout queue full: {len(self._out) * FRAME_MS / 1000:.1f} s queued, "
                    f"{audio.duration:.1f} s more exceeds {self._out_max * FRAME_MS / 1000:.0f} s"
                )
            if not closed:
                self._out.extend((f, pb) for f in frames)
        if closed:  # the call is gone (a race the caller cannot avoid): nothing will play
            pb._finish(time.monotonic(), interrupted=True)
        return pb

    def clear(self) -> list[Playback]:
        """Barge-in: drop all queued audio now; interrupted playbacks get on_done (this thread)."""
        with self._out_lock:
            victims = list(dict.fromkeys(pb for _, pb in self._out))
            if self._current is not None and self._current not in victims:
                victims.insert(0, self._current)
            self._out.clear()
            self._current = None
        now = time.monotonic()
        for pb in victims:
            if not pb.done:
                pb._finish(now, interrupted=True)
        return victims

    @property
    def is_playing(self) -> bool:
        """True while queued audio remains."""
        return bool(self._out)

    @property
    def queued_seconds(self) -> float:
        return len(self._out) * FRAME_MS / 1000

    @property
    def attached(self) -> bool:
        return self._port is not None

    def stats(self) -> dict[str, float]:
        """Frame counters and clock-thread callback costs (microseconds) and spacing (ms)."""
        return {
            "frames_in": self.frames_in,
            "frames_out": self.frames_out,
            "dropped_in": self.dropped_in,
            "rx_cost_us_mean": self.rx_cost.mean * 1e6,
            "rx_cost_us_max": self.rx_cost.max * 1e6,
            "tx_cost_us_mean": self.tx_cost.mean * 1e6,
            "tx_cost_us_max": self.tx_cost.max * 1e6,
            "tx_spacing_ms_mean": self.tx_spacing.mean * 1e3,
            "tx_spacing_ms_max": self.tx_spacing.max * 1e3,
            "tx_spacing_ms_p99": self.tx_spacing.quantile(0.99) * 1e3,
        }

    # ---- clock thread ---------------------------------------------------------------------
    # Both run 50 times a second per call on the clock thread, holding the GIL: one clock
    # read at entry serves as the frame's time and the cost's start (monotonic, as the
    # frames' timestamps), no other per-frame work than moving the bytes.
    def _on_frame_received(self, frame: pj.MediaFrame) -> None:
        t0 = _now()
        pcm = read_frame(frame) if frame.type == _AUDIO else b""
        if len(pcm) != self.frame_bytes:
            pcm = (pcm + self._silence)[: self.frame_bytes]
        self.on_rx_pcm(pcm, t0)
        self.rx_cost.add(_now() - t0)

    def _on_frame_requested(self, frame: pj.MediaFrame) -> None:
        t0 = _now()
        pcm = self.next_tx_pcm(t0)
        frame.type = _AUDIO
        write_frame(frame, pcm)
        frame.size = len(pcm)
        self.tx_cost.add(_now() - t0)
        if self._last_tx is not None:
            self.tx_spacing.add(t0 - self._last_tx)
        self._last_tx = t0

    def on_rx_pcm(self, pcm: bytes, now: float) -> None:
        """Store one received frame (clock thread; public so tests can drive it)."""
        notify = None
        with self._in_lock:
            if len(self._in) == self._in.maxlen:
                self.dropped_in += 1
            self._in.append(AudioFrame(pcm, self.clock_rate, now))
            if not self._notified:
                self._notified = True
                notify = self._notify
        self.frames_in += 1
        if notify is not None:
            try:
                notify()
            except Exception:  # noqa: BLE001 - never let a consumer bug stop the media clock
                log.exception("media notify callback failed")

    def next_tx_pcm(self, now: float) -> bytes:
        """Pop the next frame to send, or silence (clock thread; public for tests)."""
        started = finished = None
        with self._out_lock:
            if self._out:
                pcm, pb = self._out.popleft()
                self._current = pb
                if pb.started_at is None:
                    pb.started_at = now
                    started = pb
                pb._remaining -= 1
                if pb._remaining <= 0:
                    finished = pb
                    self._current = None
            else:
                pcm = self._silence
        if len(self._sent) == self._sent.maxlen:
            self.dropped_sent += 1
        self._sent.append(pcm)
        self.frames_out += 1
        if started is not None:
            started._fire_start()
        if finished is not None and not finished.done:
            finished._finish(now, interrupted=False)
        return pcm


_AUDIO = pj.PJMEDIA_FRAME_TYPE_AUDIO
_now = time.monotonic
