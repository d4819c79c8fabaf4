"""The `summary` section of a dialplan (pydantic): how the escalation summary, what a human
agent reads before taking a call the IVR hands over, names this hotline's intents, slots and
transfer reasons, and what it suggests the agent do first.

Only the summary (`ivr/escalation/summary*.py`) reads this section; the dialog never does.
That is why an intent's summary name is not its `label`: a `label` makes the engine ask
"您是要{label}吗？" when the intent scores just below the threshold, so labelling an intent
changes what callers hear, while naming it here changes only what agents read.
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from ivr.dialplan.nodes import Prompt, StrictModel

_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


class IntentPhrases(StrictModel):
    """What the summary says about one intent."""

    label: Prompt | None = Field(
        None, description="Its name for the agent (挂失银行卡); default: the intent's `label`, "
        "else its name in words."
    )
    crisis: bool = Field(
        False, description="An emergency (chest pain, self-harm): a call handed over as a "
        "crisis is summarised as it, its words are quoted first, no apology is suggested."
    )
    needs: list[str] = Field(
        default_factory=list,
        description="Slots (or variables) the task needs, in the order to ask them.",
    )
    next_action: Prompt | None = Field(
        None, description="What the agent should do first when nothing is missing; `{name}` "
        "inserts a collected slot. None: the generic greeting."
    )
    next_action_missing: Prompt | None = Field(
        None, description="Instead, while a slot of `needs` is missing; `{missing}` names "
        "the missing ones."
    )
    next_action_unverified: Prompt | None = Field(
        None, description="Instead, while the caller's identity is not verified (the "
        "`verified` variable is not true)."
    )
    next_action_done: Prompt | None = Field(
        None, description="Instead, when the IVR already did it: every slot of `needs` was "
        "verified and one of the IVR's answers says them all."
    )

    @field_validator("needs")
    @classmethod
    def _names(cls, needs: list[str]) -> list[str]:
        bad = [n for n in needs if not re.match(_NAME, n)]
        if bad:
            raise ValueError(f"invalid slot name(s): {', '.join(map(repr, bad))}")
        return needs


class SummaryPhrases(StrictModel):
    """The dialplan's phrasebook for the escalation summary (read by nothing else)."""

    intents: dict[str, IntentPhrases] = Field(
        default_factory=dict, description="By intent (from `intents`)."
    )
    slots: dict[str, Prompt] = Field(
        default_factory=dict,
        description="Names of slots (or variables) for the agent: {account: {zh-CN: 宽带账号, "
        "en-US: broadband account}}; default: the slot's name.",
    )
    transfer_reasons: dict[str, Prompt] = Field(
        default_factory=dict,
        description="A transfer `reason` of this dialplan in plain words (冻结系统不可用); "
        "default: the reason with spaces for underscores.",
    )
