"""Model wrappers behind small protocols: VAD, ASR, TTS (and later emotion).

Knows nothing of SIP or dialplans. `AudioFrame` is the one frame type that crosses every
boundary of the system (telephony produces and consumes it, the IVR passes it around).

Heavy modules (faster-whisper, piper) load only when their engine module is imported:
`from audio_models.whisper_asr import WhisperASR`, `from audio_models.tts import PiperTTS`.
"""

from audio_models.frames import AudioFrame, concat, split_frames
from audio_models.languages import language_key
from audio_models.protocols import (
    ASRCapabilities,
    ASREngine,
    EndpointerConfig,
    ModelError,
    SpeechEnded,
    SpeechStarted,
    Transcript,
    TTSCapabilities,
    TTSEngine,
    VADEvent,
)
from audio_models.resample import Resampler, resample
from audio_models.vad import Endpointer

__all__ = [
    "ASRCapabilities",
    "ASREngine",
    "AudioFrame",
    "Endpointer",
    "EndpointerConfig",
    "ModelError",
    "Resampler",
    "SpeechEnded",
    "SpeechStarted",
    "TTSCapabilities",
    "TTSEngine",
    "Transcript",
    "VADEvent",
    "concat",
    "language_key",
    "resample",
    "split_frames",
]
