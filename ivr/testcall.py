"""`ivr call`: dial a hotline from a real softphone (baresip) and report what happened.

The caller plays a recording (padded with silence, since baresip hangs up when its audio
source ends), presses keys at chosen times, and the call's audio is recorded; `--transcribe`
runs the local ASR over what the caller heard.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import soundfile as sf


@dataclass
class CallReport:
    uri: str
    answered: bool = False
    answer_s: float | None = None  # dial -> answered
    duration_s: float | None = None  # answered -> closed
    closed_by: str = ""  # "remote" (the hotline), "caller" (us: timeout/--hangup-after)
    close_reason: str = ""
    dtmf_sent: list[str] = field(default_factory=list)
    heard_seconds: float = 0.0
    recording: str | None = None
    transcript: str | None = None


def parse_dtmf(specs: list[str]) -> list[tuple[float, str]]:
    """["9", "123#@12.5"] -> [(1.0, "9"), (12.5, "123#")] sorted by time."""
    out = []
    for spec in specs:
        digits, _, at = spec.partition("@")
        if not digits or any(d not in "0123456789*#ABCD" for d in digits):
            raise ValueError(f"--dtmf {spec!r}: digits must be 0-9, *, # or A-D")
        try:
            when = float(at) if at else 1.0
        except ValueError as e:
            raise ValueError(f"--dtmf {spec!r}: time after @ must be seconds") from e
        out.append((when, digits))
    return sorted(out)


def run_test_call(args: argparse.Namespace) -> int:
    from telephony.softphone import Baresip, BaresipError, prepare_caller_wav

    try:
        schedule = parse_dtmf(args.dtmf)
    except ValueError as e:
        print(f"ivr call: {e}")
        return 2
    if not args.play.is_file():
        print(f"ivr call: no such audio file: {args.play}")
        return 2
    report = CallReport(args.uri)
    with tempfile.TemporaryDirectory(prefix="ivr-call-") as tmp:
        try:
            wav = prepare_caller_wav(args.play, Path(tmp) / "caller.wav",
                                     args.lead_silence, args.tail_silence)
        except Exception as e:  # unreadable audio: say so plainly
            print(f"ivr call: cannot read {args.play}: {e}")
            return 2
        phone = Baresip(wav, record_dir=Path(tmp) / "rec")
        try:
            phone.start()
            _converse(phone, args, schedule, report)
            heard, _sent = phone.recordings()
        except (BaresipError, FileNotFoundError) as e:
            report.close_reason = report.close_reason or str(e)
            heard = None
        finally:
            phone.stop()
        if heard is not None and heard.exists():
            report.heard_seconds = round(sf.info(str(heard)).duration, 2)
            if args.record:
                args.record.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(heard, args.record)
                report.recording = str(args.record)
            if args.transcribe:
                report.transcript = _transcribe(heard)
    _print(report, args.json)
    return 0 if report.answered else 1


def _converse(phone, args: argparse.Namespace, schedule: list[tuple[float, str]],  # type: ignore[no-untyped-def]
              report: CallReport) -> None:
    t_dial = time.monotonic()
    phone.dial(args.uri)
    first = phone.wait_event(
        lambda e: e.get("type") in ("CALL_ESTABLISHED", "CALL_CLOSED"), timeout=args.timeout)
    if first["type"] == "CALL_CLOSED":
        report.close_reason = first.get("param", "")
        report.closed_by = "remote"
        return
    answered = time.monotonic()
    report.answered = True
    report.answer_s = round(answered - t_dial, 3)
    pending = list(schedule)
    deadline = answered + (args.hangup_after if args.hangup_after else args.timeout)
    while True:
        now = time.monotonic()
        while pending and now - answered >= pending[0][0]:
            digits = pending.pop(0)[1]
            phone.send_dtmf(digits)
            report.dtmf_sent.append(digits)
        if now >= deadline:
            phone.hangup()
            closed = phone.wait_event("CALL_CLOSED", 10)
            report.closed_by = "caller"
            break
        try:
            closed = phone.wait_event("CALL_CLOSED", 0.1)
            report.closed_by = "remote"
            break
        except TimeoutError:
            continue
    report.close_reason = closed.get("param", "")
    report.duration_s = round(time.monotonic() - answered, 2)


def _transcribe(wav: Path) -> str:
    import numpy as np

    from audio_models.frames import AudioFrame
    from audio_models.model_store import resolve_asr_model
    from audio_models.whisper_asr import WhisperASR
    from ivr.config import load_settings

    settings = load_settings()
    asr = WhisperASR(resolve_asr_model(settings.asr.model, settings.models_dir))
    try:
        data, rate = sf.read(str(wav), dtype="int16", always_2d=True)
        frame = AudioFrame(np.ascontiguousarray(data[:, 0]).tobytes(), rate)
        lang, _p = asr.detect_language_sync(frame)
        return asr.transcribe_sync(frame, lang).text
    finally:
        asr.close()


def _print(report: CallReport, as_json: bool) -> None:
    if as_json:
        print(json.dumps(asdict(report), ensure_ascii=False, indent=2))
        return
    if not report.answered:
        print(f"not answered: {report.close_reason or 'no answer'}")
        return
    print(f"answered after {report.answer_s} s; call lasted {report.duration_s} s; "
          f"closed by {report.closed_by} ({report.close_reason or 'normal'})")
    if report.dtmf_sent:
        print(f"keys pressed: {' '.join(report.dtmf_sent)}")
    print(f"heard {report.heard_seconds} s of audio"
          + (f", saved to {report.recording}" if report.recording else ""))
    if report.transcript is not None:
        print(f"heard: {report.transcript}")
