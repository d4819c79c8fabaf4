"""Building blocks of `scripts/loadtest`, by job:

- `calls`: the English requests and a call's measured `CallResult`;
- `audio_gaps`: holes inside the prompts the caller heard (baresip's recording);
- `proc_usage`: CPU and memory of the service's process tree, sampled from /proc;
- `report`: percentiles, the sweep decision, the summary of a load level and its printed form;
- `service`: the service under load, its settings as IVR_* variables, its logs and health;
- `mixes`: the caller mixes (English Allison prompts with key 9; Mandarin AISHELL clips that
  name a hotline intent, no key) and the intent each request should reach;
- `profiles`: the aggressive and realistic traffic profiles, a call's seeded `CallPlan`;
- `scripted_call`: one call played from its plan (`run_planned_call`), with the stage times
  and language detection the IVR stored;
- `breakdown`: memory per worker and per call, stage times and CPU per call, the sweep table.

The pure parts (percentiles, gap detection, the sweep decision, /proc parsing, the report,
profile sampling, mix selection) are unit-tested in tests/unit/test_loadtest.py and
test_loadtest_*.py; the script wires them together. Everything the scripts and tests use is
importable from `testkit.loadtest` (the issue-22 modules from their own names).
"""

from testkit.loadtest.audio_gaps import Gap, audible_seconds, find_gaps, read_wav, silence_runs
from testkit.loadtest.calls import REQUESTS, CallResult, Step
from testkit.loadtest.proc_usage import (
    CLK_TCK,
    ROLES,
    ProcSampler,
    ProcStat,
    ProcUsage,
    all_stats,
    descendants,
    parse_rss_kb,
    parse_stat,
    process_role,
)
from testkit.loadtest.report import (
    P95_LIMIT_MS,
    format_report,
    largest_passing,
    percentile,
    summarize,
)
from testkit.loadtest.service import service_health, service_logs, setting_env

__all__ = [
    "CLK_TCK",
    "P95_LIMIT_MS",
    "REQUESTS",
    "ROLES",
    "CallResult",
    "Gap",
    "ProcSampler",
    "ProcStat",
    "ProcUsage",
    "Step",
    "all_stats",
    "audible_seconds",
    "descendants",
    "find_gaps",
    "format_report",
    "largest_passing",
    "parse_rss_kb",
    "parse_stat",
    "percentile",
    "process_role",
    "read_wav",
    "service_health",
    "service_logs",
    "setting_env",
    "silence_runs",
    "summarize",
]
