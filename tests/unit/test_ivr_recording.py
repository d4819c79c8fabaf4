"""CallRecorder: stereo 16 kHz WAV, caller left / IVR right, aligned, valid while open."""

from __future__ import annotations

import wave

import numpy as np

from ivr.call.recorder import CallRecorder

RATE = 16000
FRAME = RATE // 50  # 20 ms


def _pcm(values) -> bytes:
    return np.asarray(values, dtype="<i2").tobytes()


def _frame(value: int, n: int = FRAME) -> bytes:
    return _pcm(np.full(n, value))


def _read(path):
    with wave.open(str(path), "rb") as w:
        params = (w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes())
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2)
    return params, data


def test_stereo_format_and_channels(tmp_path):
    path = tmp_path / "rec" / "call.wav"  # parent is created
    rec = CallRecorder(path, RATE)
    rec.add_caller(_pcm([1, 2, 3, 4]))
    rec.add_ivr(_pcm([-1, -2, -3, -4]))
    rec.flush()
    rec.close()
    params, data = _read(path)
    assert params == (2, 2, RATE, 4)
    assert data[:, 0].tolist() == [1, 2, 3, 4]  # caller on the left
    assert data[:, 1].tolist() == [-1, -2, -3, -4]  # IVR on the right
    assert rec.closed


def test_unequal_feeding_stays_aligned(tmp_path):
    path = tmp_path / "call.wav"
    rec = CallRecorder(path, RATE)
    # caller frames arrive in bursts, IVR frames one by one: flush only writes pairs
    for i in range(3):
        rec.add_caller(_frame(100 + i))
    rec.flush()
    assert rec.seconds == 0.0  # nothing on the right yet: nothing written
    rec.add_ivr(_frame(-100))
    rec.flush()
    assert rec.seconds == FRAME / RATE
    rec.add_ivr(_frame(-101))
    rec.add_ivr(_frame(-102))
    rec.add_ivr(_frame(-103))
    rec.flush()
    rec.add_caller(_frame(103))
    rec.flush()
    rec.close()
    params, data = _read(path)
    assert params[3] == 4 * FRAME
    frames = data.reshape(4, FRAME, 2)
    assert frames[:, 0, 0].tolist() == [100, 101, 102, 103]
    assert frames[:, 0, 1].tolist() == [-100, -101, -102, -103]
    assert (frames[:, :, 0] == frames[:, :1, 0]).all()  # whole frames, no shift


def test_odd_byte_counts_keep_whole_samples(tmp_path):
    path = tmp_path / "call.wav"
    rec = CallRecorder(path, RATE)
    pcm = _pcm([7, 8, 9])
    rec.add_caller(pcm[:3])  # one and a half samples
    rec.add_ivr(pcm)
    rec.flush()
    assert rec.seconds == 1 / RATE
    rec.add_caller(pcm[3:])
    rec.close()
    _, data = _read(path)
    assert data.tolist() == [[7, 7], [8, 8], [9, 9]]


def test_paused_writes_silence(tmp_path):
    path = tmp_path / "call.wav"
    rec = CallRecorder(path, RATE)
    rec.add_caller(_frame(5))
    rec.add_ivr(_frame(6))
    rec.paused = True  # e.g. the caller reads out a card number
    rec.add_caller(_frame(7))
    rec.add_ivr(_frame(8))
    rec.paused = False
    rec.add_caller(_frame(9))
    rec.add_ivr(_frame(10))
    rec.close()
    params, data = _read(path)
    assert params[3] == 3 * FRAME
    frames = data.reshape(3, FRAME, 2)
    assert frames[0].tolist() == [[5, 6]] * FRAME
    assert not frames[1].any()  # same length, all zero
    assert frames[2].tolist() == [[9, 10]] * FRAME


def test_close_pads_the_shorter_channel(tmp_path):
    path = tmp_path / "call.wav"
    rec = CallRecorder(path, RATE)
    rec.add_caller(_frame(3, 2 * FRAME))
    rec.add_ivr(_frame(4, FRAME // 2))
    rec.close()
    params, data = _read(path)
    assert params[3] == 2 * FRAME
    assert (data[:, 0] == 3).all()
    assert (data[: FRAME // 2, 1] == 4).all()
    assert not data[FRAME // 2 :, 1].any()
    assert rec.seconds == 0.0  # closed
    rec.close()  # idempotent
    rec.add_caller(_frame(1))
    rec.flush()  # ignored after close
    assert _read(path)[0][3] == 2 * FRAME


def test_header_valid_before_close(tmp_path):
    path = tmp_path / "call.wav"
    rec = CallRecorder(path, RATE)
    for i in range(50):  # one second
        rec.add_caller(_frame(i))
        rec.add_ivr(_frame(-i))
        rec.flush()
    assert rec.seconds == 1.0
    params, data = _read(path)  # another reader while the recorder is open
    assert params == (2, 2, RATE, RATE)
    assert data[-1].tolist() == [49, -49]
    rec.add_caller(_frame(50))
    rec.add_ivr(_frame(-50))
    rec.flush()
    assert _read(path)[0][3] == RATE + FRAME
    rec.close()
    assert path.stat().st_size == 44 + (RATE + FRAME) * 4


def test_empty_recording_is_valid(tmp_path):
    path = tmp_path / "call.wav"
    rec = CallRecorder(path, 8000)
    rec.close()
    params, _ = _read(path)
    assert params == (2, 2, 8000, 0)


def test_a_calls_recording_is_written_once_a_second_not_per_frame(tmp_path):
    """`CallRecording.write` buffers WRITE_EVERY_S of audio per write (per-frame writes
    rewrite the WAV header 50 times a second); pause, flush and close lose nothing."""
    from ivr.call.recording import WRITE_EVERY_S, CallRecording

    rec = CallRecording(tmp_path / "call.wav", RATE, lambda _e: None, lambda: None)
    path = rec.start()
    per_write = int(WRITE_EVERY_S * 50)
    rec.write([_frame(100)], [_frame(-100)])
    for i in range(per_write - 2):
        rec.write([_frame(i)], [_frame(-i)])
    assert path.stat().st_size == 0  # nothing written until a second is buffered
    rec.write([_frame(7)], [_frame(-7)])
    assert _read(path)[0][3] == per_write * FRAME  # one second, in one write
    rec.write([_frame(8)], [_frame(-8)])
    rec.pause("card")
    rec.write([_frame(9)], [_frame(-9)])  # taken while paused: silence
    rec.flush()
    assert _read(path)[0][3] == (per_write + 2) * FRAME
    rec.resume()
    rec.write([_frame(10)], [])
    rec.write([], [_frame(-10)])
    rec.close()
    _params, data = _read(path)
    frames = data.reshape(-1, FRAME, 2)[:, 0]  # one value per frame and channel
    assert len(frames) == per_write + 3
    assert frames[:, 0].tolist() == [100, *range(per_write - 2), 7, 8, 0, 10]
    assert data.reshape(-1, FRAME, 2)[:, 0, 1].tolist() == [
        -100, *(-i for i in range(per_write - 2)), -7, -8, 0, -10]
