"""bench/pull_calls.py and bench/hourly_calls.py at a small size: the JSON line is last and the
numbers hold."""

from __future__ import annotations

from tests.pull.bench_runner import run_bench


def test_bench_small(capsys, tmp_path):
    """The sandbox serving from a child process over HTTP (what the reference figures use) and
    in-process cost the same calls: where Zoho runs does not change what the engine asks."""
    outs = {}
    for sandbox in ("process", "thread"):
        out = run_bench("pull_calls.py", ["--customers", "6", "--invoices", "60", "--seed", "3",
                                          "--time-scale", "3600", "--sandbox", sandbox,
                                          "--database-url", f"sqlite:///{tmp_path}/{sandbox}.db"], capsys)
        for key in ("calls", "lower_bound", "ratio", "http_429", "incremental_calls", "seconds", "records_per_s",
                    "zoho_days", "budget_waits", "rate_share"):
            assert key in out
        assert out["sandbox"] == sandbox
        assert 0 < out["zoho_days"] < 1 and out["budget_waits"] == 0
        assert out["http_429"] == 0 and out["incremental_calls"] == 3  # customer deletions: daily
        assert out["lower_bound"] <= out["calls"] <= out["lower_bound"] + 8
        outs[sandbox] = out
    assert outs["process"]["calls"] == outs["thread"]["calls"]
    assert outs["process"]["lower_bound"] == outs["thread"]["lower_bound"]


def test_hourly_bench_small(capsys, tmp_path):
    """Issue 13's bench at a small size: every change seen within its bound, fewer calls than the
    peer's one-detail-per-changed-invoice, and a day later the sweep has run."""
    out = run_bench("hourly_calls.py", ["--invoices", "120", "--customers", "10", "--hours", "25",
                                        "--changes-per-hour", "12", "--seed", "5",
                                        "--database-url", f"sqlite:///{tmp_path}/hourly.db"], capsys)
    for key in ("calls_per_hour", "detail_calls", "tap_equivalent_calls", "ratio_vs_tap", "stale_line_items_max_h",
                "missed"):
        assert key in out
    assert out["missed"] == 0 and out["http_429"] == 0
    assert out["ratio_vs_tap"] < 1
    assert out["sweep_calls"] > 0
    assert out["stale_line_items_max_h"]["total_keeping_edits"] <= 24
    assert out["stale_line_items_max_h"]["other_line_item_changes"] <= 1
    assert out["stale_max_h_list_fields"] <= 1
