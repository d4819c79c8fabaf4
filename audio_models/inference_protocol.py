"""The wire format between SIP workers and the machine's inference server.

One frame, either way: a 12-byte prefix (magic `IVR1`, header length, payload length, both
unsigned 32-bit big-endian), a JSON object (UTF-8), then the payload: raw PCM, signed 16-bit
little-endian mono, at the rate the header names (a recognition's or prosody request's audio,
a `speak` answer's rendered speech; empty otherwise).

Everything read is hostile until checked (the socket is private to the service's user, but
a bug in a worker must not crash the server that every call on the machine depends on):
- sizes are bounded before anything is allocated (`MAX_HEADER`, `MAX_PAYLOAD`); a frame
  over them, or a prefix without the magic, is `FrameError(fatal=True)`: the stream cannot
  be trusted any further, the server answers once and closes that connection;
- a well-framed request whose header is not what an op expects is
  `FrameError(fatal=False)`: answered with an error, the connection goes on;
- a stream that ends inside a frame is `asyncio.IncompleteReadError` (peer gone).

Requests carry `op` and, where an answer is expected, `id` (the client's, echoed back). Ops:
`hello`, `stats`, `cancel`, `recognize`, and the work that keeps a worker free of models
besides Whisper (issue 22): `prosody` (a caller turn's emotion features, `prosody_args`) and
`speak` (a prompt rendered by the server's Piper voice, `speech_args`).
Answers are `{"id", "ok": true, ...}` or `{"id", "ok": false, "error", "kind", "retryable"}`
with `kind` one of `bad_request`, `model`, `deadline` (speculative work the server had no
idle capacity for), `busy` (queue bound), `cancelled`, `closing`.
"""

from __future__ import annotations

import asyncio
import json
import math
import struct
from dataclasses import asdict
from typing import Any

from audio_models.frames import AudioFrame
from audio_models.grammar import ChoiceGrammar, DigitGrammar, Grammar, GrammarResult
from audio_models.protocols import Transcript

__all__ = [
    "MAX_HEADER", "MAX_PAYLOAD", "FrameError", "decode_grammar", "decode_transcript",
    "encode_frame", "encode_grammar", "encode_transcript", "prosody_args", "read_frame",
    "recognition_args", "speech_args",
]

MAGIC = b"IVR1"
PREFIX = struct.Struct(">4sII")
MAX_HEADER = 64 * 1024  # a grammar of many phrasings fits with room to spare
MAX_PAYLOAD = 48000 * 2 * 60  # one minute of 48 kHz PCM: far above `vad.max_utterance_s`
RATES = (8000, 16000, 22050, 24000, 32000, 44100, 48000)
PRIORITIES = (0, 1, 2)  # final, speculative (a pause), background (an agent leg's transcript)
MAX_TEXT = 2000  # characters of a prompt or phrasing
MAX_ITEMS = 200  # languages to detect among, choices, phrasings per choice


class FrameError(ValueError):
    """A frame or request that cannot be served; `fatal`: the stream is out of step."""

    def __init__(self, message: str, *, fatal: bool = False) -> None:
        super().__init__(message)
        self.fatal = fatal


def encode_frame(header: dict[str, Any], payload: bytes = b"") -> bytes:
    data = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode()
    if len(data) > MAX_HEADER or len(payload) > MAX_PAYLOAD:
        raise FrameError(f"frame too large: header {len(data)} B, payload {len(payload)} B")
    return PREFIX.pack(MAGIC, len(data), len(payload)) + data + payload


async def read_frame(reader: asyncio.StreamReader) -> tuple[dict[str, Any], bytes]:
    """The next frame's header and payload (see the module docstring for what is raised)."""
    magic, hlen, plen = PREFIX.unpack(await reader.readexactly(PREFIX.size))
    if magic != MAGIC:
        raise FrameError("not an inference frame (bad magic)", fatal=True)
    if hlen > MAX_HEADER or plen > MAX_PAYLOAD:
        raise FrameError(f"frame too large: header {hlen} B (max {MAX_HEADER}), payload "
                         f"{plen} B (max {MAX_PAYLOAD})", fatal=True)
    raw = await reader.readexactly(hlen)
    payload = await reader.readexactly(plen) if plen else b""
    try:
        header = json.loads(raw.decode())
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise FrameError(f"header is not JSON: {type(e).__name__}") from None
    if not isinstance(header, dict):
        raise FrameError("header is not a JSON object")
    return header, payload


# ------------------------------------------------------------ checked fields
def _text(value: Any, name: str, *, optional: bool = True) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise FrameError(f"{name} must be a string of at most {MAX_TEXT} characters")
    return value


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise FrameError(f"{name} must be a finite number")
    return float(value)


