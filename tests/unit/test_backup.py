"""`ivr backup` (`ivr.backup`): a consistent copy while another connection keeps writing,
restored into a new data directory and read back, recordings decrypted with the copied key."""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from ivr.backup import BackupError, make_backup, verify_backup
from ivr.cli import main
from ivr.config import load_settings
from ivr.privacy.crypto import EncryptedWavWriter, read_encrypted
from ivr.storage.call_store import CallStore

KEY = bytes(range(32))
EVENTS_PER_CALL = 5


@pytest.fixture
def data(tmp_path):
    """A data directory as a serving IVR leaves it: database, an encrypted recording, the
    recording key file, api_token and web_secret."""
    data_dir = tmp_path / "var"
    (data_dir / "recordings").mkdir(parents=True)
    key_file = tmp_path / "recording.key"
    key_file.write_text(KEY.hex())
    settings = load_settings(None, {"data_dir": data_dir,
                                    "privacy.recording_key_file": key_file}, environ={})
    store = CallStore(settings.db_path)
    rec = settings.recordings_dir / "call-0.wav.enc"
    store.call_started("call-0", caller="1000", recording_path=str(rec))
    store.call_ended("call-0", "completed")
    store.close()
    w = EncryptedWavWriter(rec, KEY, 2, 2, 8000)
    w.writeframes(b"\x01\x02\x03\x04" * 8000)
    w.close()
    (data_dir / "api_token").write_text("tok\n")
    (data_dir / "web_secret").write_bytes(b"s" * 32)
    return settings


class Writer(threading.Thread):
    """Another connection writing calls, each with its events in one transaction, as fast as
    it can: a torn copy would hold a call without all its events."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path, self.stop, self.committed = path, threading.Event(), 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            n = 0
            while not self.stop.is_set():
                n += 1
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("insert into calls (id, started_at, status) values (?, ?, 'active')",
                             [f"w-{n}", time.time()])
                for i in range(EVENTS_PER_CALL):
                    conn.execute("insert into events (call_id, ts, type, data) values "
                                 "(?, ?, 'turn', ?)", [f"w-{n}", time.time(), "x" * 200 * i])
                conn.execute("COMMIT")
                self.committed = n
            conn.close()
        except BaseException as e:  # noqa: BLE001 - reported by the test
            self.error = e


def test_backup_while_writing_restores_a_consistent_readable_db(data, tmp_path) -> None:
    writer = Writer(data.db_path)
    writer.start()
    try:
        while writer.committed < 200:  # the database is busy before the backup starts
            time.sleep(0.01)
        before = writer.committed
        result = make_backup(data, tmp_path / "bk", environ={})
        during = writer.committed
    finally:
        writer.stop.set()
        writer.join(10)
    assert writer.error is None
    assert during > before  # the writer was not blocked by the backup

    manifest = verify_backup(tmp_path / "bk")
    assert manifest == result.manifest
    assert manifest["database"]["included"] and manifest["recordings"] == 1
    assert set(manifest["files"]) == {"ivr.sqlite", "recordings/call-0.wav.enc",
                                      "secrets/api_token", "secrets/web_secret",
                                      "secrets/recording_key"}
    assert manifest["secrets"]["recording_key_id"]
    assert not (tmp_path / "bk" / "ivr.sqlite-wal").exists()  # one self-contained file
    assert (tmp_path / "bk").stat().st_mode & 0o077 == 0

    # restore into a new data directory, as README says
    new = tmp_path / "restored"
    (new / "recordings").mkdir(parents=True)
    shutil.copy(tmp_path / "bk" / "ivr.sqlite", new / "ivr.sqlite")
    shutil.copytree(tmp_path / "bk" / "recordings", new / "recordings", dirs_exist_ok=True)
    store = CallStore(new / "ivr.sqlite")
    try:
        assert store.get_call("call-0")["caller"] == "1000"
        counts = list(store.db.query(
            "select c.id, count(e.id) as n from calls c left join events e on e.call_id = c.id "
            "where c.id like 'w-%' group by c.id"))
    finally:
        store.close()
    assert len(counts) >= before  # everything committed before the backup began
    assert {r["n"] for r in counts} == {EVENTS_PER_CALL}  # no call torn from its events
    assert manifest["database"]["calls"] == len(counts) + 1
    key = bytes.fromhex((tmp_path / "bk" / "secrets" / "recording_key").read_text())
    fmt, pcm = read_encrypted(new / "recordings" / "call-0.wav.enc", key)
    assert (fmt.channels, fmt.rate, len(pcm)) == (2, 8000, 32000)


def test_verify_finds_a_changed_file(data, tmp_path) -> None:
    make_backup(data, tmp_path / "bk", environ={})
    rec = tmp_path / "bk" / "recordings" / "call-0.wav.enc"
    blob = bytearray(rec.read_bytes())
    blob[-1] ^= 1
    rec.write_bytes(bytes(blob))
    with pytest.raises(BackupError, match="call-0.wav.enc: size or SHA-256 differs"):
        verify_backup(tmp_path / "bk")


def test_refuses_a_non_empty_destination_and_the_recordings_dir(data, tmp_path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(BackupError, match="not an empty directory"):
        make_backup(data, tmp_path / "full", environ={})
    with pytest.raises(BackupError, match="recordings directory"):
        make_backup(data, data.recordings_dir / "bk", environ={})


def test_key_from_the_environment_or_left_out_is_not_copied(data, tmp_path) -> None:
    r1 = make_backup(data, tmp_path / "a", environ={"IVR_RECORDING_KEY": KEY.hex()})
    r2 = make_backup(data, tmp_path / "b", include_recording_key=False, environ={})
    for r in (r1, r2):
        assert "secrets/recording_key" not in r.manifest["files"]
        assert any("recording key" in w for w in r.warnings)
        assert r.manifest["secrets"]["recording_key_id"]
    assert not (tmp_path / "a" / "secrets" / "recording_key").exists()


def test_postgresql_says_to_use_pg_dump_and_keeps_the_password_out(data, tmp_path) -> None:
    settings = data.model_copy(update={"database_url": "postgresql://ivr:hunter2@127.0.0.1:1/ivr"})
    result = make_backup(settings, tmp_path / "pg", environ={})
    assert result.manifest["database"] == {**result.manifest["database"], "included": False,
                                           "kind": "postgresql"}
    assert any("pg_dump" in w for w in result.warnings)
    assert "hunter2" not in (tmp_path / "pg" / "manifest.json").read_text()
    assert result.manifest["recordings"] == 1  # the files are still copied


def test_cli_backup_and_verify(data, tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("IVR_RECORDING_KEY", raising=False)
    config = tmp_path / "ivr.yaml"
    config.write_text(f"data_dir: {data.data_dir}\nprivacy:\n  recording_key_file: "
                      f"{data.privacy.recording_key_file}\n")
    assert main(["backup", str(tmp_path / "c"), "--config", str(config)]) == 0
    assert "database copied, 1 recording(s)" in capsys.readouterr().out
    assert main(["backup", "--verify", str(tmp_path / "c")]) == 0
    assert main(["backup", str(tmp_path / "c"), "--config", str(config)]) == 2
    assert "not an empty directory" in capsys.readouterr().err
    assert json.loads((tmp_path / "c" / "manifest.json").read_text())["format"] == 1
