"""The shipped systemd units (`config/systemd/`): systemd itself checks them, and their
command lines must parse with the real `ivr` CLI.

The units name the installed binary (/opt/ivr/.venv/bin/ivr), which does not exist on a
development machine, and `systemd-analyze verify` rejects a unit whose ExecStart is missing:
each unit is rendered into tmp with this checkout's .venv path and verified there.
`verify` exits 0 even for unknown keys or values it ignores, so any output fails the test.
"""

from __future__ import annotations

import configparser
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ivr.cli import build_parser

REPO = Path(__file__).resolve().parents[2]
UNITS = sorted((REPO / "config" / "systemd").glob("*.service"))
INSTALLED = "/opt/ivr/.venv/bin/ivr"
SYSTEMD_ANALYZE = shutil.which("systemd-analyze") or "/usr/bin/systemd-analyze"
MAX_EXPOSURE = 2.5  # `systemd-analyze security`: 0 (locked down) .. 10 (unprotected)

needs_systemd = pytest.mark.skipif(not Path(SYSTEMD_ANALYZE).exists(),
                                   reason="systemd-analyze is not installed")


def _render(unit: Path, tmp_path: Path) -> Path:
    ivr = Path(sys.executable).with_name("ivr")
    assert ivr.exists(), f"{ivr} missing: run scripts/setup"
    text = unit.read_text(encoding="utf-8")
    assert INSTALLED in text, f"{unit.name} does not start {INSTALLED}"
    out = tmp_path / unit.name
    out.write_text(text.replace(INSTALLED, str(ivr)), encoding="utf-8")
    return out


def _service(unit: Path) -> dict[str, list[str]]:
    """The [Service] keys of a unit, every value of repeated keys."""
    values: dict[str, list[str]] = {}
    section = ""
    for line in unit.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line
        elif section == "[Service]":
            key, _, value = line.partition("=")
            values.setdefault(key.strip(), []).append(value.strip())
    return values


def test_units_are_shipped() -> None:
    assert {u.name for u in UNITS} >= {"ivr.service", "ivr-cluster.service"}


@needs_systemd
@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_systemd_analyze_verify_is_silent(unit: Path, tmp_path: Path) -> None:
    rendered = _render(unit, tmp_path)
    run = subprocess.run([SYSTEMD_ANALYZE, "verify", "--man=no", str(rendered)],
                         capture_output=True, text=True, timeout=60)
    report = (run.stdout + run.stderr).strip()
    assert run.returncode == 0 and not report, f"systemd-analyze verify {unit.name}:\n{report}"


@needs_systemd
@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_hardening_exposure_is_low(unit: Path, tmp_path: Path) -> None:
    rendered = _render(unit, tmp_path)
    run = subprocess.run([SYSTEMD_ANALYZE, "security", "--offline=yes", "--no-pager",
                          str(rendered)], capture_output=True, text=True, timeout=60)
    m = re.search(r"Overall exposure level for \S+: (\d+\.\d)", run.stdout)
    assert m, f"no exposure level in:\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}"
    assert float(m.group(1)) <= MAX_EXPOSURE, run.stdout


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_exec_start_parses_and_hardening_is_there(unit: Path) -> None:
    svc = _service(unit)
    argv = shlex.split(svc["ExecStart"][0])
    assert argv[0] == INSTALLED
    args = build_parser().parse_args(argv[1:])  # a typo in a flag fails here
    assert args.command == "serve" and args.log_format == "json"
    data_dir = str(args.data_dir)
    assert svc["ReadWritePaths"] == [data_dir] and svc["WorkingDirectory"] == [data_dir]
    assert svc["StateDirectory"] == [Path(data_dir).name]
    assert svc["User"] == ["ivr"] and svc["ProtectSystem"] == ["strict"]
    assert svc["Restart"] == ["on-failure"] and int(svc["LimitNOFILE"][0]) >= 65536
    assert svc["NoNewPrivileges"] == ["yes"] and svc["UMask"] == ["0077"]
    assert svc["CapabilityBoundingSet"] == [""]
    if unit.name == "ivr-cluster.service":  # the supervisor does not notify: exec
        assert args.workers > 1 and svc["KillMode"] == ["mixed"] and svc["Type"] == ["exec"]
    else:
        assert args.workers == 1 and svc["Type"] == ["notify"]  # `ivr serve` sends READY=1


def test_units_parse_as_ini() -> None:
    for unit in UNITS:
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.read_string(unit.read_text(encoding="utf-8"))
        assert {"Unit", "Service", "Install"} <= set(parser.sections()), unit.name
