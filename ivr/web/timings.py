"""Per-turn latencies as the API and the call page show them (milliseconds between the
timestamps a turn's row stores)."""

from __future__ import annotations

from typing import Any

__all__ = ["turn_timings"]


def _ms(later: float | None, earlier: float | None) -> int | None:
    if later is None or earlier is None:
        return None
    return round((later - earlier) * 1000)


def turn_timings(turn: dict[str, Any]) -> dict[str, int | None]:
    """Per-turn latencies in milliseconds from the stored timestamps."""
    return {
        "speech_ms": _ms(turn.get("speech_end"), turn.get("speech_start")),
        "eos_to_asr_ms": _ms(turn.get("asr_done"), turn.get("speech_end")),
        "eos_to_reply_audio_ms": _ms(turn.get("reply_first_audio"), turn.get("speech_end")),
        "asr_ms": None if turn.get("asr_seconds") is None else round(turn["asr_seconds"] * 1000),
    }
