"""The many-partner bench at a tiny size: real Celery worker processes and beat, PostgreSQL,
Redis, the sandbox over HTTP. Only what cannot depend on the machine's speed is asserted: every
settled payment and payout is in Zoho exactly once, Zoho never refused a call for exceeding a
limit, and the due pulls were counted (whether they were on time is the bench's report)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.services import redis_or_skip

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

PG_ADMIN = os.environ.get("LEDGERSYNC_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("LEDGERSYNC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

pytestmark = [pytest.mark.celery, pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(900)]


def postgres_or_skip() -> None:
    import psycopg

    try:
        psycopg.connect(PG_ADMIN.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=2).close()
    except Exception as exc:
        if os.environ.get("LEDGERSYNC_REQUIRE_SERVICES"):
            pytest.fail(f"PostgreSQL not reachable at {PG_ADMIN} (LEDGERSYNC_REQUIRE_SERVICES is set): {exc}")
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN}")


def test_tiny_many_partner_run_loses_and_doubles_nothing(capsys):
    redis_or_skip(REDIS)
    postgres_or_skip()
    import many_partners

    out = many_partners.main(["--partners", "3", "--workers", "2", "--hours", "1.1", "--time-scale", "240",
                              "--large", "1", "--large-invoices", "100", "--seed", "5", "--concurrency", "3",
                              "--pg-admin-url", PG_ADMIN, "--redis-url", REDIS])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("{") and '"partners": 3' in last  # the JSON line is printed last
    for key in ("partners", "hours", "pulls_due", "pulls_on_time_pct", "push_p95_s", "calls_over_budget", "http_429",
                "max_lag_s", "median_lag_s", "cpu_s_per_1000_calls", "lost", "duplicates"):
        assert key in out
    assert out["lost"] == 0 and out["not_pushed_yet"] == 0 and out["duplicates"] == 0 and out["push_failed"] == 0
    assert out["calls_over_budget"] == 0
    assert out["pulls_due"] >= 2  # two established partners, 1.1 Zoho hours (> interval + 5 min): a due pull each
