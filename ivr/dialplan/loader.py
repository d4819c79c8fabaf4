"""Load and validate a dialplan file, with plain error messages."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from ivr.dialplan.models import Dialplan


class _Yaml12Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans: only true/false, so `yes`, `no`, `on`, `off`
    stay strings (a dialplan says "yes" and "no" a lot)."""


_Yaml12Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _ch in "tTfF":
    _Yaml12Loader.add_implicit_resolver(
        "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), [_ch]
    )


def yaml_load(text: str) -> object:
    """Parse YAML with YAML 1.2 booleans."""
    return yaml.load(text, Loader=_Yaml12Loader)  # noqa: S506 - a SafeLoader subclass


class DialplanError(ValueError):
    """The dialplan cannot be loaded; the message says where and why."""


@dataclass(frozen=True)
class LoadedDialplan:
    plan: Dialplan
    path: Path
    version: str  # sha256 prefix of the file contents

    @property
    def base_dir(self) -> Path:
        return self.path.parent


def load_dialplan(path: Path | str) -> LoadedDialplan:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise DialplanError(f"{path}: cannot read dialplan: {e.strerror}") from e
    try:
        data = yaml_load(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise DialplanError(f"{path}: not UTF-8 text ({e.reason})") from e
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise DialplanError(f"{where}: invalid YAML: {getattr(e, 'problem', e)}") from e
    if not isinstance(data, dict):
        raise DialplanError(f"{path}: a dialplan must be a mapping with `nodes`, `start`, ...")
    try:
        plan = Dialplan.model_validate(data)
    except ValidationError as e:
        msgs = [f"{path}: {'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
                for err in e.errors()]
        raise DialplanError("\n".join(msgs)) from e
    return LoadedDialplan(plan, path.resolve(), hashlib.sha256(raw).hexdigest()[:12])
