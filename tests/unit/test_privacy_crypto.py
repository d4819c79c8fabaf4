"""Recordings encrypted at rest: container round trip, incremental writes, a crash's
truncation, wrong key, tampered and reordered chunks, key parsing, CallRecorder under a key."""

from __future__ import annotations

import base64
import io
import struct
import wave
from pathlib import Path

import numpy as np
import pytest

from ivr.call.recorder import CallRecorder
from ivr.config import Settings
from ivr.privacy.crypto import (
    EncryptedWavWriter,
    RecordingDecryptError,
    RecordingKeyError,
    TruncatedRecording,
    decrypt_to_wav,
    load_recording_key,
    parse_key,
    read_encrypted,
)

KEY = bytes(range(32))
RATE = 8000


def _pcm(n: int, start: int = 0) -> bytes:
    return (np.arange(start, start + n) % 30000).astype("<i2").tobytes()


def _write(path: Path, chunks: list[bytes], close: bool = True, chunk_bytes: int = 1000
           ) -> EncryptedWavWriter:
    w = EncryptedWavWriter(path, KEY, 1, 2, RATE, chunk_bytes=chunk_bytes)
    for c in chunks:
        w.writeframes(c)
    if close:
        w.close()
    return w


def _chunks(data: bytes) -> list[tuple[int, int]]:
    """(offset, size) of each chunk in a container."""
    pos, out = 23, []
    while pos < len(data):
        (word,) = struct.unpack_from(">I", data, pos)
        size = 4 + 12 + (word & 0x7FFF_FFFF)
        out.append((pos, size))
        pos += size
    return out


def test_round_trip_is_a_wav(tmp_path: Path) -> None:
    pcm = _pcm(4000)
    path = tmp_path / "a.wav.enc"
    _write(path, [pcm[:1234], pcm[1234:]])
    raw = path.read_bytes()
    assert raw.startswith(b"IVRREC") and pcm[:64] not in raw  # no plaintext on disk
    with wave.open(io.BytesIO(decrypt_to_wav(path, KEY))) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, RATE)
        assert w.readframes(w.getnframes()) == pcm


def test_incremental_chunks_hit_the_disk_and_crash_is_truncation(tmp_path: Path) -> None:
    path = tmp_path / "b.wav.enc"
    pcm = _pcm(1600)  # 3200 bytes: three full 1000-byte chunks sealed, 200 pending
    w = _write(path, [pcm], close=False)
    assert len(_chunks(path.read_bytes())) == 3  # written during the call, not at the end
    with pytest.raises(TruncatedRecording) as e:  # the process died: no final chunk
        read_encrypted(path, KEY)
    assert e.value.pcm == pcm[:3000]  # at most the unsealed tail is lost
    with wave.open(io.BytesIO(decrypt_to_wav(path, KEY, allow_truncated=True))) as wav:
        assert wav.getnframes() == 1500
    w.close()
    assert read_encrypted(path, KEY)[1] == pcm


def test_cut_tail_and_dropped_final_chunk_are_detected(tmp_path: Path) -> None:
    path = tmp_path / "c.wav.enc"
    _write(path, [_pcm(1600)])
    data = path.read_bytes()
    last_off, _ = _chunks(data)[-1]
    with pytest.raises(TruncatedRecording):
        read_encrypted(data[:last_off], KEY)  # final chunk removed
    with pytest.raises(TruncatedRecording):
        read_encrypted(data[:-5], KEY)  # cut inside the final chunk
    with pytest.raises(RecordingDecryptError, match="after the final"):
        read_encrypted(data + b"x", KEY)


def test_wrong_key_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "d.wav.enc"
    _write(path, [_pcm(100)])
    with pytest.raises(RecordingDecryptError, match="another key"):
        decrypt_to_wav(path, bytes(32))


def test_tampered_chunk_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "e.wav.enc"
    _write(path, [_pcm(1600)])
    data = bytearray(path.read_bytes())
    off, size = _chunks(bytes(data))[1]
    data[off + size - 20] ^= 1
    with pytest.raises(RecordingDecryptError, match="chunk 1 fails authentication"):
        read_encrypted(bytes(data), KEY)
    header = bytearray(path.read_bytes())
    header[20] ^= 1  # the sample rate in the header is authenticated too
    with pytest.raises(RecordingDecryptError):
        read_encrypted(bytes(header), KEY)


