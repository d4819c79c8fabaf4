"""Load and validate a dialplan file (and the files it includes).

Every error names `file:line:column`. The loader keeps the position of every YAML key and
value (`Positions`) so lint and the service report problems where the integrator wrote them,
and it rejects duplicate keys, which plain YAML silently overwrites. Dialplans come from
outside (and are hot-reloaded into the running service), so files over 1 MB, YAML aliases and
nesting deeper than 64 levels are refused before anything is built (see ivr/safe_yaml.py).
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ivr.dialplan.models import Dialplan, references
from ivr.safe_yaml import BoundedLoader, UnsafeYaml, YamlTooLarge, compose_and_load, read_bounded

PathKey = tuple[str | int, ...]
MERGED_SECTIONS = ("nodes", "intents", "calendars", "variables")


class _Yaml12Loader(BoundedLoader):
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


def yaml_load(text: str, what: str = "dialplans") -> object:
    """Parse YAML with YAML 1.2 booleans; aliases and deep nesting raise `UnsafeYaml`."""
    return compose_and_load(text, what, _Yaml12Loader)[1]


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem in a dialplan, located."""

    file: str
    line: int
    column: int
    message: str
    severity: str = "error"  # or "warning"
    code: str = ""

    def __str__(self) -> str:
        tag = f" [{self.code}]" if self.code else ""
        return f"{self.file}:{self.line}:{self.column}: {self.severity}: {self.message}{tag}"


class DialplanError(ValueError):
    """The dialplan cannot be loaded; `issues` say where and why."""

    def __init__(self, issues: list[Issue] | str) -> None:
        if isinstance(issues, str):
            issues = [Issue("", 0, 0, issues)]
        self.issues = issues
        super().__init__("\n".join(str(i) if i.file else i.message for i in issues))


@dataclass
class Positions:
    """Where each YAML path was written: path -> (file, line, column), 1-based."""

    where: dict[PathKey, tuple[str, int, int]] = field(default_factory=dict)

    def locate(self, path: PathKey) -> tuple[str, int, int]:
        """Position of `path`, or of its nearest written ancestor."""
        for n in range(len(path), -1, -1):
            hit = self.where.get(tuple(path[:n]))
            if hit:
                return hit
        return ("", 1, 1)

    def issue(self, path: PathKey, message: str, severity: str = "error",
              code: str = "") -> Issue:
        file, line, col = self.locate(path)
        return Issue(file, line, col, message, severity, code)


@dataclass(frozen=True)
class LoadedDialplan:
    plan: Dialplan
    path: Path
    version: str  # sha256 prefix of the file contents (and included files)
    positions: Positions = field(default_factory=Positions, compare=False)
    files: tuple[Path, ...] = ()

    @property
    def base_dir(self) -> Path:
        return self.path.parent


