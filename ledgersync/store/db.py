"""Engine and session factory, built once by `bootstrap`, never at import time.

SQLite (the demo default) gets WAL, foreign keys and a busy timeout so the web process and the
embedded scheduler's threads can share one file; PostgreSQL is used as is.
"""

from __future__ import annotations

import time
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain `postgresql://` URLs."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str, *, echo: bool = False) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            if ":memory:" not in url:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    engine = create_engine(url, echo=echo, pool_size=10, max_overflow=20)
    ping_when_idle(engine)
    return engine


#: a pooled connection idle longer than this is pinged before use (a PostgreSQL restart, an idle
#: timeout of a proxy); one used more recently is handed out as is
IDLE_PING_S = 10.0


def ping_when_idle(engine: Engine, idle_s: float = IDLE_PING_S) -> None:
    """Pessimistic disconnect handling for connections that sat idle, not for every checkout.

    `pool_pre_ping` costs a round trip per checkout: a push drain checks out ~17 connections and
    spent ~11 % of its time pinging. Here a connection returned to the pool less than `idle_s`
    ago is trusted; an older one answers `SELECT 1` first, and a dead one is replaced (the pool
    retries the checkout with a new connection)."""

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_conn, record):  # type: ignore[no-untyped-def]
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _taken(dbapi_conn, record, _proxy):  # type: ignore[no-untyped-def]
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < idle_s:
            return
        try:
            cursor = dbapi_conn.cursor()
            try:
                cursor.execute("SELECT 1")
            finally:
                cursor.close()
            dbapi_conn.rollback()  # end the ping's implicit transaction (psycopg opens one)
        except Exception as exc:  # the server went away while the connection was idle
            raise DisconnectionError(f"stale pooled connection: {type(exc).__name__}") from exc


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return cfg


def migrate(url: str) -> None:
    """Bring the database to the newest schema (idempotent)."""
    command.upgrade(alembic_config(url), "head")
