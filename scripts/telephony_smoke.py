#!/usr/bin/env python3
"""Smoke program for `telephony`: answer SIP calls, play a greeting, report what was heard.

Prints one JSON object per line on stdout: ready, incoming, media_ready, playback_start,
playback_done, dtmf, audio (periodic), disconnected (with media stats), rejected,
transfer, stopped; with --agent-uri also agent_answered, agent_failed, call_failed,
whisper_done, bridged. Stops cleanly on SIGTERM/SIGINT with exit code 0. Used by
tests/integration/test_telephony.py (pjsua is a per-process singleton, so tests run it as a
subprocess).
"""

from __future__ import annotations

import argparse
import json
import logging
import queue
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from audio_models.frames import AudioFrame  # noqa: E402
from telephony import (  # noqa: E402
    Admission,
    CallInfo,
    CallMedia,
    SipConfig,
    SipEndpoint,
    SipEndpointError,
    media_port,
)


def emit(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, "t": round(time.monotonic(), 3), **fields}), flush=True)


def tone(hz: float, rate: int, seconds: float) -> AudioFrame:
    t = np.arange(int(seconds * rate)) / rate
    return AudioFrame.from_float32((0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32), rate)


def greeting_audio(spec: str, rate: int, seconds: float) -> AudioFrame:
    if spec == "tone":
        return tone(440.0, rate, seconds)
    import soundfile as sf

    data, sr = sf.read(spec, dtype="float32", always_2d=True)
    mono = data.mean(axis=1)
    if sr != rate:
        n = int(len(mono) * rate / sr)
        mono = np.interp(np.arange(n) * sr / rate, np.arange(len(mono)), mono)
    return AudioFrame.from_float32(mono.astype(np.float32), rate)


class Listener:
    """Forwards every event to the main thread's queue (never blocks the SIP thread)."""

    def __init__(self, events: queue.Queue[tuple[str, tuple[Any, ...]]]) -> None:
        self.events = events

    def on_incoming(self, call: CallInfo) -> Admission:
        self.events.put(("incoming", (call,)))
        return Admission.accepted()

    def on_media_ready(self, call: CallInfo, media: CallMedia) -> None:
        self.events.put(("media_ready", (call, media)))

    def on_dtmf(self, call: CallInfo, digit: str, timestamp: float) -> None:
        self.events.put(("dtmf", (call, digit, timestamp)))

    def on_disconnected(self, call: CallInfo, code: int, reason: str, by_remote: bool) -> None:
        self.events.put(("disconnected", (call, code, reason, by_remote)))

    def on_rejected(self, remote_uri: str, code: int, reason: str) -> None:
        self.events.put(("rejected", (remote_uri, code, reason)))

    def on_transfer_status(self, call: CallInfo, code: int, final: bool) -> None:
        self.events.put(("transfer", (call, code, final)))

    def on_call_failed(self, call: CallInfo, code: int, reason: str) -> None:
        self.events.put(("call_failed", (call, code, reason)))


