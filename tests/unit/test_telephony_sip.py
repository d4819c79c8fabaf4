"""SIP data helpers, ports and softphone audio preparation (no pjsua endpoint started)."""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from telephony.baresip_files import NetstringReader, netstring, write_config
from telephony.ports import free_tcp_port, free_udp_port, free_udp_range
from telephony.sip_types import Admission, SipConfig, parse_sip_message, uri_user
from telephony.softphone_audio import prepare_caller_wav

INVITE = (
    "INVITE sip:2000@10.0.0.1:5060;transport=udp SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK1\r\n"
    'f: "Alice" <sip:+15551234@example.com>;tag=1\r\n'
    "To: <sip:2000@10.0.0.1>\r\n"
    "Call-ID: abc@host\r\n"
    "X-Account: 42\r\n"
    "x-lang: zh\r\n"
    "Content-Length: 0\r\n\r\nv=0\r\nX-Not-A-Header: 1\r\n"
)


def test_parse_sip_message() -> None:
    ruri, core, extra = parse_sip_message(INVITE)
    assert ruri == "sip:2000@10.0.0.1:5060;transport=udp"
    assert core["from"].startswith('"Alice"') and core["call-id"] == "abc@host"
    assert extra == {"X-Account": "42", "x-lang": "zh"}


@pytest.mark.parametrize(
    ("uri", "user"),
    [
        ('"Bob" <sip:1001@host:5060>;tag=x', "1001"),
        ("sip:+4930123@h", "+4930123"),
        ("<tel:+1555;phone-context=x>", "+1555"),
        ("sip:host.only", ""),
        ("", ""),
    ],
)
def test_uri_user(uri: str, user: str) -> None:
    assert uri_user(uri) == user


def test_sip_config_validation() -> None:
    assert SipConfig().contact_host == "127.0.0.1"
    assert SipConfig(public_host="192.0.2.1").contact_host == "192.0.2.1"
    with pytest.raises(ValueError, match="hard cap"):
        SipConfig(max_calls=5)
    with pytest.raises(ValueError):
        SipConfig(clock_rate=44100)


def test_admission() -> None:
    assert Admission.accepted().accept
    rej = Admission.rejected(503, "IVR at capacity", retry_after=30)
    assert (rej.accept, rej.code, rej.reason, rej.headers) == (
        False,
        503,
        "IVR at capacity",
        {"Retry-After": "30"},
    )
    with pytest.raises(ValueError):
        Admission.rejected(200)


def test_free_ports_are_bindable() -> None:
    for port, kind in ((free_udp_port(), socket.SOCK_DGRAM), (free_tcp_port(), socket.SOCK_STREAM)):
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind(("127.0.0.1", port))
    base = free_udp_range(10)
    assert base % 2 == 0 and 20000 <= base < 60000


def test_a_free_udp_port_is_free_for_tcp_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """SIP listens on one port number over UDP and TCP: a UDP port taken over TCP is skipped."""
    import telephony.ports as ports

    busy: list[int] = []
    real = ports._tcp_free

    def first_two_busy(host: str, port: int) -> bool:
        if len(busy) < 2:
            busy.append(port)
            return False
        return real(host, port)

    monkeypatch.setattr(ports, "_tcp_free", first_two_busy)
    port = free_udp_port()
    assert len(busy) == 2
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind(("127.0.0.1", port))
    monkeypatch.setattr(ports, "_tcp_free", lambda host, port: False)
    with pytest.raises(RuntimeError):
        free_udp_port()


def test_prepare_caller_wav(tmp_path: Path) -> None:
    src = tmp_path / "in.flac"
    t = np.arange(22050) / 22050
    sf.write(src, np.stack([np.sin(2 * np.pi * 300 * t)] * 2, axis=1) * 0.5, 22050)
    out = prepare_caller_wav(src, tmp_path / "out.wav", lead_silence=0.5, tail_silence=1.0)
    info = sf.info(out)
    assert (info.samplerate, info.channels, info.subtype) == (8000, 1, "PCM_16")
    data, _ = sf.read(out)
    assert len(data) == pytest.approx(8000 * 2.5, abs=5)
    assert np.abs(data[:3900]).max() == 0 and np.abs(data[4000:11000]).max() > 0.4


