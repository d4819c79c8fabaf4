"""Trunk registration logic without a SIP stack: back-off, states, logging once per change,
settings, and what /api/health and /metrics show."""

from __future__ import annotations

import logging
import random

import pytest

from ivr.config import ConfigError, load_settings
from ivr.sip_edge import edge_metrics, sip_config, trunk_configs
from telephony.trunks import (
    Backoff,
    TrunkConfig,
    Trunks,
    TrunkStatus,
    next_status,
    parse_registrar,
)

REG = "sip:127.0.0.1:5070"


@pytest.mark.parametrize(("uri", "hostport"), [
    ("sip:pbx.example.com", ("pbx.example.com", 5060)),
    ("sip:10.0.0.1:5070", ("10.0.0.1", 5070)),
    ("sip:[2001:db8::1]:5080", ("[2001:db8::1]", 5080)),
    ("sip:pbx.example.com;transport=udp", ("pbx.example.com", 5060)),
])
def test_parse_registrar(uri: str, hostport: tuple[str, int]) -> None:
    assert parse_registrar(uri) == hostport


@pytest.mark.parametrize("uri", ["http://x", "pbx.example.com", "sip:", "sip:a b",
                                 "sip:host:99999", "sip:host:5060\r\nX: y", ""])
def test_bad_registrar_refused(uri: str) -> None:
    with pytest.raises(ValueError):
        parse_registrar(uri)


def test_backoff_doubles_to_its_cap_with_bounded_jitter() -> None:
    b = Backoff(first=5, cap=60, jitter=0.1, rng=random.Random(1))
    delays = [b.delay(n) for n in range(1, 8)]
    for got, want in zip(delays, [5, 10, 20, 40, 60, 60, 60], strict=True):
        assert want * 0.9 <= got <= want * 1.1


def test_states_after_register_outcomes() -> None:
    b = Backoff(first=5, cap=300, jitter=0)
    st = TrunkStatus("main", REG)
    st = next_status(st, 401, "Unauthorized", 0, 100.0, b)
    assert (st.state, st.code, st.failures, st.next_retry_at) == ("failed", 401, 1, 105.0)
    st = next_status(st, 408, "Request Timeout", 0, 110.0, b)
    assert (st.state, st.code, st.failures, st.next_retry_at) == ("failed", 408, 2, 120.0)
    st = next_status(st, 200, "OK", 60, 130.0, b)
    assert (st.state, st.expires_s, st.failures, st.next_retry_at) == ("registered", 60, 0, None)
    st = next_status(st, 200, "OK", 0, 140.0, b)  # the answer to our un-REGISTER
    assert st.state == "unregistered" and st.next_retry_at is None


def test_status_for_health_has_no_credentials() -> None:
    st = next_status(TrunkStatus("main", REG), 403, "Forbidden", 0, 10.0,
                     Backoff(first=5, jitter=0))
    shown = st.as_dict(now=12.0)
    assert shown["state"] == "failed" and shown["code"] == 403
    assert shown["next_retry_in_s"] == 3.0
    assert "password" not in repr(TrunkConfig("t", REG, "u", "hunter2"))


def test_failures_logged_once_per_change_of_outcome(caplog: pytest.LogCaptureFixture) -> None:
    trunks = Trunks([TrunkConfig("main", REG, "hotline", "pw", retry_s=1)])
    caplog.set_level(logging.DEBUG, "telephony.trunks")
    for i in range(5):
        trunks.on_reg_state("main", 401, "Unauthorized", 0, "127.0.0.1:5070", now=float(i))
    trunks.on_reg_state("main", 408, "Request Timeout", 0, "", now=10.0)
    trunks.on_reg_state("main", 200, "OK", 300, "127.0.0.1:5070", now=20.0)
    trunks.on_reg_state("main", 200, "OK", 300, "127.0.0.1:5070", now=300.0)  # refresh
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert len(warnings) == 2 and "401" in warnings[0] and "408" in warnings[1]
    assert len(infos) == 1 and "registered" in infos[0]
    st = trunks.statuses()[0]
    assert st.state == "registered" and st.failures == 0
    assert "127.0.0.1" in trunks.registrar_addresses  # it answered from there: allowed


def test_tick_clears_the_due_retry_only() -> None:
    trunks = Trunks([TrunkConfig("a", REG, "a", "pw", retry_s=5),
                     TrunkConfig("b", REG, "b", "pw", retry_s=50)])
    trunks.on_reg_state("a", 503, "Service Unavailable", 0, "", now=0.0)
    trunks.on_reg_state("b", 503, "Service Unavailable", 0, "", now=0.0)
    trunks.tick(10.0)  # no accounts (no SIP stack here): the retry is only marked as taken
    a, b = trunks.statuses()
    assert a.next_retry_at is None and b.next_retry_at is not None


