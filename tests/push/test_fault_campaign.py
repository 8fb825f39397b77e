"""≥1,000 randomized faults (seeded) over the real wire (connector → HTTP → sandbox guard), then both
sides reconciled: 0 duplicates, 0 lost, every balance equal."""

from __future__ import annotations

import pytest

from tests.push.campaign import run_campaign


@pytest.mark.slow
def test_fault_campaign_exactly_once(container, sandbox_app) -> None:
    result = run_campaign(container, sandbox_app, faults=1000, seed=20261125)
    assert result.faults >= 1000
    assert result.problems == []
    assert (result.duplicates, result.lost, result.balance_mismatches) == (0, 0, 0)
    assert result.payments > 50 and result.deposits > 5
    kinds = set(result.by_fault)
    assert {"drop_after_write", "server_error", "rate_limit", "token_revoked", "token_expired"} <= kinds, kinds
    assert any(k.startswith("crash:") for k in kinds)
