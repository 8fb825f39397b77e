"""Push tests run against the in-process sandbox over the product's real HTTP path.

The sandbox clock is manual: nothing in these tests depends on wall-clock time passing in
Zoho (token expiry is provoked by advancing it explicitly).
"""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def sandbox_config() -> Any:
    from zohobooks_sandbox import SandboxConfig

    return SandboxConfig(base_url="http://127.0.0.1:8900", demo=True, manual_clock=True, time_scale=1.0)
