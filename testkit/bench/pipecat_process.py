"""The Pipecat half's process for `scripts/bench_vs_pipecat`: its own virtual environment
(.venv-pipecat: pipecat-ai 1.14.0 with our locked inference libraries, created on the first run;
a stamp with the requirements makes later runs skip pip) and `scripts/_pipecat_side.py` running
in it, one JSON line per round each way. Runs on our side (no pipecat import).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
PIPECAT_VENV = REPO / ".venv-pipecat"
PIPECAT_SIDE = REPO / "scripts" / "_pipecat_side.py"
# Same inference libraries as ours (versions from requirements.lock) under pipecat-ai 1.14.0;
# pypinyin for our Mandarin TTS's text (EspeakTTS, imported by the Pipecat side).
SHARED_PINS = ("faster-whisper", "ctranslate2", "piper-tts", "onnxruntime", "numpy", "pypinyin")

__all__ = ["PipecatSide", "ensure_pipecat_venv", "pipecat_requirements"]


def pipecat_requirements() -> list[str]:
    lock = {}
    for line in (REPO / "requirements.lock").read_text().splitlines():
        name, sep, version = line.strip().partition("==")
        if sep:
            lock[name.lower()] = version
    return ["pipecat-ai[whisper,piper]==1.14.0",
            *(f"{name}=={lock[name]}" for name in SHARED_PINS if name in lock)]


def ensure_pipecat_venv() -> Path:
    """Create/refresh .venv-pipecat; a stamp with the requirements skips pip next time."""
    python = PIPECAT_VENV / "bin" / "python"
    stamp = PIPECAT_VENV / ".bench-stamp"
    reqs = pipecat_requirements()
    if python.exists() and stamp.exists() and stamp.read_text() == "\n".join(reqs):
        return python
    if not python.exists():
        base = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base, "-m", "venv", str(PIPECAT_VENV)], check=True)
    print(f"installing into {PIPECAT_VENV}: {' '.join(reqs)}", flush=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *reqs], check=True)
    stamp.write_text("\n".join(reqs))
    return python


class PipecatSide:
    """scripts/_pipecat_side.py running in the pipecat venv; one JSON line per round."""

    def __init__(self, python: Path, cfg: dict[str, Any], work: Path) -> None:
        cfg_path = work / "pipecat.json"
        cfg_path.write_text(json.dumps(cfg))
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
        self.stderr = open(work / "pipecat.log", "wb")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen([str(python), str(PIPECAT_SIDE), str(cfg_path)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.stderr, env=env, text=True)
        self.info = self._read()

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"pipecat side exited ({self.proc.wait()}); see "
                               f"{self.stderr.name}")
        return json.loads(line)

    def run(self, turns: list[dict[str, Any]]) -> list[dict[str, Any]]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"turns": turns}) + "\n")
        self.proc.stdin.flush()
        return self._read()["results"]

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.stderr.close()