def test_reordered_chunks_are_detected(tmp_path: Path) -> None:
    path = tmp_path / "f.wav.enc"
    _write(path, [_pcm(1600)])
    data = path.read_bytes()
    (o0, s0), (o1, s1), *_ = _chunks(data)
    swapped = data[:o0] + data[o1:o1 + s1] + data[o0:o0 + s0] + data[o1 + s1:]
    with pytest.raises(RecordingDecryptError, match="chunk 0"):
        read_encrypted(swapped, KEY)
    no_final_flag = bytearray(data)  # clearing the final flag does not pass either
    off, _ = _chunks(data)[-1]
    no_final_flag[off] &= 0x7F
    with pytest.raises(RecordingDecryptError):
        read_encrypted(bytes(no_final_flag), KEY)


def test_not_a_container() -> None:
    with pytest.raises(RecordingDecryptError, match="magic"):
        read_encrypted(b"RIFF....WAVEfmt ", KEY)


def test_key_parsing(tmp_path: Path) -> None:
    assert parse_key(KEY) == KEY
    assert parse_key(KEY.hex()) == KEY
    assert parse_key(KEY.hex().upper() + "\n") == KEY
    assert parse_key(base64.b64encode(KEY).decode()) == KEY
    assert parse_key(base64.urlsafe_b64encode(KEY).decode().rstrip("=")) == KEY
    for bad in ("", "abc", "00" * 31, base64.b64encode(bytes(16)).decode(), "zz" * 32):
        with pytest.raises(RecordingKeyError):
            parse_key(bad)


def test_load_recording_key(tmp_path: Path) -> None:
    assert load_recording_key(Settings(), environ={}) is None
    raw = tmp_path / "raw.key"
    raw.write_bytes(KEY)
    hexed = tmp_path / "hex.key"
    hexed.write_text(KEY.hex() + "\n")
    for f in (raw, hexed):
        settings = Settings.model_validate({"privacy": {"recording_key_file": str(f)}})
        assert load_recording_key(settings, environ={}) == KEY
    other = bytes(32)
    assert load_recording_key(settings, environ={"IVR_RECORDING_KEY": other.hex()}) == other
    with pytest.raises(RecordingKeyError, match="IVR_RECORDING_KEY"):
        load_recording_key(Settings(), environ={"IVR_RECORDING_KEY": "short"})
    bad = Settings.model_validate({"privacy": {"recording_key_file": str(tmp_path / "no")}})
    with pytest.raises(RecordingKeyError, match="recording_key_file"):
        load_recording_key(bad, environ={})


def test_call_recorder_encrypts(tmp_path: Path) -> None:
    rec = CallRecorder(tmp_path / "call.wav", RATE, key=KEY)
    assert rec.path.name == "call.wav.enc" and rec.encrypted
    frame = _pcm(160)
    for _ in range(100):  # 2 s
        rec.add_caller(frame)
        rec.add_ivr(frame)
        rec.flush()
    assert rec.seconds == pytest.approx(2.0)
    rec.paused = True
    rec.add_caller(frame)
    rec.add_ivr(frame)
    rec.close()
    assert not (tmp_path / "call.wav").exists()
    fmt, pcm = read_encrypted(rec.path, KEY)
    assert (fmt.channels, fmt.rate) == (2, RATE)
    stereo = np.frombuffer(pcm, dtype="<i2").reshape(-1, 2)
    assert len(stereo) == 101 * 160
    assert stereo[:160, 0].tobytes() == frame and not stereo[-160:].any()  # paused: silence


def test_call_recorder_plain_without_key(tmp_path: Path) -> None:
    rec = CallRecorder(tmp_path / "call.wav", RATE, key=None)
    rec.close()
    assert rec.path.name == "call.wav" and not rec.encrypted


def test_service_refuses_a_malformed_key(tmp_path: Path, monkeypatch) -> None:
    import asyncio

    from ivr.server import IvrService, StartupError

    monkeypatch.setenv("IVR_RECORDING_KEY", "not-a-key")
    service = IvrService(Settings.model_validate({"data_dir": str(tmp_path)}))
    with pytest.raises(StartupError, match="IVR_RECORDING_KEY: the recording key must be"):
        asyncio.run(service.start())
