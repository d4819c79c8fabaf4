"""The pjsua settings of `SipEndpoint`, built from a `SipConfig` (SIP thread only).

What the endpoint asks of pjsua, kept apart from when it asks (endpoint.py's lifecycle): one
SIP thread polled by hand (`threadCnt` 0, `mainThreadOnly`), no sound device, no silence
suppression (RTP keeps flowing), no echo canceller (a server has no speaker), the media clock
of `SipConfig.clock_rate`, the operator's codec order, and the account's RTP ports and SRTP.
Building the config objects needs no running pjsua, so they can be checked in a unit test.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pjsua2 as pj

from telephony.sip_types import PJSUA_HARD_CALL_CAP, SipConfig
from telephony.srtp import use_srtp

__all__ = ["account_config", "endpoint_config", "set_codec_priorities", "transport_config"]


def endpoint_config(cfg: SipConfig, writer: Any) -> pj.EpConfig:
    """`libInit`'s settings; `writer` (a `pj.LogWriter`) receives pjsua's log."""
    ep_cfg = pj.EpConfig()
    ep_cfg.uaConfig.threadCnt = 0
    ep_cfg.uaConfig.mainThreadOnly = True
    ep_cfg.uaConfig.maxCalls = PJSUA_HARD_CALL_CAP
    ep_cfg.uaConfig.userAgent = cfg.user_agent
    ep_cfg.logConfig.writer = writer
    ep_cfg.logConfig.level = cfg.pj_log_level
    ep_cfg.logConfig.consoleLevel = cfg.pj_log_level
    ep_cfg.logConfig.decor = pj.PJ_LOG_HAS_SENDER
    ep_cfg.medConfig.clockRate = cfg.clock_rate
    ep_cfg.medConfig.sndClockRate = cfg.clock_rate
    ep_cfg.medConfig.channelCount = 1
    ep_cfg.medConfig.audioFramePtime = 20
    ep_cfg.medConfig.noVad = True  # keep RTP flowing during silence
    ep_cfg.medConfig.ecTailLen = 0  # no echo canceller on a server
    return ep_cfg


def transport_config(cfg: SipConfig) -> pj.TransportConfig:
    """The UDP SIP transport: bound to `bind_host:port`, advertising `contact_host`."""
    tcfg = pj.TransportConfig()
    tcfg.port = cfg.port
    tcfg.boundAddress = cfg.bind_host
    tcfg.publicAddress = cfg.contact_host
    return tcfg


def account_config(cfg: SipConfig, transport_id: int) -> pj.AccountConfig:
    """The local account answering calls on transport `transport_id`: its RTP ports (a
    random range from 20000 when `rtp_port` is 0) and SRTP mode."""
    acfg = pj.AccountConfig()
    acfg.idUri = f"sip:{cfg.account_user}@{cfg.contact_host}:{cfg.port}"
    acfg.sipConfig.transportId = transport_id
    rtp = acfg.mediaConfig.transportConfig
    rtp.boundAddress = cfg.bind_host
    rtp.publicAddress = cfg.contact_host
    if cfg.rtp_port:
        rtp.port, rtp.portRange = cfg.rtp_port, cfg.rtp_port_range
    else:
        rtp.port, rtp.portRange, rtp.randomizePort = 20000, cfg.rtp_port_range, True
    use_srtp(acfg, cfg.srtp)
    return acfg


def set_codec_priorities(ep: Any, preferred: Iterable[str]) -> None:
    """Codecs whose id starts with a `preferred` entry first, in that order (254 down); every
    other codec ranked below them (100 at most), disabled ones left disabled."""
    order = [c.lower() for c in preferred]
    for codec in ep.codecEnum2():
        cid = codec.codecId
        rank = next((i for i, p in enumerate(order) if cid.lower().startswith(p)), None)
        if rank is not None:
            ep.codecSetPriority(cid, 254 - rank)
        elif codec.priority:
            ep.codecSetPriority(cid, min(codec.priority, 100))
