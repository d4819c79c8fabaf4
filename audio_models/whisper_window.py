"""Whisper's encoder window: how long a window an utterance is encoded in, and the hooks
into faster-whisper that apply it per recognition (split from audio_models/whisper_asr.py).

Short encoder window (`short_window_s`): Whisper encodes a 30 s window however short the
utterance, and the encoder is most of a recognition's cost. An utterance of
`SHORT_WINDOW_MIN_S` up to half of `short_window_s` is encoded in a `short_window_s` window
instead (about 3x faster for 10 s), a longer one in a window it fills at most half of (5-15 s
of Mandarin read speech, 65 AISHELL clips: CER 20.4% against 21.0% in 30 s, 366 ms against
784 ms per clip). Measured on the shared real-speech sets through 8 kHz
(docs/latency_levers.md): English WER and Mandarin CER unchanged with 10 s; single words
(< 1 s) hallucinate repetitions in a short window, and a window barely longer than the speech
collapses, hence the bounds. Spoken digit strings lose digits in a short window (tiny.en, 120
FSDD strings: 4 digits 85% -> 70% exact, 8 digits 75% -> 72%), so a recognition that expects
digits asks for the full window (`full_window`). A result that looks wrong (repetitive,
unsure, or running into a token cap) is redone in the full window, but not a speculative
one (`DoubtfulGuess`): a pass begun at a pause is often cut mid-word, and the redo, 3-4x the
cost of the short pass, was mostly thrown away when the caller went on (docs/loadtest.md,
"where a Mandarin call's CPU goes"). faster-whisper pads every segment with
`pad_or_trim(segment)` (30 s); `_install_window_hook` wraps that function so that the length
applies per call (thread-local: each recognition runs in one thread).
"""

from __future__ import annotations

import math
import re
import threading
from typing import Any

from audio_models.inference import DeadlineMissed

FULL_WINDOW_FRAMES = 3000  # Whisper's 30 s window in 10 ms mel frames
SHORT_WINDOW_MIN_S = 1.5  # shorter utterances keep the full window (repetition hallucinations)
SHORT_WINDOW_MAX_FILL = 0.5  # longer utterances keep the full window (8-digit strings lost digits)
_window = threading.local()  # .frames: this thread's current recognition's window;
# .encoded: an encoder output already computed for this recognition's first window


def _install_window_hook() -> None:
    """Make faster-whisper's segment padding honour the calling thread's window (once)."""
    import faster_whisper.transcribe as fwt

    original = fwt.pad_or_trim
    if getattr(original, "ivr_window_hook", False):
        return

    def pad_or_trim(array, length: int = FULL_WINDOW_FRAMES, *, axis: int = -1):  # type: ignore[no-untyped-def]
        frames = getattr(_window, "frames", 0)
        if frames and length == FULL_WINDOW_FRAMES:
            length = frames
        return original(array, length, axis=axis)

    pad_or_trim.ivr_window_hook = True  # type: ignore[attr-defined]
    fwt.pad_or_trim = pad_or_trim


def _install_encode_reuse(model: Any) -> None:
    """Let one recognition reuse the encoder output its language detection computed: the
    model's first `encode` call in a thread whose `_window.encoded` is set returns that output
    (the same features, padded the same way) instead of encoding again (once per model)."""
    original = model.encode
    if getattr(original, "ivr_reuse_hook", False):
        return

    def encode(features):  # type: ignore[no-untyped-def]
        done = getattr(_window, "encoded", None)
        if done is not None:
            _window.encoded = None
            return done
        return original(features)

    encode.ivr_reuse_hook = True  # type: ignore[attr-defined]
    model.encode = encode


class DoubtfulGuess(DeadlineMissed):
    """A speculative short-window result that would have to be redone in the full window:
    dropped like a guess the machine had no time for (recognised again at the end of speech,
    where the caller may have said more); the end of speech can go straight to the full window
    when the audio is the same (`full_window=True`): the short pass would be doubtful again."""

    doubtful = True  # (what the call checks: it does not import this module)


def _token_cap(duration_s: float) -> int:
    """More tokens than any caller says in `duration_s` (Mandarin ~10 tokens/s at most)."""
    return int(20 + 12 * duration_s)


def _doubtful(segments: list[Any], duration_s: float, prompt: str | None = None) -> bool:
    """A short-window result that faster-whisper's own checks would have rejected
    (repetitive: gzip compression ratio > 2.4; unsure: mean log-probability < -1), that ran
    into the token cap (a repetition loop), or that only repeats the decoder's prompt."""
    tokens = sum(len(s.tokens) for s in segments)
    return tokens >= _token_cap(duration_s) or any(
        s.compression_ratio > 2.4 or s.avg_logprob < -1.0 for s in segments
    ) or echoes_prompt("".join(s.text for s in segments), prompt)


_NOT_WORDS = re.compile(r"[\W_]+")


def echoes_prompt(text: str, prompt: str | None) -> bool:
    """The transcript is a piece of the decoder's prompt ("以下是普通" of "以下是普通话的句子。"):
    Whisper repeats its prompt when it hears nothing it can write in the prompt's language
    (English over the Mandarin prompt, CI 2026-12-07): no caller said it."""
    if not prompt:
        return False
    said = _NOT_WORDS.sub("", text).lower()
    return len(said) >= 3 and said in _NOT_WORDS.sub("", prompt).lower()


def window_frames(duration_s: float, short_window_s: float, full: bool = False) -> int:
    """Encoder window (mel frames) for an utterance of `duration_s` when the short window is
    on: `short_window_s`, or for a longer utterance the whole seconds it fills at most half
    of (a 7 s request: 14 s), up to Whisper's full 30 s; off, or under
    `SHORT_WINDOW_MIN_S`, or `full`: the full 30 s."""
    if full or short_window_s <= 0 or duration_s < SHORT_WINDOW_MIN_S:
        return FULL_WINDOW_FRAMES
    seconds = max(short_window_s, math.ceil(duration_s / SHORT_WINDOW_MAX_FILL - 1e-9))
    return min(FULL_WINDOW_FRAMES, round(seconds * 100))