def display_path(path: Path) -> str:
    """`path` relative to the working directory when it lies below it, else as it is."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if rel.startswith("..") else rel


def _walk(node: yaml.Node, path: PathKey, file: str, pos: Positions,
          problems: list[Issue]) -> None:
    pos.where.setdefault(path, (file, node.start_mark.line + 1, node.start_mark.column + 1))
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            line = key_node.start_mark.line + 1
            if key in seen:
                problems.append(Issue(file, line, key_node.start_mark.column + 1,
                                      f"duplicate key {key!r} (first at line {seen[key]})",
                                      code="duplicate"))
            seen.setdefault(key, line)
            pos.where[(*path, key)] = (file, line, key_node.start_mark.column + 1)
            _walk(value_node, (*path, key), file, pos, problems)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            pos.where[(*path, i)] = (file, item.start_mark.line + 1, item.start_mark.column + 1)
            _walk(item, (*path, i), file, pos, problems)


def parse_file(path: Path, pos: Positions, problems: list[Issue],
               what: str = "dialplans") -> tuple[Any, bytes]:
    """YAML data of one file, recording positions and duplicate keys. `what` names the kind of
    file in refusals ("YAML aliases are not allowed in dialplans")."""
    try:
        raw = read_bounded(path, what)
    except OSError as e:
        raise DialplanError(f"{path}: cannot read dialplan: {e.strerror}") from e
    except YamlTooLarge as e:
        raise DialplanError(str(e)) from e
    try:
        text = raw.decode("utf-8")
        node, data = compose_and_load(text, what, _Yaml12Loader)
    except UnicodeDecodeError as e:
        raise DialplanError(f"{path}: not UTF-8 text ({e.reason})") from e
    except UnsafeYaml as e:
        mark = e.problem_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise DialplanError([Issue(str(path), line, col, str(e.problem),
                                   code="yaml-unsafe")]) from e
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise DialplanError([Issue(str(path), line, col,
                                   f"invalid YAML: {getattr(e, 'problem', None) or e}",
                                   code="yaml")]) from e
    if node is not None:
        _walk(node, (), str(path), pos, problems)
    return data, raw


def load_dialplan(path: Path | str) -> LoadedDialplan:
    """Load, merge includes, validate. Raises DialplanError listing every problem found."""
    path = Path(path)
    pos = Positions()
    problems: list[Issue] = []
    data, raw = parse_file(path, pos, problems)
    if not isinstance(data, dict):
        raise DialplanError([Issue(str(path), 1, 1,
                                   "a dialplan must be a mapping with `nodes`, `start`, ...")])
    digest = hashlib.sha256(raw)
    files = [path.resolve()]
    _merge_includes(path, data, pos, problems, digest, files, [path.resolve()], set())
    if problems:
        raise DialplanError(problems)
    try:
        plan = Dialplan.model_validate(data)
    except ValidationError as e:
        raise DialplanError([_validation_issue(err, pos) for err in e.errors()]) from e
    dangling = [pos.issue(where, _dangling(plan, where, kind, name), code="undefined")
                for where, kind, name in references(plan) if not plan.has(kind, name)]
    if dangling:
        raise DialplanError(dangling)
    plan, knowledge = _with_knowledge(plan, pos)
    for folder in knowledge:  # the answers are part of the dialplan (version, reloads)
        for kb in sorted(folder.glob("*.yaml")):
            digest.update(kb.read_bytes())
            files.append(kb.resolve())
    return LoadedDialplan(plan, path.resolve(), digest.hexdigest()[:12], pos, tuple(files))


def _dangling(plan: Dialplan, where: PathKey, kind: str, name: str) -> str:
    """Why a reference does not resolve: an unknown name, or a menu's `questions` naming a
    node that does not answer questions."""
    what = ("is not an `answer` node" if kind == "answer node" and plan.has("node", name)
            else None)
    at = ".".join(map(str, where))
    return f"{at}: {name!r} {what}" if what else f"{at}: unknown {kind} {name!r}"


def _with_knowledge(plan: Dialplan, pos: Positions) -> tuple[Dialplan, list[Path]]:
    """`plan` with each `answer` node's knowledge folder made absolute (relative to the file
    that names it) and checked; the folders."""
    from ivr.understanding.knowledge import KnowledgeError, load_knowledge

    nodes, folders, problems = dict(plan.nodes), [], []
    for nid, node in plan.nodes.items():
        if node.answer is None:
            continue
        where = ("nodes", nid, "answer", "knowledge")
        file = pos.locate(where)[0]
        base = Path(file).parent if file else Path.cwd()
        folder = (base / node.answer.knowledge).resolve()
        try:
            load_knowledge(folder)
        except KnowledgeError as e:
            problems.append(pos.issue(where, str(e), code="knowledge"))
            continue
        folders.append(folder)
        nodes[nid] = node.model_copy(update={
            "answer": node.answer.model_copy(update={"knowledge": str(folder)})})
    if problems:
        raise DialplanError(problems)
    return plan.model_copy(update={"nodes": nodes}), list(dict.fromkeys(folders))


def _merge_includes(path: Path, data: dict[str, Any], pos: Positions, problems: list[Issue],
                    digest: Any, files: list[Path], chain: list[Path], merged: set[Path]) -> None:
    """Merge `data`'s includes into it. `chain` detects cycles; `merged` lets a file that two
    includes share (a diamond) be merged once."""
    includes = data.get("include") or []
    if not isinstance(includes, list):
        return  # the model reports the type error
    for i, rel in enumerate(includes):
        target = (path.parent / str(rel)).resolve()
        if target in chain:
            problems.append(pos.issue(("include", i), f"include cycle: {rel}", code="include"))
            continue
        if target in merged:
            continue
        if not target.is_file():
            problems.append(pos.issue(("include", i), f"included file not found: {rel}",
                                      code="include"))
            continue
        merged.add(target)
        sub_pos = Positions()
        try:
            sub, raw = parse_file(target, sub_pos, problems)
        except DialplanError as e:  # keep what was found so far, and go on
            problems.extend(e.issues)
            continue
        digest.update(raw)
        files.append(target)
        if not isinstance(sub, dict):
            problems.append(Issue(str(target), 1, 1, "an included file must be a mapping",
                                  code="include"))
            continue
        _merge_includes(target, sub, sub_pos, problems, digest, files, [*chain, target], merged)
        for key in sub:
            if key not in (*MERGED_SECTIONS, "include"):
                problems.append(sub_pos.issue((key,), f"an included file may only hold "
                                              f"{', '.join(MERGED_SECTIONS)}; not {key!r}",
                                              code="include"))
        for section in MERGED_SECTIONS:
            items = sub.get(section) or {}
            if not isinstance(items, dict):
                continue
            mine = data.setdefault(section, {})
            if not isinstance(mine, dict):
                continue
            for name, value in items.items():
                if name in mine:
                    f, line, _c = pos.locate((section, name))
                    problems.append(sub_pos.issue(
                        (section, name), f"duplicate {section[:-1]} {name!r} "
                        f"(also in {Path(f).name}:{line})", code="duplicate"))
                    continue
                mine[name] = value
                for key, where in sub_pos.where.items():
                    if key[:2] == (section, name):
                        pos.where[key] = where


def _validation_issue(err: dict[str, Any], pos: Positions) -> Issue:
    loc = tuple(err["loc"])
    # pydantic adds union branch names ("str", "dict[str,str]") into the location: drop them
    path = tuple(p for p in loc if not (isinstance(p, str) and ("[" in p or p in (
        "str", "int", "float", "bool", "list", "dict", "function-after"))))
    shown = ".".join(str(p) for p in path) or "<root>"
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = f"unknown field {path[-1]!r}"
    elif err["type"] == "missing":
        msg = f"missing required field {path[-1]!r}"
    return pos.issue(path, f"{shown}: {msg}", code=err["type"])
