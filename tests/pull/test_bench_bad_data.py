"""bench/bad_data.py at a small size: Connected, every good invoice synced, every planted one
quarantined (the bench computes `expected_good` from what the sandbox planted)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bad_data.py"


def test_bench_bad_data_small(capsys, tmp_path):
    spec = importlib.util.spec_from_file_location("bad_data_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    out = module.main(["--invoices", "60", "--poison", "2", "--seed", "4", "--time-scale", "3600",
                       "--database-url", f"sqlite:///{tmp_path}/bench.db"])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert json.loads(last) == out
    assert out["connected"] is True and out["stuck_runs"] == 0
    assert out["quarantined"] == 2 * out["kinds"] and out["quarantined_as_planted"] is True
    assert out["synced"] == out["expected_good"] == out["invoices"] - 2 * out["kinds"]
