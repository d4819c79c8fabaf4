"""CallMedia logic without pjsua: drive the clock-thread entry points directly."""

from __future__ import annotations

import threading
import time

import numpy as np
import pjsua2 as pj
import pytest

from audio_models.frames import AudioFrame
from telephony.media import CallMedia, PlayoutOverflow
from telephony.pcm import FAST_PATH, read_frame, write_frame

RATE = 16000
FRAME = RATE // 50 * 2  # bytes per 20 ms


def ramp(seconds: float, start: int = 1) -> AudioFrame:
    n = int(seconds * RATE)
    return AudioFrame((np.arange(start, start + n) % 30000).astype("<i2").tobytes(), RATE)


def test_play_rejects_wrong_rate() -> None:
    m = CallMedia(RATE)
    with pytest.raises(ValueError, match="16000 Hz"):
        m.play(AudioFrame(bytes(320), 8000))


def test_back_to_back_playbacks_without_gaps_then_silence() -> None:
    m = CallMedia(RATE)
    a, b = ramp(0.05), ramp(0.04, start=5000)  # 0.05 s pads to 3 frames
    events: list[tuple[str, str]] = []
    pa = m.play(
        a,
        on_start=lambda p: events.append(("start", "a")),
        on_done=lambda p: events.append(("done", "a")),
    )
    pb = m.play(
        b,
        on_start=lambda p: events.append(("start", "b")),
        on_done=lambda p: events.append(("done", "b")),
    )
    assert m.is_playing and m.queued_seconds == pytest.approx(0.10)
    out = [m.next_tx_pcm(float(i)) for i in range(7)]
    assert all(len(f) == FRAME for f in out)
    padded_a = a.pcm + bytes(3 * FRAME - len(a.pcm))
    assert b"".join(out[:3]) == padded_a
    assert b"".join(out[3:5]) == b.pcm
    assert out[5] == out[6] == bytes(FRAME)  # silence when the queue is empty
    assert events == [("start", "a"), ("done", "a"), ("start", "b"), ("done", "b")]
    assert (pa.started_at, pa.finished_at, pb.started_at, pb.finished_at) == (0.0, 2.0, 3.0, 4.0)
    assert not pa.interrupted and pa.done and not m.is_playing
    assert m.read_sent() == out and m.read_sent() == []


def test_clear_interrupts_playing_and_queued() -> None:
    m = CallMedia(RATE)
    done: list[bool] = []
    p1 = m.play(ramp(1.0), on_done=lambda p: done.append(p.interrupted))
    p2 = m.play(ramp(1.0), on_done=lambda p: done.append(p.interrupted))
    m.next_tx_pcm(0.0)
    victims = m.clear()
    assert victims == [p1, p2] and done == [True, True]
    assert p1.interrupted and p2.interrupted and p2.started_at is None
    assert m.next_tx_pcm(1.0) == bytes(FRAME) and not m.is_playing
    assert p1.wait(0) and m.clear() == []


def test_outbound_bound() -> None:
    m = CallMedia(RATE, outbound_seconds=1.0)
    m.play(ramp(0.6))
    with pytest.raises(PlayoutOverflow):
        m.play(ramp(0.6))
    assert m.queued_seconds == pytest.approx(0.6)


def test_empty_audio_completes_at_once() -> None:
    m = CallMedia(RATE)
    pb = m.play(AudioFrame(b"", RATE))
    assert pb.done and not pb.interrupted and not m.is_playing


def test_inbound_notify_once_per_drain_and_bounded() -> None:
    m = CallMedia(RATE, inbound_seconds=0.1)  # 5 frames
    calls: list[int] = []
    m.set_notify(lambda: calls.append(1))
    for i in range(3):
        m.on_rx_pcm(bytes([i]) * FRAME, float(i))
    assert len(calls) == 1
    frames = m.read_frames()
    assert [f.timestamp for f in frames] == [0.0, 1.0, 2.0]
    assert all(f.sample_rate == RATE for f in frames)
    m.on_rx_pcm(bytes(FRAME), 3.0)
    assert len(calls) == 2
    for i in range(10):
        m.on_rx_pcm(bytes(FRAME), 4.0 + i)
    assert m.dropped_in == 6 and len(m.read_frames()) == 5


def test_notify_not_lost_under_concurrent_drain() -> None:
    m = CallMedia(RATE, inbound_seconds=60.0)
    wake = threading.Event()
    m.set_notify(wake.set)
    got = 0
    stop = threading.Event()

    def consumer() -> None:
        nonlocal got
        while not stop.is_set() or wake.is_set():
            if wake.wait(0.5):
                wake.clear()
                got += len(m.read_frames())

    t = threading.Thread(target=consumer)
    t.start()
    for i in range(3000):
        m.on_rx_pcm(bytes(FRAME), float(i))
    time.sleep(0.05)
    stop.set()
    t.join(5)
    assert got == 3000 and m.dropped_in == 0  # every frame was announced by a notify


def test_clock_thread_callbacks_with_real_media_frames() -> None:
    m = CallMedia(RATE)
    pcm = ramp(0.02).pcm
    m.play(AudioFrame(pcm, RATE))
    out = pj.MediaFrame()
    m._on_frame_requested(out)
    assert out.type == pj.PJMEDIA_FRAME_TYPE_AUDIO and out.size == FRAME
    assert bytes(out.buf) == pcm
    inp = pj.MediaFrame()
    inp.type = pj.PJMEDIA_FRAME_TYPE_AUDIO
    write_frame(inp, pcm)
    inp.size = FRAME
    m._on_frame_received(inp)
    assert m.read_frames()[0].pcm == pcm
    none = pj.MediaFrame()  # a non-audio frame becomes silence, keeping the timeline
    m._on_frame_received(none)
    assert m.read_frames()[0].pcm == bytes(FRAME)


def test_fast_pcm_path_and_cost() -> None:
    assert FAST_PATH
    frame = pj.MediaFrame()
    pcm = bytes(range(256)) * 2 + bytes(128)
    n = 2000
    t0 = time.perf_counter()
    for _ in range(n):
        write_frame(frame, pcm)
    t1 = time.perf_counter()
    frame.size = len(pcm)
    for _ in range(n):
        data = read_frame(frame)
    t2 = time.perf_counter()
    assert data == pcm
    print(f"\nByteVector write {1e6 * (t1 - t0) / n:.1f} us, read {1e6 * (t2 - t1) / n:.1f} us")
    assert (t2 - t1) / n < 50e-6


def test_play_after_close_finishes_interrupted() -> None:
    m = CallMedia(RATE)
    queued = m.play(ramp(1.0))
    m.close()  # never attached: only the Python side is exercised
    assert queued.interrupted
    late = m.play(ramp(1.0))
    assert late.done and late.interrupted and not m.is_playing
    m.close()  # idempotent