def recognition_args(header: dict[str, Any], payload: bytes) -> dict[str, Any]:
    """The checked arguments of a `recognize` request: audio, model, language, prompt,
    detect, full_window, grammar, priority, deadline_in_s (None: no deadline)."""
    rate = header.get("rate")
    if rate not in RATES:
        raise FrameError(f"rate must be one of {RATES}")
    if len(payload) % 2:
        raise FrameError("payload is not whole 16-bit samples")
    detect = header.get("detect")
    if detect is not None:
        if not isinstance(detect, dict) or len(detect) > MAX_ITEMS:
            raise FrameError("detect must be an object (language -> prompt)")
        detect = {_text(k, "detect language", optional=False): _text(v, "detect prompt")
                  for k, v in detect.items()}
    deadline = header.get("deadline_in_s")
    priority = header.get("priority", 0)
    if priority not in PRIORITIES or isinstance(priority, bool):
        raise FrameError("priority must be 0 (final), 1 (speculative) or 2 (background)")
    return {
        "audio": AudioFrame(payload, rate),
        "model": _text(header.get("model"), "model", optional=False),
        "language": _text(header.get("language"), "language", optional=False),
        "prompt": _text(header.get("prompt"), "prompt"),
        "detect": detect,
        "full_window": bool(header.get("full_window", False)),
        "grammar": decode_grammar(header.get("grammar")),
        "priority": priority,
        "deadline_in_s": None if deadline is None else _number(deadline, "deadline_in_s"),
    }


MAX_PROSODY_S = 60.0  # seconds of caller audio per prosody request (`vad.max_utterance_s` is less)


def prosody_args(header: dict[str, Any], payload: bytes) -> AudioFrame:
    """The checked audio of a `prosody` request (one caller turn, at most MAX_PROSODY_S)."""
    rate = header.get("rate")
    if rate not in RATES or isinstance(rate, bool):
        raise FrameError(f"rate must be one of {RATES}")
    if not payload or len(payload) % 2:
        raise FrameError("payload must be whole 16-bit samples, not empty")
    if len(payload) / 2 / rate > MAX_PROSODY_S:
        raise FrameError(f"prosody audio longer than {MAX_PROSODY_S:.0f} s")
    return AudioFrame(payload, rate)


def speech_args(header: dict[str, Any]) -> tuple[str, str]:
    """The checked (text, language) of a `speak` request: non-blank text of at most
    MAX_TEXT characters, a language tag of at most 16."""
    text = _text(header.get("text"), "text", optional=False)
    language = _text(header.get("language"), "language", optional=False)
    assert text is not None and language is not None
    if not text.strip() or not language or len(language) > 16:
        raise FrameError("speak needs non-blank text and a language tag (max 16 characters)")
    return text, language


# ------------------------------------------------------------ grammars and transcripts
def encode_grammar(grammar: Grammar | None) -> dict[str, Any] | None:
    if grammar is None:
        return None
    if isinstance(grammar, DigitGrammar):
        return {"digits": [grammar.min_len, grammar.max_len]}
    return {"choices": [[cid, list(phrasings)] for cid, phrasings in grammar.choices]}


def decode_grammar(data: Any) -> Grammar | None:
    if data is None:
        return None
    if not isinstance(data, dict) or len(data) != 1:
        raise FrameError("grammar must be {digits: [min, max]} or {choices: [...]}")
    if "digits" in data:
        bounds = data["digits"]
        if (not isinstance(bounds, list) or len(bounds) != 2
                or not all(type(b) is int and 0 <= b <= 64 for b in bounds)):
            raise FrameError("digits must be [min_len, max_len], 0..64")
        return DigitGrammar(bounds[0], bounds[1])
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or len(choices) > MAX_ITEMS:
        raise FrameError(f"choices must be a list of 1..{MAX_ITEMS} [id, [phrasings]]")
    out = []
    for item in choices:
        if (not isinstance(item, list) or len(item) != 2 or not isinstance(item[1], list)
                or len(item[1]) > MAX_ITEMS):
            raise FrameError("a choice must be [id, [phrasings]]")
        out.append((_text(item[0], "choice id", optional=False),
                    tuple(_text(p, "phrasing", optional=False) for p in item[1])))
    return ChoiceGrammar(tuple(out))  # type: ignore[arg-type]


def encode_transcript(t: Transcript) -> dict[str, Any]:
    data = asdict(t)
    data["avg_logprob"] = _finite(t.avg_logprob)
    return data


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None  # JSON has no -inf


def decode_transcript(data: dict[str, Any]) -> Transcript:
    """A transcript the server sent (trusted as far as types go: it is our own server)."""
    fields = dict(data)
    g = fields.pop("grammar", None)
    grammar = None if g is None else GrammarResult(
        g["value"], g["text"], float(g["confidence"]),
        tuple((str(v), float(p)) for v, p in g.get("alternatives", ())),
        float(g.get("processing_time", 0.0)))
    if fields.get("avg_logprob") is None:
        fields["avg_logprob"] = float("-inf")
    return Transcript(**fields, grammar=grammar)
