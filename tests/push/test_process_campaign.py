"""Worker PROCESSES killed with SIGKILL at random moments while another drains, over a real
socket, on the session's database (SQLite file here, PostgreSQL under `make test-pg`): the
independent oracle still finds nothing lost, doubled, mis-applied or left unreversed.

CI size: a few dozen faults (kills included); `bench/push_faults.py --processes` takes more.
"""

from __future__ import annotations

import pytest

from tests.push.process_campaign import run_process_campaign


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_sigkilled_worker_processes_lose_and_double_nothing(container) -> None:
    result = run_process_campaign(container, faults=40, seed=11)
    r = result.as_dict()
    assert result.kills >= 3, r
    assert result.problems == [], result.problems[:20]
    assert result.clean, r
    assert r["payments"] > 10, r
