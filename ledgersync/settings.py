"""One Settings object, read once from the environment / `.env`, passed down explicitly.

Every knob a deployment may turn lives here with a safe default for the demo: SQLite, the
embedded Zoho Books sandbox on 127.0.0.1:8900, the embedded scheduler. A real Zoho account
works by configuration alone (set `LEDGERSYNC_ZOHO_ACCOUNTS_URL` / client id / secret).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import SecretStr, computed_field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEMO_FERNET_KEY = "bGVkZ2Vyc3luYy1kZW1vLWtleS1ub3QtZm9yLXByb2Q="  # demo only; refused in production
DEMO_SECRET_KEY = "demo-session-secret-change-me"
DEMO_WEBHOOK_SECRET = "demo-webhook-secret"
DEMO_ZOHO_CLIENT_ID = "1000.LEDGERSYNCDEMO0000000000000000"
DEMO_ZOHO_CLIENT_SECRET = "ledgersync-demo-client-secret"
SANDBOX_ACCOUNTS_URL = "http://127.0.0.1:8900"

ENVIRONMENTS = ("demo", "test", "production")
MIN_SECRET_CHARS = 32  # session and webhook secrets: at least 32 characters (about 190 bits if random)
MIN_CLIENT_SECRET_CHARS = 16


class UnsafeConfiguration(RuntimeError):
    """Production mode with a demo, missing or too short secret; the message names each variable."""


class Settings(BaseSettings):
    """Configuration of one ledgersync deployment."""

    model_config = SettingsConfigDict(env_prefix="LEDGERSYNC_", env_file=".env", extra="ignore")

    env: str = "demo"  # demo | test | production
    database_url: str = "sqlite:///var/ledgersync.db"
    base_url: str = "http://127.0.0.1:8000"
    secret_key: SecretStr = SecretStr(DEMO_SECRET_KEY)
    # One Fernet key, or several separated by commas, NEWEST FIRST: tokens are encrypted with the
    # first and decrypted with any (rotation: prepend a new key, run `ledgersync rotate-keys`,
    # then drop the old key).
    token_encryption_key: SecretStr = SecretStr(DEMO_FERNET_KEY)

    # Zoho OAuth client and servers. Defaults point at the embedded sandbox.
    zoho_client_id: str = DEMO_ZOHO_CLIENT_ID
    zoho_client_secret: SecretStr = SecretStr(DEMO_ZOHO_CLIENT_SECRET)
    zoho_accounts_url: str = SANDBOX_ACCOUNTS_URL
    zoho_sandbox: bool = True  # launch the embedded sandbox with `ledgersync run`
    zoho_sandbox_port: int = 8900
    zoho_http_timeout_s: float = 30.0

    # Zoho API budget per organisation (shared with every app of the partner).
    zoho_per_minute_limit: int = 100
    zoho_window_seconds: float = 60.0  # tests and benches scale Zoho's minute down
    zoho_plan: str = "premium"  # free | standard | professional | premium
    zoho_push_reserve_per_minute: int = 20
    zoho_push_reserve_per_day: int = 200

    # Scheduler
    scheduler: str = "embedded"  # embedded | celery | off
    celery_broker_url: str = "redis://127.0.0.1:6379/0"
    pull_interval_s: float = 3600.0
    push_interval_s: float = 180.0
    push_due_tick_s: float = 5.0  # how often Celery beat drains connections with a due push (dead worker's lease ran out)
    # a stream Zoho failed (5xx, timeouts, refused connections, 429 storms) is retried after
    # base x 2^(failures-1) seconds, capped: seconds to minutes, never "the next hourly run"
    pull_retry_base_s: float = 30.0
    pull_retry_max_s: float = 900.0
    # failed runs in a row of one stream after which the connection shows Error (and alerts)
    connection_failure_threshold: int = 3
    # Alerts by e-mail (smtp://[user:pass@]host[:port][?starttls=1] or smtps://...); unset: none sent
    smtp_url: str | None = None
    mail_from: str = "ledgersync@localhost"
    webhook_secret: SecretStr = SecretStr(DEMO_WEBHOOK_SECRET)

    # Celery deployment (SCHEDULER=celery): queues, fairness, shared state in Redis
    redis_url: str = ""  # shared limiter/semaphores/markers; empty: the broker's URL (when Redis)
    redis_key_prefix: str = "ledgersync"  # every Redis key of the deployment starts with it
    celery_queue_prefix: str = "ledgersync"  # queues <prefix>.push, <prefix>.pull, <prefix>.backfill
    pull_tick_s: float = 60.0  # how often beat looks for connections whose staggered hourly pull is due
    org_max_concurrency: int = 2  # pull/backfill tasks of one connection running at once (all workers)
    backfill_slots: int = 2  # initial syncs (backfills) running at once across all workers
    inline_history_max_invoices: int = 500  # a history this small finishes with the last 12 months (no backfill)
    # a pull task past the soft limit sends no further Zoho call and stops (threads pool:
    # workers/deadline.py; the run resumes from its cursor); the prefork pool also kills at the hard one
    task_soft_time_limit_s: float = 900.0
    # a push drain task past this sends no further Zoho call: the intent it worked goes back to the
    # outbox due now (a write that may have left is looked up by reference first) and the task
    # queues the next drain. Short: a drain is a few calls per payment, and a slow organisation
    # must not hold a worker thread for the pulls' quarter of an hour
    push_task_soft_time_limit_s: float = 120.0
    task_time_limit_s: float = 1200.0
    # a worker's GIL switch interval (Python's default 0.005 s): a push thread waiting on the
    # database or Zoho gets the interpreter back sooner from threads parsing a backfill's pages
    worker_switch_interval_s: float = 0.001
    run_log_retention_days: float = 30.0  # superseded sync_runs older than this are deleted (beat, hourly)
    run_log_prune_interval_s: float = 3600.0
    log_format: str = "text"  # text (the demo's console) | json (one object a line, ids bound)
    metrics_port: int = 0  # a Celery worker serves /metrics here (the next free port if taken); 0: off
    # bearer token /metrics requires (web and workers); required in production, optional elsewhere
    metrics_token: SecretStr = SecretStr("")
    # Zoho time for benches/tests: Zoho's clock runs `time_scale` times faster than real time
    # from the real instant `time_origin` (unix seconds); 1.0 = real time.
    time_scale: float = 1.0
    time_origin: float = 0.0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def redirect_uri(self) -> str:
        """The OAuth callback registered with Zoho for this deployment."""
        return self.base_url.rstrip("/") + "/integrations/zoho/callback"

    @property
    def shared_redis_url(self) -> str | None:
        """Redis for state every worker shares (limiter, semaphores, markers), if there is one."""
        url = self.redis_url or self.celery_broker_url
        return url if url.startswith(("redis://", "rediss://", "unix://")) else None

    @property
    def is_demo(self) -> bool:
        """Demo mode: the demo partner, the pre-filled login and the embedded sandbox's OAuth client."""
        return self.env == "demo"

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    def unsafe_settings(self) -> list[str]:
        """What is wrong with this configuration for its mode, one clause per variable (empty: fine).

        Any mode refuses an unknown `LEDGERSYNC_ENV` (a typo must not quietly run as the demo).
        Production refuses every secret that is missing, a public demo value, or too short, the
        demo OAuth client, and Zoho accounts pointing at the embedded sandbox.
        """
        if self.env not in ENVIRONMENTS:
            return [f"LEDGERSYNC_ENV is {self.env!r} (use one of {', '.join(ENVIRONMENTS)})"]
        if not self.is_production:
            return []
        problems = [
            _secret_problem(self, "secret_key", DEMO_SECRET_KEY, MIN_SECRET_CHARS),
            _secret_problem(self, "webhook_secret", DEMO_WEBHOOK_SECRET, MIN_SECRET_CHARS),
            _secret_problem(self, "zoho_client_secret", DEMO_ZOHO_CLIENT_SECRET, MIN_CLIENT_SECRET_CHARS),
            _fernet_problem(self),
            _secret_problem(self, "metrics_token", "", MIN_SECRET_CHARS),
        ]
        if "zoho_client_id" not in self.model_fields_set or self.zoho_client_id in ("", DEMO_ZOHO_CLIENT_ID):
            problems.append("LEDGERSYNC_ZOHO_CLIENT_ID is " + ("not set" if "zoho_client_id" not in self.model_fields_set
                                                                 else "the demo sandbox's client"))
        if "zoho_accounts_url" not in self.model_fields_set or self.zoho_accounts_url.rstrip("/") == SANDBOX_ACCOUNTS_URL:
            problems.append("LEDGERSYNC_ZOHO_ACCOUNTS_URL is not set to Zoho's accounts server "
                            "(such as https://accounts.zoho.com)")
        return [p for p in problems if p]

    def require_safe(self) -> None:
        """Raise `UnsafeConfiguration` (one sentence naming each bad variable) if `unsafe_settings`."""
        problems = self.unsafe_settings()
        if problems:
            raise UnsafeConfiguration(
                f"Refusing to start with LEDGERSYNC_ENV={self.env}: " + "; ".join(problems)
                + " (see .env.example and the README's 'Real Zoho' section).")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def ensure_sqlite_dir(self) -> None:
        """Create the folder of a file-based SQLite database (the demo's `var/`)."""
        if self.is_sqlite and ":///" in self.database_url:
            path = self.database_url.split(":///", 1)[1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)


