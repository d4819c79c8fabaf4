"""The call brain: sessions, dialogue engine, storage, HTTP API and CLI."""

__version__ = "0.1.0"
