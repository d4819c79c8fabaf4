"""baresip config generation and ctrl_tcp netstring framing (pure helpers, unit-testable)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["MODULE_PATH", "NetstringReader", "netstring", "write_config"]

MODULE_PATH = Path("/usr/lib/baresip/modules")


def write_config(
    config_dir: Path,
    *,
    sip_port: int,
    ctrl_port: int,
    rtp_base: int,
    rtp_count: int,
    source: Path,
    record_dir: Path,
    user: str,
    auto_answer: bool,
    jitter_buffer: tuple[int, int] | None = None,
    media_encryption: str | None = None,
) -> None:
    """Write `config` and `accounts` for a loopback-only baresip (PCMU first).

    `media_encryption`: baresip's `mediaenc` account parameter (`srtp`: offered, `srtp-mand`:
    required; SDES keys in the SDP), None for plain RTP.

    `jitter_buffer` is the playout buffer's (min, max) in 20 ms frames; None keeps baresip's
    default (5-10 frames: a heard sound reaches the `*-dec.wav` 100-200 ms after it arrived).
    """
    lines = [
        "poll_method epoll",
        f"sip_listen 127.0.0.1:{sip_port}",
        "net_interface 127.0.0.1",  # an address, not `lo`
        f"rtp_ports {rtp_base}-{rtp_base + rtp_count - 1}",
        "audio_player aubridge,x",  # not alsa,null: that busy-loops at 100% CPU
        f"audio_source aufile,{source}",  # hangs up when the file ends: pad it
        "audio_alert aubridge,x",
        f"module_path {MODULE_PATH}",
        "module g711.so",
        "module aufile.so",
        "module aubridge.so",
        "module sndfile.so",  # dumps *-dec.wav (heard) and *-enc.wav (sent)
        f"snd_path {record_dir}",
        "module_app account.so",  # without it the accounts file is ignored
        "module_app menu.so",  # provides dial/hangup/sndcode/ausrc/... commands
        "module_app ctrl_tcp.so",
        f"ctrl_tcp_listen 127.0.0.1:{ctrl_port}",
    ]
    if jitter_buffer is not None:
        low, high = jitter_buffer
        if not 1 <= low <= high:
            raise ValueError(f"jitter buffer must be 1 <= min <= max frames, got {jitter_buffer}")
        lines.append(f"jitter_buffer_delay {low}-{high}")
    if media_encryption is not None:
        if media_encryption not in ("srtp", "srtp-mand", "srtp-mandf"):
            raise ValueError(f"unknown baresip media encryption {media_encryption!r}")
        lines.append("module srtp.so")
    (config_dir / "config").write_text("\n".join(lines) + "\n")
    params = ";regint=0;audio_codecs=PCMU/8000/1,PCMA/8000/1"
    if media_encryption is not None:
        params += f";mediaenc={media_encryption}"
    if auto_answer:
        params += ";answermode=auto"
    (config_dir / "accounts").write_text(f"<sip:{user}@127.0.0.1>{params}\n")


def netstring(payload: bytes) -> bytes:
    """Frame `payload` as a netstring: `<len>:<payload>,`."""
    return b"%d:%s," % (len(payload), payload)


class NetstringReader:
    """Incremental netstring decoder for a TCP byte stream."""

    def __init__(self, max_len: int = 1 << 20) -> None:
        self._buf = b""
        self._max = max_len

    def feed(self, data: bytes) -> list[bytes]:
        """Add received bytes; return every complete payload (raises ValueError on garbage)."""
        self._buf += data
        out = []
        while True:
            head, sep, rest = self._buf.partition(b":")
            if not sep:
                if len(head) > 10 or (head and not head.isdigit()):
                    raise ValueError(f"bad netstring length prefix {head[:20]!r}")
                return out
            if not head.isdigit() or int(head) > self._max:
                raise ValueError(f"bad netstring length prefix {head[:20]!r}")
            n = int(head)
            if len(rest) < n + 1:
                return out
            if rest[n : n + 1] != b",":
                raise ValueError("netstring not terminated by ','")
            out.append(rest[:n])
            self._buf = rest[n + 1 :]
