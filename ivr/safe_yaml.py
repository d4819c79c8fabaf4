"""Parse YAML that comes from outside (dialplans, their tests, settings files) without letting
the text decide how much memory or stack the parse costs.

PyYAML's SafeLoader builds no arbitrary objects, but it is not safe against size:

- aliases: an anchor holding ten aliases of an anchor holding ten aliases ... ("billion
  laughs") lets an 11 KB dialplan describe a tree of billions of nodes. PyYAML shares the
  aliased objects, so the parse itself is cheap; whatever walks the tree afterwards (the
  loader's position walker, pydantic, a JSON dump) expands it: 1.6 GB, in the running service
  too, on hot reload. No dialplan or settings file needs aliases, so they are refused while
  composing, before anything can expand them.
- depth: the composer recurses once per nesting level, so `[[[[...` 50,000 deep ends in a
  RecursionError traceback. Nesting is capped at `MAX_DEPTH` while composing.
- size: the file is read at most `MAX_BYTES` (+1, to tell) bytes, so `/dev/zero` or a
  multi-gigabyte file is refused instead of read.

Refusals raise `UnsafeYaml`, a `yaml.MarkedYAMLError`: code that already reports YAML errors
by their mark keeps working, and `located(file)` gives `file:line:column: message`.
"""

from __future__ import annotations

from pathlib import Path

import yaml

__all__ = ["MAX_BYTES", "MAX_DEPTH", "BoundedLoader", "UnsafeYaml", "YamlTooLarge",
           "compose_and_load", "read_bounded", "safe_load"]

MAX_DEPTH = 64  # the shipped dialplans, their tests and config/default.yaml nest at most 9 deep
MAX_BYTES = 1_000_000  # the largest shipped dialplan is 22 KB


class UnsafeYaml(yaml.MarkedYAMLError):
    """YAML refused for its shape (an alias, too deep) rather than its syntax."""

    def __init__(self, problem: str, mark: yaml.Mark | None) -> None:
        super().__init__(None, None, problem, mark)

    def located(self, file: str) -> str:
        """`file:line:column: problem` (1-based), the format lint and the loader use."""
        mark = self.problem_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        return f"{file}:{line}:{col}: {self.problem}"


class BoundedLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases and nesting deeper than `max_depth` while composing,
    so no refused document is ever built. `what` names the kind of file in messages."""

    max_depth = MAX_DEPTH
    what = "YAML from outside"

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node:
        if self.check_event(yaml.AliasEvent):
            raise UnsafeYaml(f"YAML aliases are not allowed in {self.what}",
                             self.peek_event().start_mark)
        if self._depth >= self.max_depth:
            raise UnsafeYaml(f"YAML nested more than {self.max_depth} levels deep is not "
                             f"allowed in {self.what}", self.peek_event().start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)  # type: ignore[no-any-return]
        finally:
            self._depth -= 1


def compose_and_load(text: str, what: str,
                     loader: type[BoundedLoader] = BoundedLoader) -> tuple[yaml.Node | None,
                                                                           object]:
    """(node tree, data) of a one-document YAML text, parsed once. The node tree keeps the
    positions of every key and value; raises `UnsafeYaml` or another `yaml.YAMLError`."""
    parser = loader(text)
    parser.what = what
    try:
        node = parser.get_single_node()
        data = parser.construct_document(node) if node is not None else None
    finally:
        parser.dispose()
    return node, data


def safe_load(text: str, what: str, loader: type[BoundedLoader] = BoundedLoader) -> object:
    """The data of a one-document YAML text; raises `UnsafeYaml` or another `yaml.YAMLError`."""
    return compose_and_load(text, what, loader)[1]


class YamlTooLarge(ValueError):
    """A YAML file larger than its bound; the message names the file and the bound."""


def read_bounded(path: Path, what: str, limit: int = MAX_BYTES) -> bytes:
    """The bytes of `path`; `YamlTooLarge` when it holds more than `limit`, OSError when it
    cannot be read. Reads at most `limit + 1` bytes, so a huge file (or a device that never
    ends) costs nothing."""
    with path.open("rb") as f:
        raw = f.read(limit + 1)
    if len(raw) > limit:
        raise YamlTooLarge(f"{path}: {what} larger than {limit:,} bytes are refused")
    return raw
