"""≥1,000 randomized faults (seeded, counted when they fire) over the real wire (connector →
HTTP → sandbox guard), then Zoho judged by the independent oracle (`tests/push/oracle.py`):
0 duplicates, 0 lost, 0 wrong amounts, every return reversed, every balance as the ledger says.

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
    r = result.as_dict()
    assert result.faults_fired >= 1000
    assert result.problems == [], f"seed {seed}: {result.problems[:20]}"
    assert (r["duplicates"], r["lost"], r["wrong_amount"], r["not_reversed"], r["balance_mismatches"],
            r["undeposited_mismatch"], r["bank_mismatch"], r["stuck_intents"]) == (0,) * 8, f"seed {seed}: {r}"
    assert r["payments"] > 50 and r["payouts"] > 5 and r["returns"] > 3, r
    kinds = set(result.faults_by_kind)
    assert {"drop_after_write", "drop_before_write", "timeout", "latency", "server_error", "rate_limit",
            "rate_limit_storm", "token_revoked", "token_expired", "malformed"} <= kinds, kinds
    assert any(k.startswith("crash:") for k in kinds)