def test_netstring_reader_handles_split_and_joined_frames() -> None:
    frames = [b'{"event":true,"type":"CALL_CLOSED"}', b"", b'{"response":true,"token":"7"}']
    stream = b"".join(netstring(f) for f in frames)
    reader = NetstringReader()
    got = []
    for i in range(0, len(stream), 5):  # arbitrary TCP segmentation
        got.extend(reader.feed(stream[i : i + 5]))
    assert got == frames
    with pytest.raises(ValueError):
        NetstringReader().feed(b"12x:abc,")
    with pytest.raises(ValueError):
        NetstringReader().feed(b"3:abcX")


def test_baresip_config_is_loopback_only(tmp_path: Path) -> None:
    write_config(
        tmp_path,
        sip_port=5071,
        ctrl_port=4445,
        rtp_base=30000,
        rtp_count=40,
        source=tmp_path / "a.wav",
        record_dir=tmp_path / "rec",
        user="agent",
        auto_answer=True,
    )
    config = (tmp_path / "config").read_text()
    assert "sip_listen 127.0.0.1:5071" in config and "rtp_ports 30000-30039" in config
    assert "module_app account.so" in config and "alsa" not in config
    accounts = (tmp_path / "accounts").read_text()
    assert accounts.startswith("<sip:agent@127.0.0.1>") and "answermode=auto" in accounts
    assert "audio_codecs=PCMU" in accounts


def test_baresip_playout_delay_is_set_only_when_asked(tmp_path: Path) -> None:
    common = dict(sip_port=5071, ctrl_port=4445, rtp_base=30000, rtp_count=40,
                  source=tmp_path / "a.wav", record_dir=tmp_path / "rec", user="caller",
                  auto_answer=False)
    write_config(tmp_path, **common)
    assert "jitter_buffer_delay" not in (tmp_path / "config").read_text()
    write_config(tmp_path, **common, jitter_buffer=(1, 4))
    assert "jitter_buffer_delay 1-4" in (tmp_path / "config").read_text()
    with pytest.raises(ValueError, match="jitter buffer"):
        write_config(tmp_path, **common, jitter_buffer=(3, 2))


def test_srtp_modes_reach_baresip_and_the_endpoint_config(tmp_path: Path) -> None:
    common = dict(sip_port=5070, ctrl_port=5071, rtp_base=40000, rtp_count=10,
                  source=tmp_path / "a.wav", record_dir=tmp_path, user="caller",
                  auto_answer=False)
    write_config(tmp_path, **common, media_encryption="srtp-mand")  # type: ignore[arg-type]
    assert "module srtp.so" in (tmp_path / "config").read_text()
    assert ";mediaenc=srtp-mand" in (tmp_path / "accounts").read_text()
    write_config(tmp_path, **common)  # type: ignore[arg-type]
    assert "srtp.so" not in (tmp_path / "config").read_text()
    assert "mediaenc" not in (tmp_path / "accounts").read_text()
    with pytest.raises(ValueError, match="media encryption"):
        write_config(tmp_path, **common, media_encryption="zrtp")  # type: ignore[arg-type]
    assert SipConfig(srtp="mandatory").srtp == "mandatory"
    with pytest.raises(ValueError, match="srtp must be one of"):
        SipConfig(srtp="required")


def test_a_tcp_self_connect_is_refused_as_nobody_listening() -> None:
    """Retrying a connect to a free ephemeral port can connect the socket to itself; the
    softphone's control connection must not take that for baresip (CI: 'dial' unanswered)."""
    from telephony.softphone import refuse_self_connect

    port = free_tcp_port()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", port))
    sock.connect(("127.0.0.1", port))  # simultaneous open with itself
    with pytest.raises(ConnectionRefusedError, match="itself"):
        refuse_self_connect(sock)
    assert sock.fileno() == -1  # closed
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        client = socket.create_connection(server.getsockname(), 2)
        assert refuse_self_connect(client) is client
        client.close()
