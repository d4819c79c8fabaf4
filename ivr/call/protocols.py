"""The small protocols a call session needs from the layers below it.

The real implementations are `telephony.SipEndpoint` / `telephony.CallMedia`,
`audio_models.WhisperASR` and `audio_models.PromptCache`; unit tests use fakes.
"""

from __future__ import annotations

import asyncio
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


class DialFailed(RuntimeError):
    """An outbound leg (an agent's phone) was rejected, unreachable or not answered."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{code} {reason}")
        self.code = code
        self.reason = reason


class AgentLeg(Protocol):
    """An answered outbound call (to an agent), as the service hands it to a session."""

    call_id: str
    media: MediaChannel
    ended: asyncio.Event  # set when the leg disconnects
    by_remote: bool  # with `ended`: the agent hung up (not the IVR after the caller did)


class CallControl(Protocol):
    def hangup(self, call_id: str) -> None: ...

    def transfer(self, call_id: str, uri: str, headers: dict[str, str] | None = None) -> None: ...

    async def dial(self, uri: str, headers: dict[str, str], ring_s: float) -> AgentLeg:
        """Call `uri`; the answered leg with its media, or `DialFailed`."""
        ...

    async def bridge(self, call_a: str, call_b: str, hangup_together: bool = True) -> bool:
        """Connect two calls' audio both ways (with `hangup_together`, each hung up when the
        other ends; without, the session decides: a survey after the agent)."""
        ...

    def release_leg(self, call_id: str) -> None:
        """The session is done with an outbound leg (hang it up if still up; forget it)."""
        ...


class SpeechRecognizer(Protocol):
    async def recognize(
        self, audio: AudioFrame, language: str, initial_prompt: str | None = None, *,
        priority: int = 0, deadline: float | None = None, full_window: bool = False,
    ) -> Transcript: ...


class PromptSource(Protocol):
    async def get(self, text: str, language: str, *, private: bool = False) -> AudioFrame:
        """`private`: a read-back of this call's values, rendered for it and never stored."""

    async def get_file(self, path: Path) -> AudioFrame: ...


async def first_of(*events: asyncio.Event, limit_s: float | None = None) -> None:
    """Return as soon as any of `events` is set (or after `limit_s` seconds)."""
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, timeout=limit_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()


async def play_and_wait(media: MediaChannel, audio: AudioFrame, stop: asyncio.Event,
                        grace_s: float) -> None:
    """Play `audio` on `media`; return once it has played, `stop` is set, or its length plus
    `grace_s` has passed (a stalled clock cannot hang the call)."""
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    media.play(audio, on_done=lambda _pb: loop.call_soon_threadsafe(done.set))
    await first_of(stop, done, limit_s=audio.duration + grace_s)
