"""The audio pump of a phone call: moves what the media buffered to the call's consumers.

When the media says caller audio is waiting (`notify`), `AudioPump` drains it and hands it on:
- the caller's frames to the listening stage (`hear`), until caller and agent are bridged
  (then nobody recognises the caller any more), with what the IVR sent meanwhile (one frame
  per clock tick, as received frames come: the echo gate's reference, `audio_models.echo`);
- both directions to the call's recording: the caller left, what the caller heard right (the
  IVR's prompts as sent, mixed with the agent's leg while one is attached);
- to taps: `tap_caller` (every caller frame: voicemail) and `tap_audio` (batches of both
  directions: live listen).

Threads: pjmedia's clock thread only fills the media's bounded buffers and calls `notify`
through `loop.call_soon_threadsafe`; draining, recording and the taps run on the call's event
loop. A tap must not block. Agent audio waiting for the recording is bounded
(`AGENT_BACKLOG`), so a stalled clock cannot grow it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from audio_models.frames import AudioFrame
from ivr.call import events as ev
from ivr.call.protocols import MediaChannel
from ivr.call.recording import CallRecording

__all__ = ["AGENT_BACKLOG", "AudioPump", "AudioTap"]

AudioTap = Callable[[list[bytes], list[bytes]], None]  # (caller PCM frames, far-side frames)

log = logging.getLogger("ivr.call")

AGENT_BACKLOG = 50  # frames (1 s) of agent audio waiting to be mixed into the recording


class AudioPump:
    """One call's audio distribution (see the module docstring). `failed()` ends the call
    when draining fails: never a deaf call that nobody ends."""

    def __init__(self, call_id: str, media: MediaChannel, recording: CallRecording, *,
                 hear: Callable[[list[AudioFrame], list[bytes]], None], emit: ev.Emit,
                 failed: Callable[[], None]) -> None:
        self.call_id = call_id
        self.media = media
        self._recording = recording
        self._hear = hear
        self._emit = emit
        self._failed = failed
        self._ready = asyncio.Event()
        self._agent_media: MediaChannel | None = None  # the agent's leg, while connected
        self._agent_pending: list[bytes] = []  # agent audio not yet mixed into the recording
        self.bridged = False  # caller and agent talk: no more recognition
        self._taps: list[Any] = []  # extra consumers of caller audio (voicemail)
        self._audio_taps: list[AudioTap] = []  # both directions (live listen)

    def notify(self) -> None:
        """Audio is waiting (on the event loop: via call_soon_threadsafe from the clock)."""
        self._ready.set()

    async def run(self) -> None:
        while True:
            await self._ready.wait()
            self._ready.clear()
            try:
                self.drain()
            except Exception as e:  # never a deaf call that nobody ends
                log.exception("call=%s audio loop failed", self.call_id)
                self._emit(ev.Error(where="audio", error=repr(e)))
                self._failed()
                return

    def drain(self, final: bool = False) -> None:
        """Hand on everything buffered; `final`: the last of it (not to the listener)."""
        frames: list[AudioFrame] = self.media.read_frames()
        agent = self._agent_media.read_frames() if self._agent_media is not None else []
        recording = self._recording.active
        sent = self.media.read_sent()  # drained every time: the echo reference stays aligned
        far: list[bytes] = []  # what the caller heard: the IVR's audio with the agent's
        if recording or self._audio_taps:
            self._agent_pending += [f.pcm for f in agent]
            del self._agent_pending[:-AGENT_BACKLOG]  # bounded: a stalled clock cannot grow it
            far = [_mix(pcm, self._agent_pending.pop(0)) if self._agent_pending else pcm
                   for pcm in sent]
        if recording:
            self._recording.write((f.pcm for f in frames), far)
        for tap in list(self._taps):
            for f in frames:
                tap(f)
        if self._audio_taps and (frames or far):
            caller = [f.pcm for f in frames]
            for audio_tap in list(self._audio_taps):
                audio_tap(caller, far)
        if final or self.bridged:
            return
        self._hear(frames, sent)

    # ------------------------------------------------------------ consumers and the agent leg
    def tap_caller(self, tap: Any) -> Any:
        """Also hand every caller frame to `tap(frame)`; returns the function that stops it."""
        self._taps.append(tap)
        return lambda: self._taps.remove(tap) if tap in self._taps else None

    def tap_audio(self, tap: AudioTap) -> Callable[[], None]:
        """Also hand each batch of audio to `tap(caller_pcm, far_pcm)`; returns the function
        that stops it."""
        self._audio_taps.append(tap)
        return lambda: self._audio_taps.remove(tap) if tap in self._audio_taps else None

    def attach_agent(self, media: MediaChannel) -> None:
        """The agent's leg: its audio goes into the recording (right channel)."""
        self._agent_media = media
        set_notify = getattr(media, "set_notify", None)
        if set_notify is not None:
            loop = asyncio.get_running_loop()
            set_notify(lambda: loop.call_soon_threadsafe(self.notify))

    def detach_agent(self) -> None:
        media, self._agent_media = self._agent_media, None
        self.bridged = False
        if media is not None and (set_notify := getattr(media, "set_notify", None)):
            set_notify(None)
        self.drain(final=True)


def _mix(a: bytes, b: bytes) -> bytes:
    """Two 16-bit PCM frames summed with clipping (the recording's right channel)."""
    import numpy as np

    n = min(len(a), len(b)) // 2
    x = np.frombuffer(a[: n * 2], "<i2").astype(np.int32) + np.frombuffer(b[: n * 2], "<i2")
    return np.clip(x, -32768, 32767).astype("<i2").tobytes() + a[n * 2:]
