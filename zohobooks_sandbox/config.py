"""Sandbox configuration: one pydantic object, read once and passed down.

Every limit and knob is a field so tests and benchmarks can tune the sandbox without
monkeypatching. sandbox-ops (limits, faults, persistence) adds its fields here.
"""
from __future__ import annotations

from pydantic import BaseModel, Field


class SandboxConfig(BaseModel):
    """Knobs of one sandbox instance.

    ``time_scale`` speeds up the sandbox clock: a Zoho "minute" lasts ``60 / time_scale``
    real seconds. ``manual_clock`` freezes time; tests move it with ``Clock.advance``.
    """

    base_url: str = "http://127.0.0.1:8900"
    time_scale: float = 1.0
    manual_clock: bool = False
    seed: int = 42
    demo: bool = True
    persist_path: str | None = None
    access_token_ttl: int = 3600
    code_ttl: int = 120
    max_refresh_tokens_per_client: int = 20
    #: Zoho lets one refresh token mint at most 10 access tokens per 10 minutes
    max_access_tokens_per_refresh: int = 10
    access_token_window_seconds: int = 600
    # --- limits (owned by sandbox-ops; defaults as Zoho documents them) ---
    per_minute_limit: int = 100
    daily_limits: dict[str, int] = Field(
        default_factory=lambda: {"free": 1000, "standard": 2000, "professional": 5000, "premium": 10000}
    )
    concurrency_limits: dict[str, int] = Field(default_factory=lambda: {"free": 5, "paid": 10})
    default_plan: str = "premium"
    rate_limits_enabled: bool = True
    # --- sandbox-ops knobs (zohobooks_sandbox/ops.py reads them) ---
    #: keep every Books reply in ``sandbox.guard.recorder`` (schema-conformance tests)
    record_responses: bool = False
    #: size of the data the generator adds to the seeded demo organisation 700000001
    demo_customers: int = 25
    demo_invoices: int = 200
    demo_years: int = 2
    #: seconds between debounced saves of ``persist_path``
    persist_interval: float = 2.0
    webhook_max_attempts: int = 5
    webhook_backoff_seconds: float = 0.5
