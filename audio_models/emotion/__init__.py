"""Prosody-based caller emotion: features, per-caller baseline, ONNX model.

    from audio_models.emotion import EmotionModel, SpeakerBaseline
    model = EmotionModel()                 # loads audio_models/emotion/model/emotion.onnx
    baseline = model.new_baseline()        # one per call
    estimate = model.analyse(turn_audio, baseline, language="zh-CN")  # EmotionEstimate
    # first turns are judged against calm speakers of the language (model/MODEL_CARD.md)

librosa / scipy load only when features are first computed (call `warm_up()` at start-up).
"""

from audio_models.emotion.baseline import SpeakerBaseline
from audio_models.emotion.features import FEATURE_NAMES, N_FEATURES, prosody_features, warm_up
from audio_models.emotion.model import (
    EmotionCapabilities,
    EmotionEstimate,
    EmotionModel,
    TurnProsody,
)

__all__ = [
    "FEATURE_NAMES",
    "N_FEATURES",
    "EmotionCapabilities",
    "EmotionEstimate",
    "EmotionModel",
    "SpeakerBaseline",
    "TurnProsody",
    "prosody_features",
    "warm_up",
]
