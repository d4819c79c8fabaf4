"""`ivr simulate --mic`: the caller speaks into the microphone, prompts play on the speakers.

`MicAudio` is pyaudio at 16 kHz mono (input, and output when there is a device);
`PromptSpeaker` renders prompts like the service (TTS router + PromptCache) and plays them;
`mic_loop` runs the call: after each prompt it listens, the real endpointer cuts the
caller's speech, the simulator's ASR transcribes it and the call hears it (no speech until
the node's timeout is silence). PortAudio's ALSA/JACK back ends print to file descriptor 2
while devices open; `_quiet_stderr` keeps that off the terminal. A missing pyaudio or input
device raises `AudioDeviceError`, which ends the simulator with its message.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from ivr.dialplan.console import Console, print_turn
from ivr.dialplan.conversation import Conversation
from ivr.dialplan.turn_result import TurnResult
from ivr.understanding.input_rules import is_noise

__all__ = ["AudioDeviceError", "MicAudio", "PromptSpeaker", "Simulation", "mic_loop"]


class AudioDeviceError(Exception):
    """No pyaudio, or no audio input device: `--mic` cannot run (the message says why)."""


# ---------------------------------------------------------------- audio devices
@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence what PortAudio's ALSA/JACK back ends print straight to file descriptor 2."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)


class MicAudio:
    """pyaudio input (and output, when there is a device) at 16 kHz mono, 16-bit."""

    rate = 16000
    frame_samples = 320  # 20 ms

    def __init__(self, pyaudio_module: Any = None) -> None:
        if pyaudio_module is None:
            try:
                import pyaudio as pyaudio_module
            except ImportError as e:
                raise AudioDeviceError(
                    f"--mic needs pyaudio ({e}): pip install 'voice-ivr[mic]'; use --audio or "
                    "type instead") from e
        self._pa_mod = pyaudio_module
        self._pa: Any = None
        self._in: Any = None
        self._out: Any = None
        try:
            with _quiet_stderr():
                self._pa = pyaudio_module.PyAudio()
                self._pa.get_default_input_device_info()
                self._in = self._pa.open(format=pyaudio_module.paInt16, channels=1,
                                         rate=self.rate, input=True,
                                         frames_per_buffer=self.frame_samples)
        except (OSError, ValueError, RuntimeError) as e:
            self.close()
            raise AudioDeviceError(f"no audio input device found (pyaudio: {e}); use --audio "
                                   "or type instead") from e
        try:
            with _quiet_stderr():
                self._pa.get_default_output_device_info()
                self._out = self._pa.open(format=pyaudio_module.paInt16, channels=1,
                                          rate=self.rate, output=True)
        except (OSError, ValueError, RuntimeError) as e:
            self.output_error = str(e)
        else:
            self.output_error = ""

    @property
    def has_output(self) -> bool:
        return self._out is not None

    def read(self) -> bytes:
        return bytes(self._in.read(self.frame_samples, exception_on_overflow=False))

    def discard_input(self) -> None:
        """Drop audio captured while prompts played (the speakers' echo)."""
        with contextlib.suppress(OSError):
            waiting = self._in.get_read_available()
            if waiting:
                self._in.read(waiting, exception_on_overflow=False)

    def play(self, pcm: bytes) -> None:
        if self._out is not None:
            self._out.write(pcm)

    def close(self) -> None:
        for stream in (self._in, self._out):
            if stream is not None:
                with contextlib.suppress(Exception):
                    stream.stop_stream()
                    stream.close()
        self._in = self._out = None
        if self._pa is not None:
            with contextlib.suppress(Exception):
                self._pa.terminate()
            self._pa = None


class PromptSpeaker:
    """Renders prompts like the service (TTS router + PromptCache) and plays them."""

    def __init__(self, mic: MicAudio, base_dir: Path, console: Console,
                 prompts: Any = None) -> None:
        self.mic = mic
        self.base_dir = base_dir
        self.console = console
        self.prompts = prompts if prompts is not None else _service_prompts(mic.rate)

    def speak(self, turn: TurnResult) -> None:
        for p in turn.prompts:
            try:
                if p.text.startswith("file:"):
                    audio = self.prompts.get_file_sync(self.base_dir / p.text[5:].strip())
                else:
                    audio = self.prompts.get_sync(p.text, p.language, private=p.private)
            except Exception as e:  # noqa: BLE001 - a prompt that cannot render is skipped
                self.console.print(f"  (cannot play prompt: {e})")
                continue
            self.mic.play(audio.pcm)

    def close(self) -> None:
        if hasattr(self.prompts, "close"):
            self.prompts.close()


def _service_prompts(rate: int) -> Any:
    from ivr.config import load_settings
    from ivr.voices import prompt_cache

    return prompt_cache(load_settings(), rate)


# ---------------------------------------------------------------- the call
class Simulation(Protocol):
    """What `mic_loop` drives (the simulator): its console, its call and its ASR."""

    console: Console
    conv: Conversation

    def start(self) -> TurnResult: ...

    def transcribe(self, audio: Any) -> Any: ...


def mic_loop(sim: Simulation, mic: MicAudio, speaker: PromptSpeaker | None, *,
             default_timeout_s: float, endpointer: Any) -> int:
    """The call by voice until it ends (0) or Ctrl-C; no speech until the node's timeout (or
    `default_timeout_s`) is silence, noise alone is not an answer."""
    from audio_models.frames import AudioFrame
    from audio_models.protocols import SpeechEnded, SpeechStarted

    c = sim.console
    c.print("Speak after each prompt (Ctrl-C ends).")
    turn = sim.start()
    while True:
        if speaker is not None:
            speaker.speak(turn)
        if sim.conv.ended:
            return 0
        listen = sim.conv.listening
        timeout = (listen.timeout_s if listen and listen.timeout_s else default_timeout_s)
        c.print(f"  (listening, {timeout:g} s ...)")
        mic.discard_input()
        endpointer.reset()
        # time runs with the audio read (reads block in real time), not the wall clock
        started, heard = time.monotonic(), 0.0
        speaking = False
        utterance = None
        while utterance is None:
            pcm = mic.read()
            frame = AudioFrame(pcm, mic.rate, started + heard)
            heard += frame.duration
            for ev in endpointer.push_frame(frame):
                if isinstance(ev, SpeechStarted):
                    speaking = True
                elif isinstance(ev, SpeechEnded):
                    utterance = ev
            if utterance is None and not speaking and heard >= timeout:
                break
        if utterance is None:
            c.print("caller: (silence)")
            turn = sim.conv.silence()
        else:
            transcript = sim.transcribe(utterance.audio)
            if is_noise(transcript):
                c.print("  (heard only noise; listening again)")
                turn = TurnResult("noise", sim.conv.node, sim.conv.node)
                continue
            c.print(f"caller: {transcript.text}    [confidence {transcript.confidence:.2f}]")
            turn = sim.conv.hear(transcript)
        print_turn(c, turn)
