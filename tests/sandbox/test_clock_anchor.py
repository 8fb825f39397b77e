"""A sandbox clock rebuilt in another process from `Clock.anchor()` reads the same time: the
pull bench serves the sandbox from a child process and paces its limiter by such a copy."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import zohobooks_sandbox.clock as clock_module
from zohobooks_sandbox.clock import Clock


def test_a_clock_built_from_the_anchor_reads_the_same_scaled_time(monkeypatch) -> None:
    real = {"now": 1000.0}
    monkeypatch.setattr(clock_module.time, "monotonic", lambda: real["now"])
    original = Clock(60.0, start=datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc))
    real["now"] = 1002.5  # the child generated the organisation meanwhile
    start, real0 = original.anchor()
    copy = Clock(60.0, start=datetime.fromisoformat(start), real0=real0)
    assert copy.now() == original.now() == datetime(2026, 6, 1, 12, 2, 30, tzinfo=timezone.utc)
    real["now"] = 1003.5
    assert copy.now() == original.now() == datetime(2026, 6, 1, 12, 3, 30, tzinfo=timezone.utc)
    # without the anchor's real0 a copy would start counting from its own creation: 3.5 minutes behind
    unanchored = Clock(60.0, start=datetime.fromisoformat(start))
    assert original.now() - unanchored.now() == timedelta(minutes=3.5)
