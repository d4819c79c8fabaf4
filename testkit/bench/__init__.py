"""Benchmark helpers (numpy only, so the Pipecat side can import them from its own venv)."""
