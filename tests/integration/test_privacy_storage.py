"""Recordings encrypted at rest on a real call: `ivr serve` with `IVR_RECORDING_KEY` records a
baresip call; only a `.wav.enc` file reaches the disk, it decrypts (`ivr recording decrypt`)
to a stereo WAV as long as the call, and the dashboard plays it."""

from __future__ import annotations

import io
import shutil
import wave
from pathlib import Path

import pytest

from ivr.cli import main
from ivr.privacy.audit import verify
from ivr.privacy.crypto import decrypt_to_wav
from ivr.storage.call_store import CallStore
from testkit.harness import IvrProcess, ScriptedCaller

pytestmark = pytest.mark.integration

KEY = bytes(range(7, 39))


@pytest.fixture(scope="module")
def ivr_encrypted(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    if shutil.which("baresip") is None:
        pytest.skip("baresip is not installed (run scripts/setup)")
    proc = IvrProcess(tmp_path_factory.mktemp("ivr-enc"),
                      env={"IVR_RECORDING_KEY": KEY.hex()}).start()
    try:
        yield proc
    finally:
        assert proc.stop() == 0, proc.log()[-3000:]


def test_call_leaves_only_an_encrypted_recording(ivr_encrypted: IvrProcess,
                                                 tmp_path: Path) -> None:
    with ScriptedCaller(ivr_encrypted, tmp_path) as c:
        c.dial()
        c.wait("prompt_end", node="welcome_english_offer", interrupted=False)
        c.press("9")
        c.wait("prompt_end", node="main_menu", interrupted=False, timeout=40)
        c.hangup()
        c.wait_closed(20)
    call = ivr_encrypted.wait_call_ended(c.call_id, 30)
    rec_dir = ivr_encrypted.data_dir / "recordings"
    files = sorted(p.name for p in rec_dir.iterdir())
    assert files == [f"{c.call_id}.wav.enc"], files  # no plaintext WAV, ever
    raw = (rec_dir / files[0]).read_bytes()
    assert raw.startswith(b"IVRREC") and b"RIFF" not in raw

    with wave.open(io.BytesIO(decrypt_to_wav(rec_dir / files[0], KEY))) as w:
        assert (w.getnchannels(), w.getsampwidth()) == (2, 2)
        seconds = w.getnframes() / w.getframerate()
    duration = call["ended_at"] - call["answered_at"]
    assert seconds > 5 and abs(seconds - duration) < 1.5, (seconds, duration)

    out = tmp_path / "plain.wav"
    env_key = {"IVR_RECORDING_KEY": KEY.hex()}
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env_key.items():
            mp.setenv(k, v)
        assert main(["recording", "decrypt", str(rec_dir / files[0]), "--out", str(out),
                     "--data-dir", str(ivr_encrypted.data_dir)]) == 0
    with wave.open(str(out)) as w:
        assert abs(w.getnframes() / w.getframerate() - seconds) < 0.01
    store = CallStore(ivr_encrypted.data_dir / "ivr.sqlite")
    try:
        actions = [r["action"] for r in store.db.query("select action from audit_log")]
        assert "decrypt_recording" in actions and verify(store.db) == []
    finally:
        store.close()
