"""The generated Kamailio front configuration: content, and `kamailio -c` accepts it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ivr.cluster.kamailio import module_dir
from ivr.cluster.kamailio_config import WorkerAddr, render_config, render_dispatcher_list

WORKERS = [WorkerAddr("127.0.0.1", 5070), WorkerAddr("127.0.0.1", 5071, name="w1")]


def _render(tmp_path: Path, **kw: object) -> str:
    return render_config("127.0.0.1", 5060, WORKERS, list_file=tmp_path / "dispatcher.list",
                         **kw)  # type: ignore[arg-type]


def test_dispatcher_list_has_every_worker_probing_with_a_unique_id() -> None:
    text = render_dispatcher_list(WORKERS)
    assert "1 sip:127.0.0.1:5070 8 0 duid=127_0_0_1_5070" in text
    assert "1 sip:127.0.0.1:5071 8 0 duid=w1" in text


def test_dispatcher_list_rejects_empty_and_duplicate_workers() -> None:
    with pytest.raises(ValueError):
        render_dispatcher_list([])
    with pytest.raises(ValueError, match="unique"):
        render_dispatcher_list([WorkerAddr("127.0.0.1", 1, "a"), WorkerAddr("127.0.0.1", 2, "a")])


def test_config_listens_on_loopback_and_probes_workers(tmp_path: Path) -> None:
    cfg = _render(tmp_path, probe_interval_s=2, probe_failures=1, retry_after_s=7)
    assert "listen=udp:127.0.0.1:5060" in cfg
    assert f'"list_file", "{tmp_path / "dispatcher.list"}"' in cfg
    assert '"ds_ping_interval", 2)' in cfg
    assert '"ds_probing_mode", 1)' in cfg
    assert '"ds_probing_threshold", 1)' in cfg
    # only 2xx counts as alive: a draining worker's 503 to OPTIONS takes it out
    assert '"ds_ping_reply_codes", "class=2")' in cfg
    assert "db_url" not in cfg and "auth" not in cfg


def test_config_fails_over_and_answers_503_with_retry_after(tmp_path: Path) -> None:
    cfg = _render(tmp_path, retry_after_s=7)
    assert 'ds_select_dst("1", "10")' in cfg  # least loaded by default
    assert "record_route();" in cfg and "loose_route()" in cfg
    assert 't_check_status("486|500|503")' in cfg and "ds_next_dst()" in cfg
    assert cfg.count('append_to_reply("Retry-After: 7\\r\\n")') == 2
    assert 't_reply("503"' in cfg and 'sl_send_reply("503"' in cfg
    assert "ds_load_update();" in cfg and "ds_load_unset();" in cfg


def test_round_robin_has_no_load_tracking(tmp_path: Path) -> None:
    cfg = _render(tmp_path, algorithm="round_robin")
    assert 'ds_select_dst("1", "4")' in cfg
    assert "ds_load_" not in cfg and "ds_hash_size" not in cfg


def test_config_rejects_a_probe_interval_below_one_second(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        _render(tmp_path, probe_interval_s=0)


@pytest.mark.parametrize("algorithm", ["least_loaded", "round_robin"])
def test_kamailio_accepts_the_config(tmp_path: Path, algorithm: str) -> None:
    exe = shutil.which("kamailio") or shutil.which("/usr/sbin/kamailio")
    if exe is None or module_dir() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("kamailio is not installed (scripts/setup installs it)")
        pytest.skip("kamailio is not installed (apt-get install kamailio)")
    list_file = tmp_path / "dispatcher.list"
    list_file.write_text(render_dispatcher_list(WORKERS))
    cfg = tmp_path / "kamailio.cfg"
    cfg.write_text(render_config(
        "127.0.0.1", 5060, WORKERS, list_file=list_file, algorithm=algorithm,  # type: ignore[arg-type]
        rpc_socket=tmp_path / "ctl.sock", mpath=module_dir(),
    ))
    res = subprocess.run([exe, "-c", "-f", str(cfg)], capture_output=True, text=True,
                         timeout=30)
    assert res.returncode == 0, res.stdout + res.stderr
