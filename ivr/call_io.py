"""The small protocols a call session needs from the layers below it.

The real implementations are `telephony.SipEndpoint` / `telephony.CallMedia`,
`audio_models.WhisperASR` and `audio_models.PromptCache`; unit tests use fakes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from audio_models.frames import AudioFrame
from audio_models.protocols import Transcript


class MediaChannel(Protocol):
    """One call's audio, as `telephony.CallMedia` provides it."""

    clock_rate: int

    def read_frames(self) -> list[AudioFrame]: ...

    def read_sent(self) -> list[bytes]: ...

    def play(
        self,
        audio: AudioFrame,
        on_start: Callable[[Any], None] | None = None,
        on_done: Callable[[Any], None] | None = None,
    ) -> Any: ...

    def clear(self) -> None: ...


class CallControl(Protocol):
    def hangup(self, call_id: str) -> None: ...

    def transfer(self, call_id: str, uri: str) -> None: ...


class SpeechRecognizer(Protocol):
    async def recognize(
        self, audio: AudioFrame, language: str, initial_prompt: str | None = None
    ) -> Transcript: ...


class PromptSource(Protocol):
    async def get(self, text: str, language: str) -> AudioFrame: ...

    async def get_file(self, path: Path) -> AudioFrame: ...
