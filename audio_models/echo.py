"""Echo-aware gating of caller audio: the IVR's own prompt, returned by the line, is not speech.

A line that echoes (a PSTN hybrid, a speakerphone, SIPp `-rtp_echo`) sends the caller's side
back with the IVR's prompt in it, delayed and attenuated. Without this gate the endpointer
hears the prompt as the caller barging in ("Press." "Sorry."), and three no-matches later the
caller is transferred.

The IVR knows exactly what it played (the media's sent tap, one frame per clock tick, aligned
by tick with the received frames), so `EchoGate` asks of every received frame: is it explained
by what was played `delay` ago?
- a *search* correlates the last `WINDOW_MS` of received audio with the played reference over
  every delay from -`SLACK_MS` to `max_delay_ms` (one FFT cross-correlation, normalised per
  lag). A peak of at least `min_correlation` gives the echo path: its delay and its gain
  (least squares; echo return loss = -20 log10 gain). Searches run only on loud frames while
  the reference is playing: every `SEARCH_UNLOCKED` frames until a path is found (the first
  loud frame searches at once), then every `SEARCH_EVERY` to follow it (jitter buffers move
  the delay by 10-20 ms steps during a call). A delay counts once two searches in a row find
  it (one window of the caller's speech can resemble the prompt by chance: seen on a real
  call, 0.82 at 329 ms), and never with a gain over `MAX_GAIN` (received audio louder than
  what was played is the caller). A weaker peak elsewhere does not replace a path confirmed
  within `STALE_SEARCHES` searches (a window straddling a jitter-buffer step);
- with a path, while the reference `delay` ago (+-1 frame) was playing, a received frame is
  *explained* when it is quiet (below -50 dBFS: webrtcvad adapts to the silence of gated
  frames and would call the echo's faint tails voiced), when its energy is within `margin_db`
  of the echo the path predicts (the loudest reference frame within +-1 frame of the delay,
  times the gain squared), or when it alone correlates with that reference at
  `FRAME_CORRELATION` or more (the echo dominates it);
- an explained frame reaches the endpointer as silence (and so the recogniser: the utterance
  is cut from the same frames); every other frame passes unchanged. The recording and the
  live-listen taps get the line's audio as it came.

So the gate acts only while the IVR's own audio is playing (or its echo can still arrive) and
the received audio is explained by it; a caller speaking over the echo barges in when their
voice is about `margin_db` louder than the echo, or simply different from it (a search on
their double talk finds no new path; the frame correlation stays low). A line without echo
never gives a path: nothing is ever gated. Limits: a non-linear or time-varying echo path (a
speakerphone's own processing) correlates less and is gated less; a caller much quieter than
the echo is not heard until the prompt ends.

Cost: on the call's event loop, numpy only. Analysis runs at 8 kHz (16 kHz audio is halved by
averaging sample pairs). Most of a call's frames are never analysed: received frames are
kept as they came and decimated only when a search needs its window; frames no echo can reach
(nothing played for `max_delay_ms`) cost a deque append; a frame while the reference plays
and no echo path is known costs one energy (is the caller loud?); a judged frame a few dot
products; a search three 8192-point real FFTs (~0.3 ms of CPU). Digital silence sent between
prompts is not analysed either. The call charges the gate's CPU to its `echo` stage
(`ivr.call.stage_cpu`); `scripts/bench_echo_gate` prints the cost per frame of each case.
"""

from __future__ import annotations

import functools
from collections import deque
from dataclasses import dataclass

import numpy as np

from audio_models.frames import AudioFrame

__all__ = ["EchoConfig", "EchoGate", "EchoPath"]

ANALYSIS_RATE = 8000
WINDOW_MS = 200  # received audio correlated by a search
SLACK_MS = 40  # negative delays searched: the sent and received taps may differ by a tick
SEARCH_EVERY = 10  # frames between searches while there is audio to judge (200 ms: one window)
SEARCH_UNLOCKED = 3  # the same before an echo path is known (the first loud frame searches)
STALE_SEARCHES = 10  # a path not confirmed for this many searches yields to a weaker one
PHAT_WEIGHT = 0.8  # whitening of the delay search (1: full GCC-PHAT, 0: plain correlation)
MAX_GAIN = 2.0  # an echo path never amplifies by more than 6 dB
FRAME_CORRELATION = 0.8  # one frame this correlated with the reference: echo dominates it
SILENT_DBFS = -50.0  # below this nothing is gated (the endpointer ignores it anyway)
_SILENT = (32768.0 * 10 ** (SILENT_DBFS / 20)) ** 2  # mean square at SILENT_DBFS
_SILENT_AMPLITUDE = np.float32(np.sqrt(_SILENT))  # one sample that loud: the same test


