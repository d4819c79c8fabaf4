"""Run SIPp (Debian `sip-tester`, `/usr/bin/sipp` 3.6) as an independent far end in tests.

`run_sipp` runs one SIPp client to completion from a chosen loopback address (`-i`, so a
test can play a source that is not allowed), with every SIP message traced to a file, and
returns what came back: the status codes of every reply (`SippRun.statuses`), SIPp's exit
code and output. Scenarios are SIPp XML; two are built in here:

- `invite_refused_scenario(codes)`: one INVITE that must end with one of `codes` (ACKed);
  at a rate, it is a flood of call attempts that never becomes a call;
- `digest_call_scenario(hold_ms)`: a call that answers a 401/407 challenge with `-au/-ap`
  credentials, is answered (200), holds `hold_ms`, and hangs up (BYE) through the routes
  the proxy recorded.

SIPp's exit codes: 0 every call succeeded, 1 at least one failed, 97/99 other ends,
negative: fatal (e.g. it could not bind).
"""

from __future__ import annotations

import collections
import re
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["SippError", "SippRun", "digest_call_scenario", "invite_refused_scenario",
           "received_statuses", "run_sipp"]

SIPP = "sipp"
_STATUS = re.compile(r"^SIP/2\.0 (\d{3}) ", re.MULTILINE)

_SDP = """v=0
o=sipp 1 1 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0
a=rtpmap:0 PCMU/8000
"""

_INVITE = """INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: {cseq} INVITE
Contact: <sip:sipp@[local_ip]:[local_port]>
Max-Forwards: 70
{extra}Content-Type: application/sdp
Content-Length: [len]

""" + _SDP

_ACK_FAILED = """ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
CSeq: {cseq} ACK
Max-Forwards: 70
Content-Length: 0

"""


class SippError(RuntimeError):
    """SIPp is missing or could not run at all."""


@dataclass
class SippRun:
    """What one SIPp run saw."""

    returncode: int
    statuses: collections.Counter[int] = field(default_factory=collections.Counter)
    messages: str = ""  # every SIP message sent and received (-trace_msg)
    output: str = ""  # SIPp's stdout + stderr

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def invite_refused_scenario(codes: tuple[int, ...] = (403, 503)) -> str:
    """One INVITE per call, which must end with a final reply in `codes` (then ACKed)."""
    recvs = "\n".join(f'  <recv response="{c}" next="ack"/>' if i == len(codes) - 1 else
                      f'  <recv response="{c}" optional="true" next="ack"/>'
                      for i, c in enumerate(codes))
    return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="invite refused">
  <send retrans="500"><![CDATA[
{_INVITE.format(cseq=1, extra="")}
  ]]></send>
  <recv response="100" optional="true"/>
{recvs}
  <label id="ack"/>
  <send><![CDATA[
{_ACK_FAILED.format(cseq=1)}
  ]]></send>
</scenario>
"""


def digest_call_scenario(hold_ms: int = 1000) -> str:
    """INVITE, 401/407 challenge answered with `-au`/`-ap`, 200, ACK, hold, BYE, 200."""
    return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="digest call">
  <send retrans="500"><![CDATA[
{_INVITE.format(cseq=1, extra="")}
  ]]></send>
  <recv response="100" optional="true"/>
  <recv response="401" optional="true" auth="true" next="auth"/>
  <recv response="407" auth="true"/>
  <label id="auth"/>
  <send><![CDATA[
{_ACK_FAILED.format(cseq=1)}
  ]]></send>
  <send retrans="500"><![CDATA[
{_INVITE.format(cseq=2, extra="[authentication]" + chr(10))}
  ]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rrs="true"/>
  <send><![CDATA[
ACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
[last_From:]
[last_To:]
[routes]
[last_Call-ID:]
CSeq: 2 ACK
Max-Forwards: 70
Content-Length: 0

  ]]></send>
  <pause milliseconds="{hold_ms}"/>
  <send retrans="500"><![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
[last_From:]
[last_To:]
[routes]
[last_Call-ID:]
CSeq: 3 BYE
Max-Forwards: 70
Content-Length: 0

  ]]></send>
  <recv response="200"/>
</scenario>
"""


def run_sipp(
    target: str,
    scenario: str,
    *,
    local_ip: str = "127.0.0.1",
    calls: int = 1,
    rate: float = 10.0,
    concurrent: int | None = None,
    service: str = "hotline",
    auth: tuple[str, str] | None = None,
    timeout_s: float = 30.0,
    workdir: Path | None = None,
) -> SippRun:
    """Run `scenario` (SIPp XML text) against `target` ("host:port") over UDP from
    `local_ip`: `calls` calls at `rate` per second, at most `concurrent` at once."""
    exe = shutil.which(SIPP)
    if exe is None:
        raise SippError("sipp is not installed (Debian: apt-get install sip-tester)")
    work = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="sipp-"))
    work.mkdir(parents=True, exist_ok=True)
    scenario_path = work / "scenario.xml"
    scenario_path.write_text(scenario)
    messages = work / "messages.log"
    cmd = [
        exe, target, "-sf", str(scenario_path), "-t", "u1", "-i", local_ip,
        "-p", str(_free_port(local_ip, socket.SOCK_DGRAM)),
        "-mp", str(_free_port(local_ip, socket.SOCK_DGRAM)), "-s", service,
        "-m", str(calls), "-r", str(rate), "-l", str(concurrent or calls),
        "-nostdin", "-trace_msg", "-message_file", str(messages),
        "-timeout", f"{int(timeout_s)}s", "-timeout_error", "-max_socket", "64",
    ]
    if auth is not None:
        cmd += ["-au", auth[0], "-ap", auth[1]]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s + 10,
                             cwd=work, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise SippError(f"sipp did not end within {timeout_s + 10} s") from e
    text = messages.read_text(errors="replace") if messages.exists() else ""
    return SippRun(res.returncode, received_statuses(text), text, res.stdout + res.stderr)


def received_statuses(trace: str) -> collections.Counter[int]:
    """Status codes of the replies SIPp received, from its `-trace_msg` log (entries are
    separated by dashed lines; sent messages and requests are not counted)."""
    received = [entry for entry in re.split(r"^-{10,}.*$", trace, flags=re.MULTILINE)
                if "message received" in entry]
    return collections.Counter(int(m.group(1)) for entry in received
                               for m in _STATUS.finditer(entry))


def _free_port(host: str, kind: socket.SocketKind) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])
