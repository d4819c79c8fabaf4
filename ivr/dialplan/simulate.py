"""`ivr simulate`: talk to a dialplan in the terminal, without a phone.

    ivr simulate dialplans/hotline.yaml                 # type what the caller says
    ivr simulate dialplans/hotline.yaml --audio a.wav b.wav   # recordings through the real ASR
    ivr simulate dialplans/hotline.yaml --mic           # speak; prompts play on the speakers

Typed input: plain text is speech, `#123` presses keys, an empty line (or `/silence`) is no
input until the node's timeout; `/vars`, `/emotion anger=0.8`, `/restart`, `/quit`, `/help`.
Every turn prints what the IVR understood (intent and the top scores, slots), its prompts
(`IVR [zh-CN]: ...`), the nodes it went through, the variables it changed, and any webhook,
transfer or hangup. Webhooks are real HTTP requests, as in a call.

`--audio` transcribes each file in turn with the real Whisper model in the call's current
language and feeds the transcript as speech (under the question's grammar, fused as in a
call, when `asr.grammar` is on: `Simulator.transcribe`); then the session goes on
interactively when the terminal is interactive, else it stops. `--mic` listens through
pyaudio (16 kHz mono): the real endpointer cuts the caller's speech, Whisper transcribes it,
and prompts are rendered by the service's TTS (cached like the service's) and played on the
speakers.

This module holds the session (`Simulator`) and the command (`run_simulate`); the terminal
is `ivr.dialplan.console`, the microphone and speakers `ivr.dialplan.mic`.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ivr.call.grammar_fusion import GrammarFusion, GrammarRules
from ivr.dialplan.console import Console, key_values, print_turn
from ivr.dialplan.conversation import (
    Conversation,
    ConversationEnded,
    quiet_webhook_log,
)
from ivr.dialplan.engine import DialogEngine
from ivr.dialplan.loader import DialplanError, LoadedDialplan, display_path, load_dialplan
from ivr.dialplan.mic import AudioDeviceError, MicAudio, PromptSpeaker, mic_loop
from ivr.dialplan.turn_result import TurnResult
from ivr.understanding.profiles import initial_prompts

HELP = """\
  text          the caller says it (e.g. 我想查一下话费, check my bill)
  #123          the caller presses keys (#12345678# for an account ending with #)
  (empty line)  the caller stays silent until the timeout (also /silence)
  /vars         show the call's variables
  /emotion anger=0.8 [k=v ...]   set the caller's emotion (/emotion alone shows it)
  /restart      start a new call
  /quit         end (also Ctrl-D or Ctrl-C)"""

AsrFactory = Callable[[str], Any]  # model spec -> object with transcribe_sync(audio, lang, prompt)


class SimulateError(Exception):
    """Ends the simulator with a one-line message and exit status 2."""


# ---------------------------------------------------------------- the session
@dataclass
class _Options:
    loaded: LoadedDialplan
    caller: str
    now: dt.datetime | None
    language: str | None
    min_confidence: float
    max_no_speech_prob: float
    disclosure: dict[str, str] = field(default_factory=dict)  # as callers hear it first
    agents_available: bool = True
    disclosure_order: tuple[str, ...] = ()  # privacy.disclosure_languages
    grammar: GrammarRules | None = None  # asr.grammar on: recognise under each question's grammar


class Simulator:
    """The REPL (and the --audio / --mic feeders) over one `Conversation` at a time."""

    def __init__(self, console: Console, options: _Options, *, asr_model: str = "base",
                 asr_factory: AsrFactory | None = None,
                 initial_prompts: dict[str, str] | None = None) -> None:
        self.console = console
        self.options = options
        self.asr_model = asr_model
        self._asr_factory = asr_factory
        self._asr: Any = None
        self.initial_prompts = initial_prompts or {}
        self.conv = self._new_conversation()

    def _new_conversation(self) -> Conversation:
        o = self.options
        return Conversation(o.loaded, caller=o.caller, now=o.now, language=o.language,
                            min_confidence=o.min_confidence,
                            max_no_speech_prob=o.max_no_speech_prob, disclosure=o.disclosure,
                            disclosure_order=o.disclosure_order,
                            agents_available=o.agents_available)

    def close(self) -> None:
        self.conv.close()
        if self._asr is not None and hasattr(self._asr, "close"):
            self._asr.close()
        self._asr = None

    def header(self) -> None:
        plan = self.options.loaded.plan
        c = self.console
        c.print(f"ivr simulate: {plan.name} ({display_path(self.options.loaded.path)}), caller "
                f"{self.options.caller}, language {self.conv.language}"
                + (f", time {self.options.now.isoformat()}" if self.options.now else ""))

    def start(self) -> TurnResult:
        turn = self.conv.start()
        print_turn(self.console, turn, show_changed=False)
        return turn

    # ------------------------------------------------------------ ASR
    def asr(self) -> Any:
        if self._asr is None:
            self.console.print(f"  (loading ASR model {self.asr_model!r} ...)")
            self._asr = (self._asr_factory or real_asr)(self.asr_model)
        return self._asr

    def transcribe(self, audio: Any) -> Any:
        """What the caller said, as the call would hear it: under the question's grammar
        (digits, yes/no, menu choices) when `asr.grammar` is on, the grammar's answer and the
        free transcript fused as in a call (`ivr.call.grammar_fusion`), the decision printed."""
        lang = self.conv.language.split("-")[0]
        prompt = self.initial_prompts.get(lang)
        listen = self.conv.listening
        rules = self.options.grammar
        if rules is None or listen is None or listen.grammar is None:
            return self.asr().transcribe_sync(audio, lang, prompt)
        transcript = self.asr().transcribe_sync(audio, lang, prompt, grammar=listen.grammar)
        belief = GrammarFusion(self.options.loaded.plan, rules).believe(transcript, listen)
        if belief is None:
            return transcript
        self.console.print(f"  grammar ({belief.kind}): {belief.result.value or '-'} "
                           f"[confidence {belief.result.confidence:.2f}] "
                           f"{'used' if belief.used else 'not used'} ({belief.why})")
        return belief.transcript

    def feed_audio(self, path: Path) -> TurnResult:
        from audio_models.tts import load_audio_file

        transcript = self.transcribe(load_audio_file(path))
        self.console.print(f"caller ({path.name}): {transcript.text or '(nothing recognised)'}"
                           f"    [confidence {transcript.confidence:.2f}]")
        turn = self.conv.hear(transcript)
        print_turn(self.console, turn)
        return turn

    # ------------------------------------------------------------ typed input
    def repl(self) -> int:
        """Read lines until /quit, EOF, Ctrl-C or the end of the call."""
        c = self.console
        c.print("Type what the caller says; #123 presses keys; an empty line is silence; "
                "/help for more.")
        while True:
            if self.conv.ended:
                if not c.interactive:
                    return 0
                c.print("  (the call has ended: /restart for a new call, /quit to leave)")
            try:
                line = c.read("caller> ")
            except EOFError:
                c.print()
                c.print("(end of input)")
                return 0
            except KeyboardInterrupt:
                c.print()
                c.print("(interrupted)")
                return 0
            line = line.strip()
            if line.startswith("/"):
                result = self.command(line)
                if result is not None:
                    return result
                continue
            if self.conv.ended:
                continue
            try:
                if not line:
                    turn = self.conv.silence()
                elif line.startswith("#"):
                    keys = line[1:].replace(" ", "") or "#"
                    turn = self.conv.press(keys)
                else:
                    turn = self.conv.say_text(line)
            except ValueError as e:
                c.print(f"  {e}")
                continue
            except ConversationEnded:
                return 0
            print_turn(c, turn)

    def command(self, line: str) -> int | None:
        c = self.console
        name, _, rest = line.partition(" ")
        name = name.lower()
        if name in ("/quit", "/exit", "/q"):
            return 0
        if name in ("/help", "/h", "/?"):
            c.print(HELP)
        elif name == "/silence":
            print_turn(c, self.conv.silence())
        elif name == "/vars":
            variables = self.conv.variables
            c.print("  " + (key_values(variables) if variables else "(no variables)"))
            c.print(f"  language={self.conv.language}, node={self.conv.node}"
                    + (f", emotion: {key_values(self.conv.emotion)}" if self.conv.emotion else ""))
        elif name == "/emotion":
            self._emotion(rest)
        elif name == "/restart":
            self.conv.close()
            self.conv = self._new_conversation()
            c.print("--- new call ---")
            self.start()
        else:
            c.print(f"  unknown command {name}; /help lists them")
        return None

    def _emotion(self, rest: str) -> None:
        c = self.console
        if not rest.strip():
            c.print("  emotion: " + (key_values(self.conv.emotion) or "(none)"))
            return
        values: dict[str, Any] = {}
        for item in rest.split():
            key, sep, raw = item.partition("=")
            try:
                if not sep or not key:
                    raise ValueError
                values[key] = float(raw)
            except ValueError:
                c.print(f"  /emotion takes name=number pairs, e.g. /emotion anger=0.8 "
                        f"(got {item!r})")
                return
        self.conv.set_emotion(values)
        c.print(f"  emotion: {key_values(self.conv.emotion)}")


def real_asr(spec: str) -> Any:
    """The Whisper model the service would load for `spec`, from the settings' model dir."""
    from audio_models.model_store import resolve_asr_model
    from audio_models.whisper_asr import WhisperASR
    from ivr.config import load_settings

    settings = load_settings()
    return WhisperASR(resolve_asr_model(spec, settings.models_dir),
                      compute_type=settings.asr.compute_type,
                      cpu_threads=settings.asr.cpu_threads, beam_size=settings.asr.beam_size,
                      name=spec, short_window_s=settings.asr.short_window_s)


