"""The SIP edge of the Kamailio front: policy, users file, rendered config, settings, flags;
and `kamailio -c` accepts the full edge (allow-list, digest, pike, TCP, TLS)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from pydantic import ValidationError

from ivr.cluster.__main__ import build_parser, front_settings
from ivr.cluster.front_settings import FrontSettings, sip_edge
from ivr.cluster.kamailio import KamailioProcess, module_dir
from ivr.cluster.kamailio_config import WorkerAddr, render_config, render_dispatcher_list
from ivr.cluster.sip_edge import (
    SipEdge,
    TlsFiles,
    digest_ha1,
    read_auth_users,
    render_address_file,
    render_tls_config,
)
from ivr.cluster.supervisor import worker_env
from ivr.config_sections import SipSettings
from testkit.sipp import digest_call_scenario, invite_refused_scenario, received_statuses

WORKERS = [WorkerAddr("127.0.0.1", 5070)]
HA1 = digest_ha1("alice", "ivr", "pw")


def _tls(tmp: Path) -> TlsFiles:
    return TlsFiles(tmp / "cert.pem", tmp / "key.pem")


def _render(tmp: Path, edge: SipEdge | None) -> str:
    return render_config("127.0.0.1", 5060, WORKERS, list_file=tmp / "d.list", edge=edge,
                         address_file=tmp / "address.list", tls_config=tmp / "tls.cfg")


def test_digest_ha1_matches_rfc_2617() -> None:
    assert digest_ha1("Mufasa", "testrealm@host.com", "Circle Of Life") == (
        "939e7578ed9e3c518a452acee763bce9")


def test_edge_validates_allow_list_users_pike_and_tls(tmp_path: Path) -> None:
    assert SipEdge(allow=("10.1.2.3/8", "192.0.2.7")).allow == ("10.0.0.0/8", "192.0.2.7/32")
    with pytest.raises(ValueError, match="not an IP"):
        SipEdge(allow=("example.com",))
    with pytest.raises(ValueError, match="digest user"):
        SipEdge(auth_ha1={"bad user": HA1})
    with pytest.raises(ValueError, match="digest user"):
        SipEdge(auth_ha1={"alice": "plain-password"})
    with pytest.raises(ValueError, match="pike"):
        SipEdge(pike_window_s=0)
    with pytest.raises(ValueError, match="TLS"):
        SipEdge(tls_port=5061)
    assert SipEdge().policy == "open"
    assert SipEdge(allow=("127.0.0.1",), auth_ha1={"alice": HA1}).policy == "allow-list+digest"


def test_users_file_gives_ha1_and_never_echoes_a_password(tmp_path: Path) -> None:
    f = tmp_path / "users"
    f.write_text(f"# trunks\n\nalice:pw\nbob:md5:{HA1.upper()}\n")
    assert read_auth_users(f, "ivr") == {"alice": HA1, "bob": HA1}
    f.write_text("alice:pw\nalice:other\n")
    with pytest.raises(ValueError, match="twice"):
        read_auth_users(f, "ivr")
    f.write_text("no-colon-secret-XYZ\n")
    with pytest.raises(ValueError, match=r"users:1") as e:
        read_auth_users(f, "ivr")
    assert "secret-XYZ" not in str(e.value)


def test_address_and_tls_files(tmp_path: Path) -> None:
    edge = SipEdge(allow=("127.0.0.1", "10.0.0.0/8"), tls_port=5061, tls=_tls(tmp_path))
    lines = render_address_file(edge).splitlines()[1:]
    assert lines == ["1 127.0.0.1 32 0 allow", "1 10.0.0.0 8 0 allow"]
    tls = render_tls_config(edge)
    assert "[server:default]" in tls and f"certificate = {tmp_path / 'cert.pem'}" in tls
    assert "method = TLSv1.2+" in tls


def test_default_edge_is_open_udp_with_pike(tmp_path: Path) -> None:
    cfg = _render(tmp_path, None)
    assert "disable_tcp=yes" in cfg and "listen=tcp" not in cfg and "tls" not in cfg
    assert 'loadmodule "pike.so"' in cfg and '"reqs_density_per_unit", 30)' in cfg
    assert "permissions" not in cfg and "pv_auth_check" not in cfg
    assert "route[EDGE_ADMIT] {\n    return;\n}" in cfg
    assert 'if (!ds_is_from_list("1")) {\n        route(EDGE_RATE);' in cfg  # workers exempt
    assert 'append_to_reply("Retry-After: 4\\r\\n");' in cfg
    assert 'route(EDGE_SANITY);' in cfg and 'sanity_check("17895", "7")' in cfg


def test_allow_list_only_answers_403_and_logs_once(tmp_path: Path) -> None:
    cfg = _render(tmp_path, SipEdge(allow=("127.0.0.1",), pike_requests=0))
    assert f'modparam("permissions", "address_file", "{tmp_path / "address.list"}")' in cfg
    assert 'allow_source_address("1")' in cfg and 'sl_send_reply("403", "Forbidden")' in cfg
    assert '"edgelog=>size=8;autoexpire=60;"' in cfg
    assert "pike" not in cfg  # 0: no rate limit
    assert cfg.index("route(EDGE_ADMIT);") < cfg.index("record_route();")


def test_digest_users_are_challenged_and_kept_as_ha1_only(tmp_path: Path) -> None:
    cfg = _render(tmp_path, SipEdge(auth_ha1={"alice": HA1}, realm="hotline.example"))
    assert 'loadmodule "auth.so"' in cfg and "allow_source_address" not in cfg
    assert f'$sht(users=>alice) = "{HA1}";' in cfg and "event_route[htable:mod-init]" in cfg
    assert 'pv_auth_check("hotline.example", "$sht(users=>$au)", "1", "0")' in cfg
    assert 'proxy_challenge("hotline.example", "0");' in cfg
    assert "s.escape.common" in cfg  # the user name from the wire is escaped in logs


def test_tcp_and_tls_listen_and_alias_the_callers_connection(tmp_path: Path) -> None:
    cfg = _render(tmp_path, SipEdge(tcp=True, tls_port=5061, tls=_tls(tmp_path)))
    assert "disable_tcp=no" in cfg and "enable_tls=yes" in cfg
    assert "listen=tcp:127.0.0.1:5060" in cfg and "listen=tls:127.0.0.1:5061" in cfg
    assert cfg.index('loadmodule "tls.so"') < cfg.index('loadmodule "tm.so"')
    assert f'modparam("tls", "config", "{tmp_path / "tls.cfg"}")' in cfg
    assert "add_contact_alias();" in cfg and "handle_ruri_alias();" in cfg


def _kamailio() -> str:
    exe = shutil.which("kamailio")
    if exe is None or module_dir() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("kamailio is not installed (scripts/setup installs it)")
        pytest.skip("kamailio is not installed")
    return exe


def test_kamailio_accepts_the_full_edge(tmp_path: Path) -> None:
    exe = _kamailio()
    mods = module_dir()
    assert mods is not None
    if not (mods / "tls.so").exists():
        pytest.skip("kamailio-tls-modules is not installed")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-keyout", str(tmp_path / "key.pem"),
                    "-out", str(tmp_path / "cert.pem")], check=True, capture_output=True)
    edge = SipEdge(allow=("127.0.0.1", "10.0.0.0/8"), auth_ha1={"alice": HA1}, tcp=True,
                   tls_port=5061, tls=_tls(tmp_path))
    (tmp_path / "d.list").write_text(render_dispatcher_list(WORKERS))
    (tmp_path / "address.list").write_text(render_address_file(edge))
    (tmp_path / "tls.cfg").write_text(render_tls_config(edge))
    cfg = tmp_path / "kamailio.cfg"
    cfg.write_text(render_config("127.0.0.1", 5060, WORKERS, list_file=tmp_path / "d.list",
                                 mpath=mods, edge=edge, address_file=tmp_path / "address.list",
                                 tls_config=tmp_path / "tls.cfg"))
    res = subprocess.run([exe, "-c", "-f", str(cfg)], capture_output=True, text=True,
                         timeout=30)
    assert res.returncode == 0, res.stdout + res.stderr


def test_the_front_writes_its_config_for_its_owner_only(tmp_path: Path) -> None:
    _kamailio()
    front = KamailioProcess(5060, WORKERS, workdir=tmp_path,
                            edge=SipEdge(allow=("127.0.0.1",), auth_ha1={"alice": HA1}))
    front.write_config()
    assert stat.S_IMODE(front.cfg_path.stat().st_mode) == 0o600
    assert front.address_path.read_text().endswith("1 127.0.0.1 32 0 allow\n")
    with pytest.raises(ValueError, match="no TLS port"):
        _ = front.tls_uri


def test_front_settings_and_flags_build_the_edge(tmp_path: Path) -> None:
    users = tmp_path / "users"
    users.write_text("alice:pw\n")
    edge = sip_edge(FrontSettings(allow=["10.0.0.0/8"], auth_users_file=users, tcp=True,
                                  pike_requests=100, pike_window_s=5))
    assert edge.allow == ("10.0.0.0/8",) and edge.auth_ha1 == {"alice": HA1}
    assert (edge.tcp, edge.pike_requests, edge.retry_after_s) == (True, 100, 10)
    with pytest.raises(ValidationError, match="together"):
        FrontSettings(tls_port=5061)
    with pytest.raises(ValidationError, match="not an IP"):
        FrontSettings(allow=["nowhere"])
    args, rest = build_parser().parse_known_args(
        ["--allow", "127.0.0.1", "--allow", "10.0.0.0/8", "--tls-port", "5061", "--tls-cert",
         "c.pem", "--tls-key", "k.pem", "--pike-requests", "0", "--dialplan", "x.yaml"])
    front = front_settings(args)
    assert front.allow == ["127.0.0.1", "10.0.0.0/8"] and front.tls_port == 5061
    assert front.pike_requests == 0 and rest == ["--dialplan", "x.yaml"]


def test_local_workers_answer_only_the_front(tmp_path: Path) -> None:
    env = worker_env(tmp_path, None, 0, front_host="127.0.0.1")
    if "allow_from" not in SipSettings.model_fields:
        pytest.skip("this tree has no worker allow-list (sip.allow_from)")
    assert json.loads(env["IVR_SIP__ALLOW_FROM"]) == ["127.0.0.1"]
    assert json.loads(worker_env(tmp_path, None, 0, front_host="0.0.0.0")[
        "IVR_SIP__ALLOW_FROM"]) == ["127.0.0.1"]
    assert "IVR_SIP__ALLOW_FROM" not in worker_env(tmp_path, None, 0)


def test_sipp_scenarios_are_well_formed_xml() -> None:
    refused = ET.fromstring(invite_refused_scenario((403, 503)))
    recvs = [r.get("response") for r in refused.iter("recv")]
    assert recvs == ["100", "403", "503"]
    assert [r.get("optional") for r in refused.iter("recv")] == ["true", "true", None]
    digest = ET.fromstring(digest_call_scenario(250))
    assert any(r.get("auth") == "true" for r in digest.iter("recv"))
    assert "[authentication]" in ET.tostring(digest, encoding="unicode")


def test_sipp_trace_counts_received_replies_only() -> None:
    trace = (
        "----------------------------------------------- 2026-12-07 01:36:32.162703\n"
        "UDP message sent (463 bytes):\n\nINVITE sip:hotline@127.0.0.1:5060 SIP/2.0\n"
        "Via: SIP/2.0/UDP 127.0.0.2:5062\n\n"
        "----------------------------------------------- 2026-12-07 01:36:32.163351\n"
        "UDP message received [304] bytes :\n\nSIP/2.0 407 Proxy Authentication Required\n"
        "Via: SIP/2.0/UDP 127.0.0.2:5062\n\n"
        "----------------------------------------------- 2026-12-07 01:36:32.163400\n"
        "UDP message received [300] bytes :\n\nSIP/2.0 503 Rate limit exceeded\n"
        "Retry-After: 4\n\n"
        "----------------------------------------------- 2026-12-07 01:36:32.163406\n"
        "UDP message sent (318 bytes):\n\nSIP/2.0 200 OK\n\n"
    )
    assert received_statuses(trace) == {407: 1, 503: 1}
