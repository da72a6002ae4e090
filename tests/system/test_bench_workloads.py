"""The benches' workloads still fit the API: every call a bench makes is answered with success.

Benches never run in the suite and no test times anything; but a bench whose calls are
refused measures the wrong thing (bench/memory.py once counted 1 050 refused stops, after
a stop during the pre-warm came to end a session at once). This runs bench/memory.py's
workload, small, against the real service and checks that none of its calls failed.
"""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_the_memory_bench_workload_is_accepted_call_by_call() -> None:
    sys.path.insert(0, str(BENCH))
    try:
        import memory
    finally:
        sys.path.remove(str(BENCH))
    result = memory.measure(n_sessions=5, n_calls=2 * len(memory.CALLS))
    assert result["failures"] == 0
    assert result["sessions"] == 5
