"""Docs are part of the feature: every setting and every dialplan field is documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from ivr.config import iter_setting_paths, render_defaults
from ivr.dialplan import models, nodes
from ivr.dialplan.say_as import FILTERS

REPO = Path(__file__).resolve().parents[2]


def test_default_config_file_is_current() -> None:
    """config/default.yaml is `ivr config --defaults`: regenerate it when a setting changes."""
    assert (REPO / "config" / "default.yaml").read_text(encoding="utf-8") == render_defaults()


@pytest.mark.parametrize("path", iter_setting_paths())
def test_every_setting_is_documented(path: str) -> None:
    text = (REPO / "config" / "default.yaml").read_text(encoding="utf-8")
    leaf = path.split(".")[-1]
    assert re.search(rf"^\s*# .+\n\s*{leaf}:", text, re.M), f"{path} lacks a description"


DIALPLAN_MODELS: list[type[BaseModel]] = [
    models.Dialplan, nodes.Node, nodes.Menu, nodes.Gather, nodes.Choice, nodes.Slot,
    nodes.Transfer, nodes.Hangup, nodes.Answer, models.Intent, models.Defaults, nodes.Retry,
    nodes.BranchCase, nodes.Webhook, nodes.Hours, models.Calendar, models.EmotionHandling,
]


@pytest.mark.parametrize(
    "model,field",
    [(m, f) for m in DIALPLAN_MODELS for f in m.model_fields],
    ids=lambda v: v if isinstance(v, str) else v.__name__,
)
def test_every_dialplan_field_is_documented(model: type[BaseModel], field: str) -> None:
    doc = (REPO / "dialplans" / "README.md").read_text(encoding="utf-8")
    field = model.model_fields[field].alias or field
    assert f"`{field}`" in doc, f"{model.__name__}.{field} is not in dialplans/README.md"


@pytest.mark.parametrize("verb", nodes.VERBS)
def test_every_verb_has_a_section_with_an_example(verb: str) -> None:
    doc = (REPO / "dialplans" / "README.md").read_text(encoding="utf-8")
    # `return` is documented together with `flow`
    heading = "### `flow` and `return`" if verb == "return" else f"### `{verb}`"
    section = doc.split(heading, 1)
    assert len(section) == 2, f"no section for {verb}"
    assert "```yaml" in section[1].split("###", 1)[0], f"no example for {verb}"


@pytest.mark.parametrize("name", list(FILTERS))
def test_every_say_as_filter_is_documented_with_examples(name: str) -> None:
    doc = (REPO / "dialplans" / "README.md").read_text(encoding="utf-8")
    section = doc.split("### Say-as", 1)[1].split("\n## ", 1)[0]
    row = next((line for line in section.splitlines() if line.startswith(f"| `{name}` |")), "")
    assert row.count("|") == 6 and all(cell.strip() for cell in row.split("|")[1:-1]), (
        f"say-as filter {name!r} has no row (use, value, zh-CN, en-US) in dialplans/README.md")


def test_readme_starts_with_the_two_commands_and_ci_runs_the_test_one() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    first_block = readme.split("```bash", 1)[1].split("```", 1)[0]
    assert "bash scripts/run" in first_block and "bash scripts/test" in first_block
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert ci.strip().splitlines()[-1].strip() == "bash scripts/test"


def test_shipped_schema_is_current() -> None:
    import json

    from ivr.dialplan.models import dialplan_json_schema

    shipped = json.loads((REPO / "dialplans" / "dialplan.schema.json").read_text("utf-8"))
    assert shipped == dialplan_json_schema(), "regenerate with: ivr dialplan schema"