# ---------------------------------------------------------------- entry point
def _parse_time(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError as e:
        raise SimulateError(f"--time {text!r} is not an ISO time (e.g. "
                            "2026-11-23T10:00:00+08:00)") from e
    if when.tzinfo is None:
        raise SimulateError(f"--time {text!r} needs a UTC offset, e.g. "
                            "2026-11-23T10:00:00+08:00")
    return when


def run_simulate(args: argparse.Namespace, *, console: Console | None = None,
                 asr_factory: AsrFactory | None = None,
                 mic_factory: Callable[[], MicAudio] | None = None,
                 prompts: Any = None) -> int:
    """`ivr simulate PATH [--audio WAV...] [--mic] [--language L] [--caller N] [--time ISO]
    [--asr-model M]`; returns the exit status."""
    console = console or Console.terminal()
    try:
        with quiet_webhook_log():
            return _run(args, console, asr_factory, mic_factory, prompts)
    except (SimulateError, AudioDeviceError) as e:
        print(f"ivr simulate: {e}", file=console.err, flush=True)
        return 2
    except KeyboardInterrupt:
        console.print()
        console.print("(interrupted)")
        return 130


def _run(args: argparse.Namespace, console: Console, asr_factory: AsrFactory | None,
         mic_factory: Callable[[], MicAudio] | None, prompts: Any) -> int:
    from audio_models.protocols import ModelError
    from audio_models.tts import AudioFileError
    from ivr.config import load_settings
    from ivr.understanding.text_vectors import use_disk_cache

    settings = load_settings()
    use_disk_cache(settings.meaning_cache)
    audio: list[Path] = list(getattr(args, "audio", None) or [])
    use_mic = bool(getattr(args, "mic", False))
    if audio and use_mic:
        raise SimulateError("use either --audio or --mic, not both")
    for path in audio:
        if not path.is_file():
            raise SimulateError(f"audio file not found: {path}")
    try:
        loaded = load_dialplan(args.path)
    except DialplanError as e:
        raise SimulateError(f"cannot load the dialplan:\n{e}") from e
    now = _parse_time(getattr(args, "time", None))
    language = getattr(args, "language", None)
    profiles = DialogEngine(loaded.plan).profiles
    if language and language not in loaded.plan.languages and language not in profiles:
        raise SimulateError(f"--language {language} is neither one of the dialplan's languages "
                            f"({', '.join(loaded.plan.languages)}) nor a profile "
                            f"({', '.join(sorted(profiles))})")
    mic: MicAudio | None = None
    if use_mic:  # before anything slow: no device is a quick, clear failure
        mic = (mic_factory or MicAudio)()
    options = _Options(loaded, getattr(args, "caller", None) or "13800138000", now, language,
                       settings.asr.min_confidence, settings.asr.max_no_speech_prob,
                       dict(settings.privacy.disclosure),
                       not getattr(args, "no_agents", False),
                       tuple(settings.privacy.disclosure_languages),
                       GrammarRules.from_settings(settings) if settings.asr.grammar else None)
    sim = Simulator(console, options, asr_model=getattr(args, "asr_model", None) or "base",
                    asr_factory=asr_factory, initial_prompts=initial_prompts(settings.profiles))
    speaker: PromptSpeaker | None = None
    try:
        sim.header()
        if mic is not None:
            from audio_models.vad import Endpointer

            if not mic.has_output:
                console.print(f"  (no audio output device ({mic.output_error}); prompts are "
                              "only printed)")
            else:
                try:
                    speaker = PromptSpeaker(mic, loaded.base_dir, console, prompts)
                except Exception as e:  # noqa: BLE001 - the session works without speech
                    console.print(f"  (cannot load text to speech ({e}); prompts are only "
                                  "printed)")
            endpointer = Endpointer(settings.vad.endpointer_config(), sample_rate=mic.rate)
            sim.asr()  # load before the caller speaks
            try:
                return mic_loop(sim, mic, speaker, endpointer=endpointer,
                                default_timeout_s=settings.dialog.no_input_timeout_s)
            except KeyboardInterrupt:
                console.print()
                console.print("(interrupted)")
                return 0
            except OSError as e:  # the device went away, an overflow pyaudio raised, ...
                raise SimulateError(f"audio device error: {e}") from e
        sim.start()
        for path in audio:
            if sim.conv.ended:
                console.print(f"  (the call has ended; {path.name} and later files not played)")
                break
            sim.feed_audio(path)
        if audio and not console.interactive:
            return 0
        return sim.repl()
    except (ModelError, AudioFileError) as e:
        raise SimulateError(str(e)) from e
    finally:
        sim.close()
        if speaker is not None:
            speaker.close()
        if mic is not None:
            mic.close()