def _secret_problem(settings: Settings, name: str, demo_value: str, min_chars: int) -> str | None:
    var = f"LEDGERSYNC_{name.upper()}"
    value: str = getattr(settings, name).get_secret_value()
    if name not in settings.model_fields_set or not value:
        return f"{var} is not set"
    if value == demo_value:
        return f"{var} is the public demo value"
    if len(value) < min_chars:
        return f"{var} is too short ({len(value)} characters, at least {min_chars})"
    return None


def _fernet_problem(settings: Settings) -> str | None:
    from cryptography.fernet import Fernet

    var = "LEDGERSYNC_TOKEN_ENCRYPTION_KEY"
    keys = fernet_keys(settings.token_encryption_key.get_secret_value())
    if "token_encryption_key" not in settings.model_fields_set or not keys:
        return f"{var} is not set"
    if DEMO_FERNET_KEY in keys:
        return f"{var} contains the public demo key"
    for key in keys:
        try:
            Fernet(key)
        except ValueError:
            return (f"{var} has a key that is not a Fernet key (32 url-safe base64 bytes; make one with "
                    "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`)")
    return None


def fernet_keys(value: str) -> list[str]:
    """The keys of `LEDGERSYNC_TOKEN_ENCRYPTION_KEY`, newest first (comma or whitespace separated)."""
    return [k for k in value.replace(",", " ").split() if k]


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
