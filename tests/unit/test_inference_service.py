"""`asr.service` and its companions: where recognition runs, what the machine's inference
server is started with, and when `ivr serve --workers N` starts one."""

from __future__ import annotations

from pathlib import Path

import pytest

from audio_models.inference_server import build_parser
from ivr.cluster.supervisor import shared_inference
from ivr.config import ConfigError, load_settings
from ivr.inference_service import served_models, server_argv, socket_path, uses_shared


def _settings(tmp_path: Path, **flags: object):  # type: ignore[no-untyped-def]
    return load_settings(None, {"data_dir": tmp_path, **flags}, environ={})


def test_defaults_local_alone_shared_in_a_cluster(tmp_path: Path) -> None:
    s = _settings(tmp_path)
    assert s.asr.service == "auto" and s.asr.service_socket is None
    assert (s.asr.service_retry_s, s.asr.batch_window_ms, s.asr.max_batch) == (20.0, 20.0, 8)
    assert not uses_shared(s) and uses_shared(s, cluster=True)
    assert socket_path(s) == tmp_path / "inference.sock"
    local = _settings(tmp_path, **{"asr.service": "local"})
    assert not uses_shared(local, cluster=True)
    shared = _settings(tmp_path, **{"asr.service": "shared",
                                    "asr.service_socket": "/run/ivr/asr.sock"})
    assert uses_shared(shared) and socket_path(shared) == Path("/run/ivr/asr.sock")


@pytest.mark.parametrize("dotted, value", [
    ("asr.service", "remote"), ("asr.service_retry_s", -1), ("asr.batch_window_ms", 500),
    ("asr.max_batch", 0), ("asr.max_batch", 65),
])
def test_out_of_range_values_are_refused(tmp_path: Path, dotted: str, value: object) -> None:
    with pytest.raises(ConfigError, match=dotted):
        _settings(tmp_path, **{dotted: value})


def test_environment_selects_the_service(tmp_path: Path) -> None:
    s = load_settings(None, {"data_dir": tmp_path},
                      environ={"IVR_ASR__SERVICE": "shared", "IVR_ASR__MAX_BATCH": "4"})
    assert uses_shared(s) and s.asr.max_batch == 4


def test_the_server_gets_every_model_a_worker_may_ask_for(tmp_path: Path) -> None:
    s = _settings(tmp_path, **{"asr.model": "base", "asr.english_model": "tiny.en",
                               "asr.batch_window_ms": 30, "asr.machine_slots": 2,
                               "profiles": {"yue": {"model": "/models/large-v3"}}})
    assert served_models(s) == ["base", "tiny.en", "/models/large-v3"]
    args = build_parser().parse_args(server_argv(s))
    assert args.model == ["base", "tiny.en", "/models/large-v3"]
    assert args.socket == tmp_path / "inference.sock" and args.threads == 2
    assert (args.batch_window_ms, args.max_batch) == (30.0, 8)
    assert args.models_dir == s.models_dir and args.short_window_s == s.asr.short_window_s
    one = _settings(tmp_path, **{"asr.model": "tiny.en", "asr.english_model": ""})
    assert served_models(one) == ["tiny.en"]


def test_the_server_computes_emotion_features_and_renders_piper_for_the_workers(
        tmp_path: Path) -> None:
    """Issue 22: a shared worker holds neither librosa nor the Piper voice."""
    args = build_parser().parse_args(server_argv(_settings(tmp_path)))
    assert args.emotion is True and args.tts_voice == "default"
    quiet = _settings(tmp_path, **{"emotion.enabled": False, "tts.piper_voice": "/v/x.onnx"})
    args = build_parser().parse_args(server_argv(quiet))
    assert args.emotion is False and args.tts_voice == "/v/x.onnx"


def test_a_cluster_starts_the_server_unless_told_local(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IVR_ASR__SERVICE", raising=False)
    proc = shared_inference(["--asr-model", "tiny.en"], tmp_path, {"X": "1"})
    assert proc is not None and not proc.running()  # built, not started
    assert proc.command[-2:] == ["--data-dir", str(tmp_path)]
    assert "ivr.inference_service" in proc.command and proc.env == {"X": "1"}
    config = tmp_path / "local.yaml"
    config.write_text("asr:\n  service: local\n")
    assert shared_inference(["--config", str(config)], tmp_path, {}) is None


def test_a_dead_server_is_restarted_with_growing_back_off(tmp_path: Path) -> None:
    import sys
    import time

    from ivr.cluster.inference_process import InferenceProcess

    proc = InferenceProcess([], tmp_path, backoff_s=(0.2, 0.4), stable_after_s=60)
    proc.command = [sys.executable, "-c", "print('inference ready: fake'); raise SystemExit(3)"]
    proc.start(timeout=10)  # ready (its log says so), then it dies
    assert proc.proc is not None and proc.proc.wait(10) == 3
    delays, starts = [], []
    deadline = time.monotonic() + 10
    while len(starts) < 2 and time.monotonic() < deadline:
        before = proc.proc
        proc.poll()
        if before is not None and proc.proc is None:  # seen dead: a restart is planned
            delays.append(round(proc.next_start - time.monotonic(), 1))
        if before is None and proc.proc is not None:
            starts.append(proc.proc.pid)
            proc.proc.wait(10)
        time.sleep(0.02)
    assert delays[:2] == [0.2, 0.4] and len(starts) == 2 and proc.restarts == 2
    assert proc.log().count("inference ready") == 1  # the current process's log only
    assert proc.stop() == 3
