"""One call: its driver, its stages and the events it records (`ivr.call.events`).

Nothing is re-exported here, so that a reader of stored events (the dashboards) can import
`ivr.call.events` without loading the call machinery."""

__all__: list[str] = []
