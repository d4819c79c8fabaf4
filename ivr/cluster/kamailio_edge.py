"""The parts of kamailio.cfg that make the SIP edge (policy in `sip_edge.py`): listeners,
modules, their parameters and the EDGE_* routes `kamailio_config.render_config` calls.

Kept apart from the dispatcher routing so each reads on its own; every function returns
config text for one place in the file.
"""

from __future__ import annotations

from pathlib import Path

from ivr.cluster.sip_edge import ALLOW_GROUP, LOG_ONCE_S, SipEdge

__all__ = ["edge_listeners", "edge_modparams", "edge_modules", "edge_routes"]


def edge_listeners(edge: SipEdge, host: str, port: int) -> list[str]:
    """Core parameters: UDP always, TCP on the same port, TLS on its own port."""
    stream = edge.tcp or edge.tls_port is not None
    out = [f"disable_tcp={'no' if stream else 'yes'}", f"listen=udp:{host}:{port}"]
    if edge.tcp:
        out.append(f"listen=tcp:{host}:{port}")
    if edge.tls_port is not None:
        out += ["enable_tls=yes", f"listen=tls:{host}:{edge.tls_port}"]
    if stream:
        # bound what one TCP/TLS peer may hold: idle connections close, big messages refused
        out += ["tcp_connection_lifetime=3605", "tcp_max_connections=2048",
                "tcp_connect_timeout=5", "tcp_rd_buf_size=16384"]
    return out


def edge_modules(edge: SipEdge) -> list[str]:
    mods = ["htable", "sanity"]
    if edge.tls_port is not None:
        mods.insert(0, "tls")  # first: it must initialise before the TCP engine forks
    if edge.rate_limited:
        mods.append("pike")
    if edge.allow:
        mods.append("permissions")
    if edge.auth_ha1:
        mods.append("auth")
    if edge.tcp or edge.tls_port is not None:
        mods.append("nathelper")
    return mods


def edge_modparams(edge: SipEdge, *, address_file: Path | None,
                   tls_config: Path | None) -> list[str]:
    """Module parameters; `address_file` / `tls_config` are where the caller writes
    `render_address_file(edge)` / `render_tls_config(edge)`."""
    users = max(4, min(16, len(edge.auth_ha1).bit_length() + 1))
    out = [f'modparam("htable", "htable", "edgelog=>size=8;autoexpire={LOG_ONCE_S};")']
    if edge.auth_ha1:
        out.append(f'modparam("htable", "htable", "users=>size={users};")')
    if edge.tls_port is not None:
        if tls_config is None:
            raise ValueError("tls_config path needed for TLS")
        out.append(f'modparam("tls", "config", "{tls_config}")')
    if edge.rate_limited:
        out += [
            f'modparam("pike", "sampling_time_unit", {edge.pike_window_s})',
            f'modparam("pike", "reqs_density_per_unit", {edge.pike_requests})',
            f'modparam("pike", "remove_latency", {edge.retry_after_s})',
        ]
    if edge.allow:
        if address_file is None:
            raise ValueError("address_file path needed for an allow-list")
        out.append(f'modparam("permissions", "address_file", "{address_file}")')
    if edge.auth_ha1:
        out += ['modparam("auth", "nonce_expire", 300)',
                'modparam("auth", "nonce_count", 0)']
    return out


def edge_routes(edge: SipEdge) -> str:
    """route[EDGE_RATE] and route[EDGE_SANITY] (any request from a non-worker),
    route[EDGE_ADMIT] (initial INVITE), route[EDGE_LOG_ONCE], and the start-up fill of the
    digest users."""
    out = [_LOG_ONCE.format(seconds=LOG_ONCE_S), _SANITY]
    out.append(_RATE.format(retry_after=edge.retry_after_s) if edge.rate_limited
               else "route[EDGE_RATE] {\n    return;\n}\n")
    admit: list[str] = []
    if edge.allow:
        admit.append(f'    if (allow_source_address("{ALLOW_GROUP}")) {{\n        return;\n    }}')
    if edge.auth_ha1:
        admit.append(_DIGEST.format(realm=edge.realm))
    elif edge.allow:
        admit.append('    $var(refused) = "source not in the allow-list";\n'
                     '    route(EDGE_LOG_ONCE);\n'
                     '    sl_send_reply("403", "Forbidden");\n    exit;')
    out.append("route[EDGE_ADMIT] {\n" + "\n".join(admit or ["    return;"]) + "\n}\n")
    if edge.auth_ha1:
        fill = "\n".join(f'    $sht(users=>{u}) = "{h}";' for u, h in sorted(edge.auth_ha1.items()))
        out.append("event_route[htable:mod-init] {\n" + fill + "\n}\n")
    return "\n".join(out)


_LOG_ONCE = """route[EDGE_LOG_ONCE] {{
    # once per source and reason per {seconds} s: a flood must not become a log flood
    $var(key) = $si + "|" + $var(refused);
    if ($sht(edgelog=>$var(key)) == $null) {{
        $sht(edgelog=>$var(key)) = 1;
        xlog("L_WARN", "ivr-front: refused $rm from $si ($proto): $var(refused); "
             "further refusals of this source for it are not logged for {seconds} s\\n");
    }}
}}
"""

# Kamailio's default checks (17895): request-URI version, scheme and parse, required
# headers, CSeq method and value, Content-Length, Expires, Proxy-Require; Via (7). The
# module answers 400 (or 420/501) itself; ACKs and CANCELs are not answered.
_SANITY = """route[EDGE_SANITY] {
    if (!sanity_check("17895", "7")) {
        $var(refused) = "malformed request";
        route(EDGE_LOG_ONCE);
        exit;
    }
}
"""

_RATE = """route[EDGE_RATE] {{
    if (!pike_check_req()) {{
        $var(refused) = "rate limit exceeded";
        route(EDGE_LOG_ONCE);
        if (is_method("ACK")) {{
            exit;
        }}
        append_to_reply("Retry-After: {retry_after}\\r\\n");
        sl_send_reply("503", "Rate limit exceeded");
        exit;
    }}
}}
"""

_DIGEST = """    if ($au != $null) {{
        $var(user) = $(au{{s.escape.common}}{{s.substr,0,64}});  # caller data: escaped
    }}
    if ($au != $null && $sht(users=>$au) != $null) {{
        if (pv_auth_check("{realm}", "$sht(users=>$au)", "1", "0")) {{
            consume_credentials();
            return;
        }}
        $var(rc) = $rc;
        if ($var(rc) == -2) {{
            $var(refused) = "wrong password for digest user " + $var(user);
            route(EDGE_LOG_ONCE);
            sl_send_reply("403", "Forbidden");
            exit;
        }}
    }} else if ($au != $null) {{
        $var(refused) = "unknown digest user " + $var(user);
        route(EDGE_LOG_ONCE);
        sl_send_reply("403", "Forbidden");
        exit;
    }}
    $var(refused) = "challenged for digest credentials";
    route(EDGE_LOG_ONCE);
    proxy_challenge("{realm}", "0");
    exit;"""
