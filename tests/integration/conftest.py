"""Fixtures for integration tests: one real `ivr serve` per session, and real-ASR listening."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audio_models.frames import AudioFrame
from testkit.harness import MODEL_DIR, IvrProcess
from tests.integration.telephony_smoke import procs, speech_wav  # noqa: F401 - fixtures


def _require_tools() -> None:
    if shutil.which("baresip") is None:
        pytest.skip("baresip is not installed (run scripts/setup)")


@pytest.fixture(scope="session")
def ivr(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IvrProcess]:
    """The IVR on its embedded defaults (shipped hotline dialplan), on free loopback ports."""
    _require_tools()
    yield from serve_checked(IvrProcess(tmp_path_factory.mktemp("ivr-data")))


def serve_checked(proc: IvrProcess) -> Iterator[IvrProcess]:
    """Start `proc`, yield it, stop it: it must exit 0 with no native crash in its log."""
    proc.start()
    try:
        yield proc
    finally:
        code = proc.stop()
        log = proc.log()
        assert code == 0, f"ivr serve exited with {code}:\n{log[-3000:]}"
        for crash in ("pj_thread_this", "Assertion", "Segmentation fault", "Fatal Python error"):
            assert crash not in log, log[-3000:]


@pytest.fixture(scope="session")
def listener_asr():  # type: ignore[no-untyped-def]
    """whisper-base in the test process, to transcribe what the caller heard."""
    from audio_models.model_store import resolve_asr_model
    from audio_models.whisper_asr import WhisperASR

    asr = WhisperASR(resolve_asr_model("base", MODEL_DIR), cpu_threads=2)
    yield asr
    asr.close()


def speech_chunks(x: np.ndarray, rate: int, max_s: float = 6.0) -> list[np.ndarray]:
    """Cut a recording at pauses (>= 0.2 s below -40 dBFS) into chunks of at most `max_s`:
    no word straddles Whisper's 30 s window and Mandarin prompts do not drown English ones."""
    hop = rate // 100
    n = len(x) // hop
    rms = np.sqrt(np.mean(x[: n * hop].astype(float).reshape(n, hop) ** 2, axis=1))
    quiet = rms < 330
    cuts, run = [0], 0
    for i, q in enumerate(quiet):
        run = run + 1 if q else 0
        if run == 20:  # 0.2 s of pause: a cut point in its middle
            cuts.append((i - 10) * hop)
    cuts.append(len(x))
    chunks, start = [], 0
    for a, b in zip(cuts, cuts[1:], strict=False):
        if (b - start) / rate > max_s and a > start:
            chunks.append(x[start:a])
            start = a
    chunks.append(x[start:])
    return [c for c in chunks if len(c) > rate // 4 and np.abs(c).max() > 1000]


def heard_text(asr, wav: Path, language: str = "en",  # type: ignore[no-untyped-def]
               last_s: float | None = None) -> str:
    """Lower-case transcript of a recording (words and digits only); of its last `last_s`
    seconds only when given (a long call's earlier prompts cost a recognition each)."""
    data, rate = sf.read(str(wav), dtype="int16", always_2d=True)
    x = np.ascontiguousarray(data[:, 0])
    if last_s is not None:
        x = x[-int(last_s * rate):]
    parts = []
    for chunk in speech_chunks(x, rate):
        parts.append(asr.transcribe_sync(AudioFrame(chunk.tobytes(), rate), language).text)
    return " ".join(re.findall(r"[a-z0-9']+", " ".join(parts).lower()))


def heard(text: str, phrase: str, max_word_errors: int = 1) -> bool:
    """Was `phrase` heard in `text` (both lower-case words), allowing a misheard word?
    The listener's Whisper is a second recogniser with its own errors; a phrase that was
    not said at all still fails."""
    from ivr.understanding.intents import edit_distance

    words, target = text.split(), phrase.lower().split()
    n = len(target)
    return any(edit_distance(words[i : i + n], target) <= max_word_errors
               for i in range(max(1, len(words) - n + 1)))
