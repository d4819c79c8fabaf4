"""Personal data on a real SIP call: the real `ivr serve` with the shipped bank dialplan, a
baresip caller keying its resident ID and card digits into the sensitive gathers of the identity
check. Nothing of them may reach SQLite, the log, the API or the recording; the disclosure comes
first. (The CRM address of bank.yaml does not resolve: verification falls back to an agent.)"""

from __future__ import annotations

import json
import re
import sqlite3
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ivr.config import REPO_ROOT
from testkit.harness import IvrProcess, ScriptedCaller
from tests.integration.conftest import _require_tools

ID_X = "11010519491231002X"  # valid MOD 11-2 checksum, computed (not a real person)
LAST4 = "4821"
BANK = str(REPO_ROOT / "dialplans" / "bank.yaml")


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    _require_tools()
    proc = IvrProcess(tmp_path_factory.mktemp("ivr-bank"), "--dialplan", BANK).start()
    try:
        yield proc
    finally:
        assert proc.stop() == 0, proc.log()[-3000:]


def dump_db(data_dir: Path) -> str:
    """Every row of every table of every database in the data directory, as text."""
    out = []
    for path in data_dir.rglob("*.db"):
        db = sqlite3.connect(path)
        for (table,) in db.execute("select name from sqlite_master where type='table'"):
            for row in db.execute(f'select * from "{table}"'):  # noqa: S608 - our own tables
                out.append(json.dumps(row, ensure_ascii=False, default=str))
        db.close()
    return "\n".join(out)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) if len(x) else 0.0


def test_sensitive_gathers_leave_no_digits_anywhere(bank: IvrProcess, tmp_path: Path) -> None:
    with ScriptedCaller(bank, tmp_path) as c:
        c.dial()
        c.wait("prompt_end", node="main_menu", timeout=60)
        c.press("1")  # lost card: identity check first
        c.wait("listen", node="verify_id_number", timeout=40)
        c.wait("recording_paused", node="verify_id_number", timeout=40)
        c.press(ID_X.replace("X", "*") + "#")
        c.wait("listen", node="verify_card_last4", timeout=40)
        c.press(LAST4)
        c.wait_until(lambda e: e["type"] == "prompt" and e["data"].get("node")
                     == "verify_card_last4" and "****" in e["data"].get("text", ""), 40)
        c.press("1")  # yes, those are the digits
        c.wait("webhook", node="verify_lookup", timeout=40)
        c.wait("transfer", timeout=40)
        c.hangup()
        c.wait_closed(30)
        call_id = c.call_id
    call = bank.wait_call_ended(call_id, 30)
    events = call["events"]

    # the disclosure is the first thing the caller hears
    prompts = [e for e in events if e["type"] == "prompt"]
    assert prompts[0]["data"]["node"] == "disclosure"
    assert "智能语音助手" in prompts[0]["data"]["text"]

    # keys masked, the turns masked, the read-back masked
    assert {e["data"]["digit"] for e in events if e["type"] == "dtmf"
            and e["ts"] > _ts(events, "listen", "verify_id_number")} == {"*"}
    stored = dump_db(bank.data_dir)
    api = json.dumps(bank.call(call_id), ensure_ascii=False)
    log = bank.log()
    for secret in (ID_X, ID_X[:-1], ID_X[:12], "19491231", LAST4):
        # as a number of its own: a timestamp such as 1796651621.404821 holds "4821" by chance
        # (CI22), the caller's digits never sit inside a longer number
        said = re.compile(rf"(?<!\d){re.escape(secret)}(?!\d)")
        assert not said.search(stored), f"{secret} in SQLite"
        assert not said.search(log), f"{secret} in the log"
        assert not said.search(api), f"{secret} in the API"

    # the recording: both channels silent while paused, the IVR's prompts heard elsewhere
    pauses = _intervals(events)
    assert [n for n, _, _ in pauses][:2] == ["verify_id_number", "verify_card_last4"]
    path = Path(call["recording_path"])
    with wave.open(str(path)) as w:
        rate = w.getframerate()
        pcm = np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, 2)
    start = call["answered_at"]
    for _node, t0, t1 in pauses:
        a, b = int((t0 - start + 0.3) * rate), int((t1 - start - 0.3) * rate)
        if b - a < rate // 5:
            continue
        assert rms(pcm[a:b, 0]) < 5 and rms(pcm[a:b, 1]) < 5, (t0 - start, t1 - start)
    first = pauses[0][1] - start
    assert rms(pcm[int(0.5 * rate):int((first - 0.3) * rate), 1]) > 200  # the prompts before
    print(f"\nrecording {len(pcm) / rate:.1f} s; paused "
          + ", ".join(f"{n} {t0 - start:.1f}-{t1 - start:.1f} s" for n, t0, t1 in pauses))


def _ts(events: list[dict[str, Any]], type_: str, node: str) -> float:
    return next(e["ts"] for e in events if e["type"] == type_ and e["data"].get("node") == node)


def _intervals(events: list[dict[str, Any]]) -> list[tuple[str, float, float]]:
    out, since = [], None
    for e in events:
        if e["type"] == "recording_paused":
            since = e
        elif e["type"] == "recording_resumed" and since is not None:
            out.append((since["data"]["node"], since["ts"], e["ts"]))
            since = None
    return out