@dataclass(frozen=True, slots=True)
class EchoConfig:
    """How the gate decides (`ivr.config` `echo.*`)."""

    enabled: bool = True
    max_delay_ms: int = 500
    margin_db: float = 6.0
    min_correlation: float = 0.6


@dataclass(frozen=True, slots=True)
class EchoPath:
    """The echo found on the line: `delay_ms` after the IVR played, `erl_db` quieter."""

    delay_ms: float
    erl_db: float
    correlation: float


class EchoGate:
    """One call's gate (see the module docstring). Not thread-safe: feed it from one task."""

    def __init__(self, config: EchoConfig, sample_rate: int) -> None:
        if sample_rate % ANALYSIS_RATE:
            raise ValueError(f"echo gate needs a multiple of {ANALYSIS_RATE} Hz, "
                             f"got {sample_rate}")
        self.config = config
        self.sample_rate = sample_rate
        self._step = sample_rate // ANALYSIS_RATE  # decimation factor
        self._max_delay = config.max_delay_ms * ANALYSIS_RATE // 1000
        self._slack = SLACK_MS * ANALYSIS_RATE // 1000
        self._window = WINDOW_MS * ANALYSIS_RATE // 1000
        # The reference: its last `_ref_len` samples end at `_ref_pos` of a buffer twice
        # that long, so a frame appends without moving the rest (one move per `_ref_len`).
        self._ref_len = self._max_delay + self._window + self._slack + ANALYSIS_RATE
        self._ref_buf = np.zeros(2 * self._ref_len, np.float32)
        self._ref_pos = self._ref_len
        self._ref_end = 0  # analysis samples of reference ever added
        self._ref_loud_end = 0  # 1 + the last reference sample above SILENT_DBFS (0: none)
        # The received audio's last frames as they came (analysed only when a search needs
        # the window: most frames are never searched), with their analysis-sample counts.
        self._mic: deque[tuple[bytes, int]] = deque()
        self._mic_held = 0  # analysis samples in `_mic`
        self._mic_end = 0  # analysis samples of received audio ever added
        self._margin = 10 ** (config.margin_db / 10)
        n = self._window + self._max_delay + self._slack
        self._nfft = 1 << int(np.ceil(np.log2(n + self._window)))
        self._delay: int | None = None  # analysis samples
        self._gain = 0.0
        self.path: EchoPath | None = None
        self._since_search = SEARCH_EVERY
        self._confirmed = 0  # the search that last found (or confirmed) the path
        self._candidate: int | None = None  # a delay found by the last search, to be confirmed
        # counters (for the call's stats and the tests)
        self.frames = 0
        self.gated = 0
        self.searches = 0
        self.unconfirmed = 0  # delays found once and not (yet) confirmed
        self._zero = b""  # digital silence of the last reference frame's length

    # ------------------------------------------------------------ streams
    def played(self, frames: list[bytes]) -> None:
        """What the IVR sent since the last call, one frame per clock tick (silence too)."""
        if not frames:
            return
        if len(self._zero) != len(frames[0]):
            self._zero = bytes(len(frames[0]))
        x: np.ndarray | None = None
        if all(f == self._zero for f in frames):  # digital silence (between prompts)
            n = len(frames[0]) * len(frames) // 2 // self._step
        else:
            pcm = frames[0] if len(frames) == 1 else b"".join(frames)
            x = self._analysis(np.frombuffer(pcm, "<i2").astype(np.float32))
            n = len(x)
            if n and abs(x[-1]) > _SILENT_AMPLITUDE:  # (most frames of a prompt: no scan)
                self._ref_loud_end = self._ref_end + n
            else:
                loud = np.abs(x) > _SILENT_AMPLITUDE
                if loud.any():
                    self._ref_loud_end = self._ref_end + n - int(np.argmax(loud[::-1]))
        size, buf, pos = self._ref_len, self._ref_buf, self._ref_pos
        if n >= size:
            buf[:size] = 0.0 if x is None else x[-size:]
            pos = size
        else:
            if pos + n > len(buf):
                buf[:size] = buf[pos - size:pos]
                pos = size
            buf[pos:pos + n] = 0.0 if x is None else x
            pos += n
        self._ref_pos = pos
        self._ref_end += n

    def process(self, frames: list[AudioFrame]) -> list[AudioFrame]:
        """The received frames, each explained by the IVR's own audio replaced by silence."""
        if not self.config.enabled or not frames:
            return frames
        if self._ref_loud_end <= self._mic_end - self._max_delay:
            return self._idle(frames)
        return [self._frame(f) for f in frames]

    def _idle(self, frames: list[AudioFrame]) -> list[AudioFrame]:
        """Frames no echo can reach: nothing played within `max_delay_ms` before the first
        of them. They pass unchanged, kept (not analysed) for the next search's window."""
        for f in frames:
            self._push_mic(f.pcm)
        self.frames += len(frames)
        return frames

    def _push_mic(self, pcm: bytes) -> int:
        """Keep a received frame for the search window; its length in analysis samples."""
        n = len(pcm) // 2 // self._step
        self._mic_end += n
        if n:
            mic = self._mic
            mic.append((pcm, n))
            self._mic_held += n
            while self._mic_held - mic[0][1] >= self._window:  # older than the window
                self._mic_held -= mic.popleft()[1]
        return n

    def _mic_window(self) -> np.ndarray:
        """The last `WINDOW_MS` of received audio at the analysis rate (zeros before the
        call's first frames), each frame analysed on its own."""
        parts = [self._analysis(np.frombuffer(pcm, "<i2").astype(np.float32))
                 for pcm, _ in self._mic]
        x = np.concatenate(parts) if parts else np.zeros(0, np.float32)
        w = self._window
        if len(x) >= w:
            return x[-w:]
        return np.concatenate((np.zeros(w - len(x), np.float32), x))

    def stats(self) -> dict[str, float]:
        return {"frames": self.frames, "gated": self.gated, "searches": self.searches,
                "unconfirmed": self.unconfirmed}

    # ------------------------------------------------------------ one frame
    def _frame(self, frame: AudioFrame) -> AudioFrame:
        n = self._push_mic(frame.pcm)
        end = self._mic_end
        gated = False
        if self._playing(end - n, end):
            x = np.frombuffer(frame.pcm, "<i2").astype(np.float32)
            loud = float(np.dot(x, x)) / max(len(x), 1) > _SILENT  # as the endpointer measures
            if loud:
                self._since_search += 1
                if self._since_search >= (SEARCH_EVERY if self._delay is not None
                                          else SEARCH_UNLOCKED):
                    self._search(end)
            # With an echo on the line, its quiet parts are silence too: webrtcvad adapts
            # to the zeros of gated frames and would call the echo's faint tails voiced.
            if self._delay is not None:
                m = self._analysis(x)
                gated = not loud or (n > 0 and self._explained(m, end, float(np.dot(m, m)) / n))
        self.frames += 1
        if gated:
            self.gated += 1
            frame = AudioFrame(bytes(len(frame.pcm)), frame.sample_rate, frame.timestamp)
        return frame

    def _playing(self, start: int, end: int) -> bool:
        """The reference had sound anywhere an echo of it could reach [start, end) from."""
        last = self._ref_loud_end - 1  # the last loud reference sample (-1: none yet)
        if last < start - self._max_delay:  # nothing loud since: no scan
            return False
        if 0 <= last < end + self._slack and last >= self._ref_end - self._ref_len:
            return True  # that sample is in the span (and still in the buffer): no scan
        r = self._ref_slice(start - self._max_delay, end + self._slack)
        return bool(r.size) and float(np.max(np.abs(r))) ** 2 > _SILENT

    def _explained(self, m: np.ndarray, end: int, mic_ms: float) -> bool:
        n, d = len(m), self._delay
        assert d is not None
        r = self._ref_slice(end - n - d, end - d)
        r_ms = float(np.dot(r, r)) / n
        around = self._ref_slice(end - 2 * n - d, end + n - d)  # +-1 frame of delay jitter
        peak_ms = max(r_ms, float(np.max(_frame_energies(around, n))))
        if peak_ms <= _SILENT / 4:  # nothing played then: no echo of it now
            return False
        if mic_ms <= self._gain ** 2 * peak_ms * self._margin:
            return True
        if r_ms <= 0:
            return False
        rho = float(np.dot(m, r)) / np.sqrt(n * mic_ms * n * r_ms)
        return rho >= FRAME_CORRELATION

    def _search(self, end: int) -> None:
        """Correlate the last window of received audio with the reference at every delay."""
        self._since_search = 0
        self.searches += 1
        w, dmax, slack = self._window, self._max_delay, self._slack
        mic = self._mic_window()
        mic_energy = float(np.dot(mic, mic))
        if mic_energy <= 0:
            return
        ref = self._ref_slice(end - w - dmax, end + slack)  # k = dmax - delay
        nfft = self._nfft
        cross = np.conj(np.fft.rfft(mic, nfft)) * np.fft.rfft(ref, nfft)
        lags = len(ref) - w + 1
        corr = np.fft.irfft(cross, nfft)[:lags]
        # The delay is where the whitened cross-correlation peaks (GCC-PHAT, weighted): a
        # delayed copy peaks sharply there, while two voiced sounds of a similar pitch (the
        # caller's voice and a prompt in a similar voice) correlate broadly at many lags.
        whitened = np.fft.irfft(cross / (np.abs(cross) ** PHAT_WEIGHT + 1e-9), nfft)[:lags]
        c2 = np.concatenate(([0.0], np.cumsum(ref.astype(np.float64) ** 2)))
        ref_energy = c2[w:w + lags] - c2[:lags]
        valid = ref_energy > mic_energy * 1e-3  # an echo is never 30 dB above its source
        if not np.any(valid):
            return
        k = int(np.argmax(np.where(valid, whitened, -np.inf)))
        rho = corr / np.sqrt(np.maximum(ref_energy, 1e-9) * mic_energy)
        if rho[k] < self.config.min_correlation:
            self._candidate = None
            return
        gain = float(corr[k] / ref_energy[k])
        delay = dmax - k
        if gain > MAX_GAIN:  # louder than what was played: the caller, not its echo
            self._candidate = None
            return
        tolerance = ANALYSIS_RATE // 200  # 5 ms
        if self._delay is not None and abs(delay - self._delay) <= tolerance:
            gain = 0.7 * self._gain + 0.3 * gain  # the same path: smooth its gain
            self._confirmed = self.searches
        elif self._candidate is None or abs(delay - self._candidate) > tolerance:
            self._candidate = delay  # a new delay counts when the next search finds it too:
            self.unconfirmed += 1  # one window of speech can resemble the prompt by chance,
            return  # twice in a row it does not
        elif (self.path is not None and rho[k] < self.path.correlation - 0.15
              and self.searches - self._confirmed < STALE_SEARCHES):
            return  # a window straddling a jitter-buffer step: keep the better, recent path
        else:
            self._confirmed = self.searches
        self._delay, self._gain = delay, max(gain, 1e-4)
        self.path = EchoPath(delay * 1000 / ANALYSIS_RATE, -20 * np.log10(self._gain),
                             float(rho[k]))

    # ------------------------------------------------------------ helpers
    def _analysis(self, x: np.ndarray) -> np.ndarray:
        """Samples at the analysis rate (pairs averaged: a crude but sufficient low-pass)."""
        if self._step == 2:  # the media clock's 16 kHz: the same as the mean, cheaper
            n = len(x) // 2 * 2
            return (x[0:n:2] + x[1:n:2]) * np.float32(0.5)
        if self._step > 1:
            x = x[: len(x) // self._step * self._step].reshape(-1, self._step).mean(axis=1)
        return x

    def _ref_slice(self, start: int, end: int) -> np.ndarray:
        """Reference samples [start, end) in absolute analysis samples; zeros where unknown
        (not played yet, or older than the buffer). Read only: often a view of the buffer."""
        first = self._ref_end - self._ref_len
        base = self._ref_pos - self._ref_end  # buffer index of absolute sample 0
        if first <= start <= end <= self._ref_end:
            return self._ref_buf[base + start:base + end]
        out = np.zeros(max(0, end - start), np.float32)
        a, b = max(start, first), min(end, self._ref_end)
        if b > a:
            out[a - start:b - start] = self._ref_buf[base + a:base + b]
        return out


def _frame_energies(x: np.ndarray, n: int) -> np.ndarray:
    """Mean square of each `n`-sample step of `x`, hopping by half a frame."""
    c = np.empty(len(x) + 1)
    c[0] = 0.0
    np.cumsum(np.square(x, dtype=np.float64), out=c[1:])
    starts, ends = _hops(len(x), n)
    return (c[ends] - c[starts]) / n


@functools.cache
def _hops(length: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Start and end indices of `_frame_energies`' steps (the same few shapes all call)."""
    starts = np.arange(0, length - n + 1, max(1, n // 2))
    return starts, starts + n
