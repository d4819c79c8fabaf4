"""Benchmark helpers. `measure` is numpy only, so the Pipecat side (scripts/_pipecat_side.py)
imports it from its own venv; `flow`, `aishell` and `pipecat_process` run on our side."""
