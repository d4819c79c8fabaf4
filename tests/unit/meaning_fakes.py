"""Fakes of the meaning classifier for tests of the recognition layer above it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ivr.dialplan.recognition import OFF_TOPIC


@dataclass(frozen=True)
class Sure:
    """A classifier sure of `intent` (0.9)."""

    intent: str

    def probabilities(self, meaning: Any) -> dict[str, float]:
        return {self.intent: 0.9, OFF_TOPIC: 0.1}
