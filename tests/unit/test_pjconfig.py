"""`telephony._pjconfig`: the pjsua settings `SipEndpoint` starts with, built without a
running pjsua (one polled SIP thread, no VAD or echo canceller, RTP ports, SRTP, codec order)."""

from __future__ import annotations

import types

import pjsua2 as pj

from telephony import _pj
from telephony._pjconfig import (
    account_config,
    endpoint_config,
    set_codec_priorities,
    transport_config,
)
from telephony.sip_types import PJSUA_HARD_CALL_CAP, SipConfig


def test_endpoint_config_one_polled_thread_no_vad_no_echo_canceller() -> None:
    c = endpoint_config(SipConfig(clock_rate=8000, user_agent="ua", pj_log_level=3),
                        _pj.LogWriter())
    assert (c.uaConfig.threadCnt, c.uaConfig.mainThreadOnly) == (0, True)
    assert c.uaConfig.maxCalls == PJSUA_HARD_CALL_CAP and c.uaConfig.userAgent == "ua"
    assert c.logConfig.level == c.logConfig.consoleLevel == 3
    assert (c.medConfig.clockRate, c.medConfig.sndClockRate, c.medConfig.channelCount) == (
        8000, 8000, 1)
    assert c.medConfig.noVad and c.medConfig.ecTailLen == 0
    assert c.medConfig.audioFramePtime == 20


def test_transport_binds_and_advertises_the_public_host() -> None:
    t = transport_config(SipConfig(bind_host="0.0.0.0", port=5070, public_host="203.0.113.5"))
    assert (t.port, t.boundAddress, t.publicAddress) == (5070, "0.0.0.0", "203.0.113.5")


def test_account_rtp_ports_and_srtp() -> None:
    random_ports = account_config(SipConfig(), 2)
    rtp = random_ports.mediaConfig.transportConfig
    assert random_ports.idUri == "sip:ivr@127.0.0.1:5060"
    assert random_ports.sipConfig.transportId == 2
    assert (rtp.port, rtp.portRange, rtp.randomizePort) == (20000, 40000, True)
    assert random_ports.mediaConfig.srtpUse == pj.PJMEDIA_SRTP_DISABLED
    fixed = account_config(SipConfig(rtp_port=30000, rtp_port_range=100, srtp="mandatory"), 0)
    rtp = fixed.mediaConfig.transportConfig
    assert (rtp.port, rtp.portRange, rtp.randomizePort) == (30000, 100, False)
    assert fixed.mediaConfig.srtpUse == pj.PJMEDIA_SRTP_MANDATORY


def test_codec_order_preferred_first_others_below_disabled_stay_off() -> None:
    codecs = [types.SimpleNamespace(codecId=c, priority=p) for c, p in
              [("opus/48000/2", 140), ("PCMA/8000/1", 128), ("G722/16000/1", 129),
               ("iLBC/8000/1", 0)]]
    set_prio: dict[str, int] = {}
    ep = types.SimpleNamespace(codecEnum2=lambda: codecs,
                               codecSetPriority=lambda cid, p: set_prio.__setitem__(cid, p))
    set_codec_priorities(ep, ("g722", "PCMA/8000"))
    assert set_prio == {"G722/16000/1": 254, "PCMA/8000/1": 253, "opus/48000/2": 100}