class CallStats:
    def __init__(
        self, call: CallInfo, media: CallMedia | None = None, record: bool = False
    ) -> None:
        self.call, self.media, self.record = call, media, record
        self.heard: list[bytes] = []
        self.sent: list[bytes] = []
        self.frames = self.voiced = 0
        self.sumsq = 0.0
        self.sent_frames = 0
        self.hangup_at: float | None = None
        self.transfer_at: float | None = None
        self.dtmf_at: float | None = None

    def drain(self) -> None:
        if self.media is None:
            return
        for f in self.media.read_frames():
            if self.record:
                self.heard.append(f.pcm)
            x = np.frombuffer(f.pcm, dtype="<i2").astype(np.float64) / 32768.0
            e = float(np.mean(x * x))
            self.frames += 1
            self.sumsq += e
            self.voiced += e > 1e-4  # about -40 dBFS
        sent = self.media.read_sent()
        self.sent_frames += len(sent)
        if self.record:
            self.sent.extend(sent)

    def write_wav(self, path: Path, rate: int) -> None:
        """Stereo WAV: left = caller (inbound), right = IVR (what was sent)."""
        import soundfile as sf

        left = np.frombuffer(b"".join(self.heard), dtype="<i2")
        right = np.frombuffer(b"".join(self.sent), dtype="<i2")
        n = max(len(left), len(right))
        stereo = np.zeros((n, 2), dtype=np.int16)
        stereo[: len(left), 0] = left
        stereo[: len(right), 1] = right
        sf.write(str(path), stereo, rate, subtype="PCM_16")

    def summary(self) -> dict[str, Any]:
        rms = (self.sumsq / self.frames) ** 0.5 if self.frames else 0.0
        return {
            "frames": self.frames,
            "voiced_frames": self.voiced,
            "rms": round(rms, 5),
            "sent_frames": self.sent_frames,
        }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=5060)
    ap.add_argument("--greeting", default="tone", help="'tone' (440 Hz) or a WAV/FLAC path")
    ap.add_argument("--greeting-seconds", type=float, default=3.0)
    ap.add_argument("--hangup-after", type=float, default=0.0, help="IVR hangs up (s)")
    ap.add_argument("--transfer-to", default="", help="blind-transfer calls to this URI")
    ap.add_argument("--transfer-after", type=float, default=2.0)
    ap.add_argument(
        "--transfer-headers", default="", help="JSON object embedded in the Refer-To URI"
    )
    ap.add_argument("--agent-uri", default="", help="dial this agent when a caller's media is up")
    ap.add_argument("--agent-timeout", type=float, default=10.0, help="agent answer timeout (s)")
    ap.add_argument("--whisper-seconds", type=float, default=1.0, help="1 kHz tone to the agent")
    ap.add_argument("--bridge", action="store_true", help="bridge caller and agent after whisper")
    ap.add_argument("--dtmf-to-caller", default="", help="send these digits after answering")
    ap.add_argument("--dtmf-after", type=float, default=1.0)
    ap.add_argument("--max-calls", type=int, default=4)
    ap.add_argument("--srtp", choices=["off", "optional", "mandatory"], default="off")
    ap.add_argument("--pj-log-level", type=int, default=1)
    ap.add_argument(
        "--record-dir",
        type=Path,
        default=None,
        help="write <call_id>.wav (left caller, right IVR) per call",
    )
    args = ap.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )

    events: queue.Queue[tuple[str, tuple[Any, ...]]] = queue.Queue()
    cfg = SipConfig(
        bind_host=args.host,
        port=args.port,
        max_calls=args.max_calls,
        pj_log_level=args.pj_log_level,
        srtp=args.srtp,
    )
    ep = SipEndpoint(cfg, Listener(events))
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        ep.start()
    except SipEndpointError as exc:
        emit("error", message=str(exc))
        return 2
    greeting = greeting_audio(args.greeting, cfg.clock_rate, args.greeting_seconds)
    whisper = tone(1000.0, cfg.clock_rate, args.whisper_seconds)
    transfer_headers = json.loads(args.transfer_headers) if args.transfer_headers else None

    def agent_done(fut: Any, caller_id: str) -> None:
        events.put(("agent_result", (caller_id, fut)))

    emit("ready", port=args.port)
    calls: dict[str, CallStats] = {}
    last_report = time.monotonic()
    while not stop.is_set():
        try:
            kind, data = events.get(timeout=0.05)
        except queue.Empty:
            kind, data = "", ()
        now = time.monotonic()
        if kind == "incoming":
            call = data[0]
            calls[call.call_id] = CallStats(call, record=args.record_dir is not None)
            emit(
                "incoming",
                call_id=call.call_id,
                sip_call_id=call.sip_call_id,
                caller=call.caller,
                callee=call.callee,
                remote_uri=call.remote_uri,
                headers=call.headers,
                active=ep.active_calls(),
            )
        elif kind == "media_ready" and data[0].direction == "outbound":
            call, media = data  # an agent leg: whisper to the agent only, then maybe bridge
            st = calls.setdefault(call.call_id, CallStats(call, record=args.record_dir is not None))
            st.media = media
            caller_id = call.headers.get("X-IVR-Call-ID", "")
            media.play(
                whisper,
                on_done=lambda pb, a=call.call_id, c=caller_id: events.put(
                    ("whisper_done", (a, c, pb))
                ),
            )
            emit("media_ready", call_id=call.call_id, direction="outbound", peer=caller_id)
        elif kind == "whisper_done":
            agent_id, caller_id, pb = data
            emit("whisper_done", call_id=agent_id, interrupted=pb.interrupted)
            if args.bridge and not pb.interrupted:
                ep.bridge(caller_id, agent_id).add_done_callback(
                    lambda f, a=agent_id, c=caller_id: events.put(("bridged", (c, a, f)))
                )
        elif kind == "bridged":
            caller_id, agent_id, fut = data
            ok = fut.exception() is None and fut.result()
            emit("bridged", call_id=caller_id, agent_call_id=agent_id, ok=bool(ok))
        elif kind == "agent_result":
            caller_id, fut = data
            exc = fut.exception()
            if exc is None:
                emit("agent_answered", call_id=caller_id, agent_call_id=fut.result().call_id)
            else:
                emit(
                    "agent_failed", call_id=caller_id, error=str(exc), code=getattr(exc, "code", 0)
                )
        elif kind == "call_failed":
            call, code, reason = data
            emit(
                "call_failed",
                call_id=call.call_id,
                remote_uri=call.remote_uri,
                code=code,
                reason=reason,
                headers=call.headers,
                after=round(now - call.started_at, 3),
            )
        elif kind == "media_ready":
            call, media = data
            st = calls.setdefault(call.call_id, CallStats(call))
            st.media = media
            cid = call.call_id
            if args.agent_uri:
                ep.make_call(
                    args.agent_uri,
                    {
                        "X-IVR-Call-ID": cid,
                        "X-IVR-Summary-URL": f"http://127.0.0.1/calls/{cid}/summary",
                    },
                    timeout=args.agent_timeout,
                ).add_done_callback(lambda f, c=cid: agent_done(f, c))
            media.play(
                greeting,
                on_start=lambda pb, c=cid: events.put(("pb_start", (c, pb))),
                on_done=lambda pb, c=cid: events.put(("pb_done", (c, pb))),
            )
            if args.hangup_after:
                st.hangup_at = now + args.hangup_after
            if args.transfer_to:
                st.transfer_at = now + args.transfer_after
            if args.dtmf_to_caller:
                st.dtmf_at = now + args.dtmf_after
            emit("media_ready", call_id=cid, clock_rate=media.clock_rate)
        elif kind == "pb_start":
            emit("playback_start", call_id=data[0], started_at=data[1].started_at)
        elif kind == "pb_done":
            pb = data[1]
            emit(
                "playback_done",
                call_id=data[0],
                interrupted=pb.interrupted,
                played=round((pb.finished_at or 0) - (pb.started_at or 0), 3),
            )
        elif kind == "dtmf":
            emit("dtmf", call_id=data[0].call_id, digit=data[1], timestamp=data[2])
        elif kind == "disconnected":
            call, code, reason, by_remote = data
            st = calls.pop(call.call_id, CallStats(call))
            st.drain()
            extra: dict[str, Any] = {}
            if args.record_dir is not None and st.record:
                args.record_dir.mkdir(parents=True, exist_ok=True)
                wav = args.record_dir / f"{call.call_id}.wav"
                st.write_wav(wav, cfg.clock_rate)
                extra["recording"] = str(wav)
            media_stats = st.media.stats() if st.media else {}
            emit(
                "disconnected",
                call_id=call.call_id,
                direction=call.direction,
                code=code,
                reason=reason,
                by_remote=by_remote,
                audio=st.summary(),
                media={k: round(float(v), 3) for k, v in media_stats.items()},
                **extra,
            )
        elif kind == "rejected":
            emit("rejected", remote_uri=data[0], code=data[1], reason=data[2])
        elif kind == "transfer":
            emit("transfer", call_id=data[0].call_id, code=data[1], final=data[2])
        for cid, st in list(calls.items()):
            if st.hangup_at is not None and now >= st.hangup_at:
                st.hangup_at = None
                ep.hangup(cid)
            if st.dtmf_at is not None and now >= st.dtmf_at:
                st.dtmf_at = None
                ep.send_dtmf(cid, args.dtmf_to_caller)
            if st.transfer_at is not None and now >= st.transfer_at:
                st.transfer_at = None
                ep.transfer(cid, args.transfer_to, headers=transfer_headers)
        if now - last_report >= 1.0:
            last_report = now
            for cid, st in calls.items():
                st.drain()
                if st.media is not None:
                    emit("audio", call_id=cid, **st.summary())
    ep.stop()
    while not events.empty():  # calls hung up by stop()
        kind, data = events.get()
        if kind == "disconnected":
            emit(
                "disconnected",
                call_id=data[0].call_id,
                code=data[1],
                reason=data[2],
                by_remote=data[3],
            )
    emit("stopped", active=ep.active_calls(), media_ports=media_port.ports_created())
    return 0


if __name__ == "__main__":
    sys.exit(main())
