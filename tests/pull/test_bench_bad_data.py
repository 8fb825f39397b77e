"""bench/bad_data.py at a small size: Connected, every good invoice synced, every planted one
quarantined (the bench computes `expected_good` from what the sandbox planted)."""

from __future__ import annotations

from tests.pull.bench_runner import run_bench


def test_bench_bad_data_small(capsys, tmp_path):
    out = run_bench("bad_data.py", ["--invoices", "60", "--poison", "2", "--seed", "4", "--time-scale", "3600",
                                    "--database-url", f"sqlite:///{tmp_path}/bench.db"], capsys)
    assert out["connected"] is True and out["stuck_runs"] == 0
    assert out["quarantined"] == 2 * out["kinds"] and out["quarantined_as_planted"] is True
    assert out["synced"] == out["expected_good"] == out["invoices"] - 2 * out["kinds"]
