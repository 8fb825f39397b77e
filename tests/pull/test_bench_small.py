"""bench/pull_calls.py at a small size: the JSON line is last and the numbers hold."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "pull_calls.py"


def test_bench_small(capsys, tmp_path):
    spec = importlib.util.spec_from_file_location("pull_calls_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    out = module.main(["--customers", "6", "--invoices", "60", "--seed", "3", "--time-scale", "3600",
                       "--database-url", f"sqlite:///{tmp_path}/bench.db"])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert json.loads(last) == out
    for key in ("calls", "lower_bound", "ratio", "http_429", "incremental_calls", "seconds", "records_per_s"):
        assert key in out
    assert out["http_429"] == 0 and out["incremental_calls"] == 4
    assert out["lower_bound"] <= out["calls"] <= out["lower_bound"] + 8
