"""YAML dialplans: models and loading. The engine lives in `ivr.dialplan.engine`."""

from ivr.dialplan.loader import DialplanError, LoadedDialplan, load_dialplan
from ivr.dialplan.models import Dialplan

__all__ = ["Dialplan", "DialplanError", "LoadedDialplan", "load_dialplan"]
