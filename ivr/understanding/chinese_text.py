"""Chinese text as the IVR compares it: Whisper writes Mandarin in Traditional or Simplified
characters from one utterance to the next, so every comparison converts to Simplified first
(OpenCC `t2s`, loaded once per process)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

__all__ = ["to_simplified"]


@lru_cache(maxsize=1)
def _converter() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """`text` with Traditional Chinese characters converted to Simplified (others kept)."""
    return str(_converter().convert(text))
