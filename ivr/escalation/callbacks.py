"""What a caller can leave when no agent takes the call: a call back to book (`book_callback`)
or a voicemail to record (`record_voicemail`). Both become rows of the agents' list of
callbacks (`CallStore.add_callback`, kind "callback" or "voicemail") and events of the call.

Used by the hand-over after the queue's `max_wait_s` (`ivr.escalation.handover`) and by the
dialplan's `callback` and `voicemail` verbs (`ivr.call.transfers`). A booked call back is
then made by the service itself (`ivr.escalation.callback_dialler`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from audio_models.frames import AudioFrame
from ivr.call import events as ev
from ivr.call.inputs import CallerHungUp, KeyPressed, SpeechBegan, SpeechHeard
from ivr.call.recorder import SafeWriter, recording_file
from ivr.escalation import events as hev
from ivr.files import file_in

if TYPE_CHECKING:
    from ivr.call.session import CallSession

VOICEMAIL_SILENCE_S = 4.0  # a voicemail ends this long after the caller stops speaking


def book_callback(s: CallSession, number: str, queue: str, reason: str,
                  topic: str | None = None) -> int:
    """Store a call back to `number` for `queue` (the agents' list of callbacks), with the
    caller's window (`callbacks.window_h` from now) in which the service's dialler
    (`ivr.escalation.callback_dialler`) may call them back."""
    summary = s.summary_data() or {}
    now = time.time()
    row = s.deps.store.add_callback(
        s.call_id, kind="callback", caller=s.caller, number=number, language=s.language,
        intent=summary.get("intent") or topic, queue=queue, reason=reason,
        not_before=now, not_after=now + s.settings.callbacks.window_h * 3600, attempts=0)
    s.emit(hev.CallbackRequested(number=number, queue=queue, callback_id=row))
    return row


async def record_voicemail(s: CallSession, max_s: float, queue: str, reason: str,
                           topic: str | None = None) -> tuple[float, str]:
    """A beep, then the caller's message (see `_record`), stored for `queue` with what was
    recognised; (0.0, "") when they said nothing (the empty file is removed)."""
    await s.announce_audio(_beep(s.media.clock_rate))
    s.drain_inputs()  # keys pressed during the instructions
    path = recording_file(file_in(s.settings.recordings_dir, f"{s.call_id}-voicemail.wav"))
    seconds, said = await _record(s, path, max_s)
    if seconds < 0.5:
        with contextlib.suppress(OSError):
            path.unlink()
        s.emit(hev.VoicemailEmpty())
        return 0.0, ""
    summary = s.summary_data() or {}
    row = s.deps.store.add_callback(
        s.call_id, kind="voicemail", caller=s.caller, number=s.caller,
        language=s.language, intent=summary.get("intent") or topic, queue=queue,
        reason=reason, recording_path=str(path), transcript=said or None)
    s.emit(hev.VoicemailSaved(seconds=round(seconds, 1), callback_id=row, text=said))
    return seconds, said


def _beep(rate: int, seconds: float = 0.4, freq: float = 1000.0) -> AudioFrame:
    import numpy as np

    t = np.arange(int(rate * seconds)) / rate
    pcm = (0.3 * 32767 * np.sin(2 * np.pi * freq * t)).astype("<i2").tobytes()
    return AudioFrame(pcm, rate)


async def _record(session: CallSession, path: Path, max_s: float) -> tuple[float, str]:
    """The caller's audio into a mono WAV until '#', hang-up, `max_s`, or 4 s of silence
    after they spoke; returns (seconds recorded, what they said as recognised)."""
    # encrypted under a recording key; a write failure ends the recording, not the call
    wav = SafeWriter(path, 1, session.media.clock_rate,
                     on_error=lambda error: session.emit(ev.RecordingFailed(error=error)))
    written = 0.0

    def tap(frame: AudioFrame) -> None:
        nonlocal written
        wav.writeframes(frame.pcm)
        written += frame.duration

    remove: Callable[[], None] = session.tap_caller(tap)
    session.emit(hev.VoicemailRecording(max_s=max_s))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max_s
    quiet_until: float | None = None  # after an utterance: end if nothing more by then
    said: list[str] = []
    try:
        while not session.hungup.is_set():
            now = loop.time()
            end = deadline if quiet_until is None else min(deadline, quiet_until)
            if now >= end:
                break
            item = await session.next_input(end - now)
            if isinstance(item, CallerHungUp) or (
                    isinstance(item, KeyPressed) and item.digit == "#"):
                break
            if isinstance(item, SpeechBegan):
                quiet_until = None
            elif isinstance(item, SpeechHeard):
                said.append(item.transcript.text)
                quiet_until = loop.time() + VOICEMAIL_SILENCE_S
    finally:
        remove()
        wav.close()
    return (written if said else 0.0), " ".join(t for t in said if t)
