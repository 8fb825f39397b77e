"""≥1,000 randomized faults (seeded) over the real wire (connector → HTTP → sandbox guard), then both
sides reconciled: 0 duplicates, 0 lost, every balance equal.

The seed is fixed so CI is reproducible; `LEDGERSYNC_CAMPAIGN_SEED=<int>` runs another draw of the
same campaign (how a flake is hunted: loop over seeds, then pin the failing one here or in a
regression test).
"""

from __future__ import annotations

import os

import pytest

from tests.push.campaign import run_campaign

DEFAULT_SEED = 20261125


def campaign_seed() -> int:
    return int(os.environ.get("LEDGERSYNC_CAMPAIGN_SEED") or DEFAULT_SEED)


# The suite's 300 s pytest-timeout is a hang guard; this campaign alone takes 2-4 min on
# PostgreSQL on a loaded 2-core box (seed 202 was killed at 304 s mid-run, not stuck), so it gets
# its own, larger guard. Nothing it asserts depends on time.
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_fault_campaign_exactly_once(container, sandbox_app) -> None:
    seed = campaign_seed()
    result = run_campaign(container, sandbox_app, faults=1000, seed=seed)
    assert result.faults >= 1000
    assert result.problems == [], f"seed {seed}: {result.problems}"
    assert (result.duplicates, result.lost, result.balance_mismatches) == (0, 0, 0), f"seed {seed}"
    assert result.payments > 50 and result.deposits > 5
    kinds = set(result.by_fault)
    assert {"drop_after_write", "server_error", "rate_limit", "token_revoked", "token_expired"} <= kinds, kinds
    assert any(k.startswith("crash:") for k in kinds)