def test_outbound_trunk_targets_and_choice() -> None:
    t = TrunkConfig("carrier", "sip:192.0.2.10:5080", "acct", "pw", user="+15550100",
                    outbound=True)
    assert t.aor == "sip:+15550100@192.0.2.10"
    assert t.target("+15551234") == "sip:+15551234@192.0.2.10:5080"
    assert t.target("tel:+15551234;phone-context=x") == "sip:+15551234@192.0.2.10:5080"
    assert t.target("sip:agent@10.0.0.2") == "sip:agent@10.0.0.2"
    assert t.target("1002; rm -rf") == "1002; rm -rf"  # not a dial string: left to pjsua
    assert Trunks([]).account() is None
    with pytest.raises(ValueError, match="outbound"):
        Trunks([t, TrunkConfig("other", REG, "x", "pw", outbound=True)])
    with pytest.raises(ValueError, match="unique"):
        Trunks([TrunkConfig("x", REG, "a", "pw"), TrunkConfig("x", REG, "b", "pw")])


def test_metrics_lines() -> None:
    ok = next_status(TrunkStatus("main", REG), 200, "OK", 300, 0.0, Backoff())
    bad = next_status(TrunkStatus("backup", REG), 401, "Unauthorized", 0, 0.0,
                      Backoff(first=5, jitter=0))
    text = edge_metrics([ok, bad], refused=7, now=1.0)
    assert "ivr_sip_refused_source_total 7" in text
    assert 'ivr_trunk_registered{trunk="main"} 1' in text
    assert 'ivr_trunk_registered{trunk="backup"} 0' in text
    assert 'ivr_trunk_last_sip_code{trunk="backup"} 401' in text
    assert 'ivr_trunk_next_retry_seconds{trunk="backup"} 4.0' in text
    assert 'ivr_trunk_next_retry_seconds{trunk="main"} -1' in text
    assert text.endswith("\n") and "ivr_trunk" not in edge_metrics([], 0)


def _sip(tree: dict) -> object:
    return load_settings(flags={"sip": tree}, environ={}).sip


def test_trunk_settings_map_to_the_endpoint(tmp_path) -> None:  # type: ignore[no-untyped-def]
    secret = tmp_path / "pw"
    secret.write_text("from-file\n")
    sip = _sip({"rtp_port_min": 30000, "rtp_port_max": 30099, "allow_from": ["10.0.0.0/8"],
                "trunks": [{"name": "pbx", "registrar": "sip:10.0.0.1:5060",
                            "username": "hotline", "password_file": str(secret),
                            "expires_s": 120, "outbound": True}]})
    cfg = sip_config(sip)  # type: ignore[arg-type]
    assert (cfg.rtp_port, cfg.rtp_port_range) == (30000, 98)  # last pair: 30098/30099
    (trunk,) = trunk_configs(sip)  # type: ignore[arg-type]
    assert (trunk.password, trunk.expires_s, trunk.outbound) == ("from-file", 120, True)
    assert sip_config(_sip({})).rtp_port == 0  # type: ignore[arg-type]


@pytest.mark.parametrize(("tree", "message"), [
    ({"rtp_port_min": 30000}, "rtp_port_min and rtp_port_max"),
    ({"rtp_port_min": 30000, "rtp_port_max": 30003}, "at least 8"),
    ({"allow_from": ["10.0.0.0/8", "example.com"]}, "example.com"),
    ({"trunks": [{"name": "a", "registrar": "http://x", "username": "u", "password": "p"}]},
     "registrar"),
    ({"trunks": [{"name": "a", "registrar": REG, "username": "u"}]}, "exactly one"),
    ({"trunks": [{"name": "a", "registrar": REG, "username": "u", "password": "p"},
                 {"name": "a", "registrar": REG, "username": "v", "password": "p"}]}, "unique"),
    ({"trunks": [{"name": "a b", "registrar": REG, "username": "u", "password": "p"}]},
     "trunks.0.name"),
])
def test_bad_sip_edge_settings_are_refused(tree: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(flags={"sip": tree}, environ={})


def test_unreadable_password_file_stops_the_start(tmp_path) -> None:  # type: ignore[no-untyped-def]
    sip = _sip({"trunks": [{"name": "pbx", "registrar": REG, "username": "u",
                            "password_file": str(tmp_path / "missing")}]})
    with pytest.raises(OSError):
        trunk_configs(sip)  # type: ignore[arg-type]


def test_trunk_password_is_never_printed() -> None:
    settings = load_settings(flags={"sip": {"trunks": [
        {"name": "pbx", "registrar": REG, "username": "u", "password": "hunter2"}]}}, environ={})
    assert "hunter2" not in settings.model_dump_json() and "hunter2" not in repr(settings)
    assert trunk_configs(settings.sip)[0].password == "hunter2"
