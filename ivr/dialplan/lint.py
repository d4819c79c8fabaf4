"""`ivr lint`: check dialplans and report every problem as `file:line:column`.

Each path is a dialplan file or a directory searched recursively for `*.yaml` (conversation
tests `*.test.yaml` and knowledge bases under a `knowledge/` folder excluded). A partial file
— no `name` and no `start`, only nodes, intents, calendars or variables — is checked as part
of the dialplan that includes it; one that no
linted dialplan includes is reported. A file is first loaded (the loader reports invalid YAML,
duplicate keys, unknown fields, wrong types and dangling references); a file that loads is
then checked semantically (lint_checks.py, lint_say_as.py, lint_confirm.py,
lint_survey.py, lint_phrases.py). Exit status 1
on any error (or, with --strict, any warning).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from ivr.dialplan.lint_checks import check_plan
from ivr.dialplan.lint_confirm import confirm_issues
from ivr.dialplan.lint_meaning import meaning_issues
from ivr.dialplan.lint_phrases import phrase_issues
from ivr.dialplan.lint_say_as import say_as_issues
from ivr.dialplan.lint_survey import survey_issues
from ivr.dialplan.loader import DialplanError, Issue, LoadedDialplan, load_dialplan, yaml_load
from ivr.safe_yaml import YamlTooLarge, read_bounded


def _order(issue: Issue) -> tuple[str, int, int, str, str]:
    return issue.file, issue.line, issue.column, issue.code, issue.message


def _sorted(issues: Iterable[Issue]) -> list[Issue]:
    return sorted(dict.fromkeys(issues), key=_order)


def lint_loaded(loaded: LoadedDialplan) -> list[Issue]:
    """Semantic issues of a dialplan that loaded, sorted by file and position."""
    return _sorted([*check_plan(loaded), *say_as_issues(loaded), *confirm_issues(loaded),
                    *survey_issues(loaded), *phrase_issues(loaded),
                    *meaning_issues(loaded)])


def lint_file(path: Path | str) -> list[Issue]:
    """Every issue of one dialplan (and the files it includes), sorted."""
    path = Path(path)
    try:
        loaded = load_dialplan(path)
    except DialplanError as e:
        return _sorted(_located(i, path) for i in e.issues)
    return lint_loaded(loaded)


def _located(issue: Issue, path: Path) -> Issue:
    """Loader issues without a place (unreadable file) get the file's first line."""
    if issue.file:
        return issue if issue.code else dataclasses.replace(issue, code="invalid")
    return dataclasses.replace(issue, file=str(path), line=max(issue.line, 1),
                               column=max(issue.column, 1), code=issue.code or "invalid",
                               message=issue.message.removeprefix(f"{path}: "))


KNOWLEDGE_DIR = "knowledge"  # dialplans/knowledge/<dialplan>/<language>.yaml: not dialplans


def _candidates(paths: Iterable[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out += sorted(f for f in p.rglob("*.yaml") if f.is_file()
                          and not f.name.endswith(".test.yaml")
                          and not any(part.startswith(".") for part in f.relative_to(p).parts)
                          and KNOWLEDGE_DIR not in f.relative_to(p).parent.parts)
        else:
            out.append(p)
    return list(dict.fromkeys(out))


def _peek(path: Path) -> dict[str, Any] | None:
    """The file's data, to tell partial files; None when the loader will report it (unreadable,
    too large, not UTF-8, invalid or refused YAML)."""
    try:
        data = yaml_load(read_bounded(path, "dialplans").decode("utf-8"))
    except (OSError, YamlTooLarge, UnicodeDecodeError, yaml.YAMLError):
        return None
    return data if isinstance(data, dict) else None


def _is_partial(data: dict[str, Any] | None) -> bool:
    return data is not None and "name" not in data and "start" not in data


def collect(paths: Iterable[Path]) -> tuple[list[Issue], int]:
    """(issues of every dialplan under `paths`, number of files examined)."""
    files = _candidates(paths)
    data = {f: _peek(f) for f in files}
    included: set[Path] = set()
    for f, d in data.items():
        includes = (d or {}).get("include")
        for rel in includes if isinstance(includes, list) else []:
            included.add((f.parent / str(rel)).resolve())
    issues: list[Issue] = []
    for f in files:
        if not _is_partial(data[f]):
            issues += lint_file(f)
        elif f.resolve() not in included:
            issues.append(Issue(str(f), 1, 1, "partial dialplan (no `name`, no `start`) that "
                                "no linted dialplan includes: lint the file including it",
                                "warning", "orphan-partial"))
    return _sorted(issues), len(files)


def run_lint(args: argparse.Namespace) -> int:
    """`ivr lint PATH... [--strict] [--format text|json]`; the exit status."""
    issues, count = collect(args.paths)
    errors = sum(i.severity == "error" for i in issues)
    warnings = len(issues) - errors
    if getattr(args, "format", "text") == "json":
        print(json.dumps([dataclasses.asdict(i) for i in issues], ensure_ascii=False, indent=2))
    else:
        for issue in issues:
            print(issue)
        print(f"{errors} errors, {warnings} warnings in {count} files")
    return 1 if errors or (warnings and getattr(args, "strict", False)) else 0
