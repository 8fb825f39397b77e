"""≥1,000 randomized faults (seeded), then both sides reconciled: 0 duplicates, 0 lost, balances equal."""

from __future__ import annotations

import pytest

from tests.push.campaign import run_campaign


@pytest.mark.slow
def test_fault_campaign_exactly_once(container) -> None:
    result = run_campaign(container, faults=1000, seed=20261125)
    assert result.faults >= 1000
    assert result.problems == []
    assert (result.duplicates, result.lost, result.balance_mismatches) == (0, 0, 0)
    assert result.payments > 50 and result.deposits > 5
