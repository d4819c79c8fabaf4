"""SDES-SRTP on the callers' account (`SipConfig.srtp`, setting `sip.srtp`).

The pjsua2 wheel's SRTP works: AES-CM 128/256 suites, checked against baresip's `srtp`
module (tests/integration/test_telephony.py). The keys travel in the SDP, so the signalling
must be private too (TLS at the Kamailio front, or one trusted host).
"""

from __future__ import annotations

from typing import Any

import pjsua2 as pj

__all__ = ["use_srtp"]


def use_srtp(acfg: Any, mode: str) -> None:
    """Set `acfg` (a `pj.AccountConfig`) to SRTP `mode`: off, optional or mandatory.
    `srtpSecureSignaling` 0: pjsua would otherwise refuse SRTP over a plain UDP transport."""
    acfg.mediaConfig.srtpUse = {"off": pj.PJMEDIA_SRTP_DISABLED,
                                "optional": pj.PJMEDIA_SRTP_OPTIONAL,
                                "mandatory": pj.PJMEDIA_SRTP_MANDATORY}[mode]
    acfg.mediaConfig.srtpSecureSignaling = 0
