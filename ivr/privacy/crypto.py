"""Recordings encrypted at rest: a streaming AES-256-GCM container written during the call.

File layout (``<call>.wav.enc``)::

    header  magic b"IVRREC" | version (1 byte) | key id (8 bytes: SHA-256(key)[:8])
            | channels (u16) | sample width (u16) | sample rate (u32)          big-endian
    chunk*  length (u32; top bit = final chunk) | nonce (12 bytes) | ciphertext + 16-byte tag

Every chunk is sealed with a fresh random nonce; its associated data is the whole header, the
chunk index (u64) and the final flag, so a chunk cannot be moved, dropped, replayed from
another file or turned into the last one. The writer emits a chunk every `chunk_bytes` of
audio and a final chunk on `close()`: a crash loses at most the unwritten chunk, and a file
without a final chunk is reported as `TruncatedRecording` (playback may still use the
authenticated prefix). Plaintext never touches the disk.

The key (32 bytes) comes from env ``IVR_RECORDING_KEY`` or `privacy.recording_key_file`
(raw 32 bytes, 64 hex digits or base64); it is never stored in the database.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import io
import os
import struct
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

if TYPE_CHECKING:
    from ivr.config import Settings

MAGIC = b"IVRREC"
VERSION = 1
KEY_BYTES = 32
KEY_ID_BYTES = 8
NONCE_BYTES = 12
TAG_BYTES = 16
SUFFIX = ".enc"
KEY_ENV = "IVR_RECORDING_KEY"
_HEADER = struct.Struct(">6sB8sHHI")
_LENGTH = struct.Struct(">I")
_AAD = struct.Struct(">QB")
_FINAL = 0x8000_0000
MAX_CHUNK = 16 * 1024 * 1024


class RecordingKeyError(ValueError):
    """The configured recording key is missing, unreadable or not 32 bytes."""


class RecordingDecryptError(ValueError):
    """The file is not a recording container, was encrypted under another key, or a chunk
    fails authentication (tampered, reordered, from another file)."""


class TruncatedRecording(RecordingDecryptError):
    """The container ends without its final chunk: the writer stopped (crash, power loss) or
    the tail was cut off. `pcm` holds the authenticated audio before the cut."""

    def __init__(self, message: str, fmt: WavFormat, pcm: bytes) -> None:
        super().__init__(message)
        self.fmt = fmt
        self.pcm = pcm


@dataclass(frozen=True)
class WavFormat:
    """PCM parameters of the recording inside the container."""

    channels: int
    sampwidth: int
    rate: int


def key_id(key: bytes) -> bytes:
    """The first 8 bytes of SHA-256(key): names the key in headers without revealing it."""
    return hashlib.sha256(key).digest()[:KEY_ID_BYTES]


def parse_key(data: bytes | str) -> bytes:
    """A 32-byte key from raw bytes, 64 hex digits or base64 (standard or URL-safe).
    Raises `RecordingKeyError`."""
    if isinstance(data, bytes) and len(data) == KEY_BYTES:
        return data
    try:
        text = data.decode("ascii") if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        text = ""
    text = text.strip()
    if len(text) == 2 * KEY_BYTES:
        with contextlib.suppress(ValueError):
            return bytes.fromhex(text)
    try:
        key = base64.b64decode(text.replace("-", "+").replace("_", "/")
                               + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise RecordingKeyError(
            "the recording key must be 32 bytes: raw, 64 hex digits or base64 "
            f"(got {len(text)} characters)")
    return key


def load_recording_key(settings: Settings, environ: dict[str, str] | None = None
                       ) -> bytes | None:
    """The recording key from env ``IVR_RECORDING_KEY`` (first) or
    `privacy.recording_key_file`; None when neither is set. Raises `RecordingKeyError` for an
    unreadable or malformed key (the service refuses to start)."""
    env = os.environ if environ is None else environ
    if env.get(KEY_ENV):
        try:
            return parse_key(env[KEY_ENV])
        except RecordingKeyError as e:
            raise RecordingKeyError(f"{KEY_ENV}: {e}") from None
    path = settings.privacy.recording_key_file
    if path is None:
        return None
    try:
        raw = Path(path).read_bytes()
    except OSError as e:
        raise RecordingKeyError(f"privacy.recording_key_file {path}: {e.strerror}") from None
    try:
        return parse_key(raw if len(raw) == KEY_BYTES else raw.strip())
    except RecordingKeyError as e:
        raise RecordingKeyError(f"privacy.recording_key_file {path}: {e}") from None


def encrypted_path(path: Path) -> Path:
    """``call.wav`` -> ``call.wav.enc``."""
    return path if path.name.endswith(SUFFIX) else path.with_name(path.name + SUFFIX)


class EncryptedWavWriter:
    """Writes PCM frames into an encrypted container; the `wave.Wave_write` subset the
    recorders use (`writeframes`, `getnframes`, `close`)."""

    def __init__(self, path: Path, key: bytes, channels: int, sampwidth: int, rate: int,
                 chunk_bytes: int | None = None) -> None:
        if len(key) != KEY_BYTES:
            raise RecordingKeyError("the recording key must be 32 bytes")
        self.path = path
        self.format = WavFormat(channels, sampwidth, rate)
        frame = channels * sampwidth
        # about one second of audio per chunk, whole frames only
        self.chunk_bytes = max(frame, (chunk_bytes or rate * frame) // frame * frame)
        self._aead = AESGCM(key)
        self._header = _HEADER.pack(MAGIC, VERSION, key_id(key), channels, sampwidth, rate)
        self._file: IO[bytes] = open(path, "wb")  # noqa: SIM115 - closed in close()
        self._file.write(self._header)
        self._file.flush()
        self._pending = bytearray()
        self._index = 0
        self._frames = 0
        self.closed = False

    def writeframes(self, data: bytes) -> None:
        """Queue PCM; every full chunk is sealed and written at once."""
        if self.closed:
            raise ValueError("writer is closed")
        self._pending += data
        self._frames += len(data) // (self.format.channels * self.format.sampwidth)
        while len(self._pending) >= self.chunk_bytes:
            self._seal(bytes(self._pending[:self.chunk_bytes]), final=False)
            del self._pending[:self.chunk_bytes]

    def getnframes(self) -> int:
        return self._frames

    def _seal(self, plain: bytes, final: bool) -> None:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plain, self._header + _AAD.pack(self._index, final))
        self._file.write(_LENGTH.pack(len(sealed) | (_FINAL if final else 0)) + nonce + sealed)
        self._file.flush()
        self._index += 1

    def close(self) -> None:
        """Write what is pending as the final chunk and close the file."""
        if self.closed:
            return
        try:
            self._seal(bytes(self._pending), final=True)
            self._pending.clear()
        finally:  # a full disk must not leak the file descriptor
            self._file.close()
            self.closed = True


def read_encrypted(source: Path | bytes, key: bytes) -> tuple[WavFormat, bytes]:
    """The format and PCM of a container (a path or its bytes). Raises
    `RecordingDecryptError` (wrong key, tampered or reordered chunk) or `TruncatedRecording`
    (no final chunk)."""
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    view = memoryview(data)
    if len(data) < _HEADER.size or data[:len(MAGIC)] != MAGIC:
        raise RecordingDecryptError("not an encrypted recording (bad magic)")
    header = bytes(view[:_HEADER.size])
    _, version, kid, channels, sampwidth, rate = _HEADER.unpack(header)
    if version != VERSION:
        raise RecordingDecryptError(f"unsupported recording container version {version}")
    if kid != key_id(key):
        raise RecordingDecryptError(
            f"the recording was encrypted with another key (key id {kid.hex()}, "
            f"configured key {key_id(key).hex()})")
    fmt = WavFormat(channels, sampwidth, rate)
    aead = AESGCM(key)
    pcm = bytearray()
    pos, index = _HEADER.size, 0
    while True:
        if pos + _LENGTH.size + NONCE_BYTES > len(data):
            raise TruncatedRecording(
                f"recording truncated after chunk {index}: no final chunk", fmt, bytes(pcm))
        (word,) = _LENGTH.unpack_from(view, pos)
        final, length = bool(word & _FINAL), word & ~_FINAL
        if length < TAG_BYTES or length > MAX_CHUNK + TAG_BYTES:
            raise RecordingDecryptError(f"chunk {index}: invalid length {length}")
        start = pos + _LENGTH.size + NONCE_BYTES
        if start + length > len(data):
            raise TruncatedRecording(
                f"recording truncated inside chunk {index}", fmt, bytes(pcm))
        nonce = bytes(view[pos + _LENGTH.size:start])
        try:
            pcm += aead.decrypt(nonce, bytes(view[start:start + length]),
                                header + _AAD.pack(index, final))
        except InvalidTag:
            raise RecordingDecryptError(
                f"chunk {index} fails authentication (tampered, reordered or wrong key)"
            ) from None
        pos, index = start + length, index + 1
        if final:
            break
    if pos != len(data):
        raise RecordingDecryptError(f"{len(data) - pos} unexpected byte(s) after the final chunk")
    return fmt, bytes(pcm)


def wav_bytes(fmt: WavFormat, pcm: bytes) -> bytes:
    """A WAV file of `pcm`."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(fmt.channels)
        w.setsampwidth(fmt.sampwidth)
        w.setframerate(fmt.rate)
        w.writeframes(pcm)
    return out.getvalue()


def decrypt_to_wav(path: Path | bytes, key: bytes, allow_truncated: bool = False) -> bytes:
    """The container as a WAV file (bytes). With `allow_truncated`, a container without its
    final chunk (the service crashed mid-call) gives its authenticated prefix instead of
    raising `TruncatedRecording`."""
    try:
        fmt, pcm = read_encrypted(path, key)
    except TruncatedRecording as e:
        if not allow_truncated:
            raise
        fmt, pcm = e.fmt, e.pcm
    return wav_bytes(fmt, pcm)
