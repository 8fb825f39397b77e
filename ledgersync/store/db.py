"""Engine and session factory, built once by `bootstrap`, never at import time.

SQLite (the demo default) gets WAL, foreign keys and a busy timeout so the web process and the
embedded scheduler's threads can share one file; PostgreSQL is used as is.
"""

from __future__ import annotations

import select
import time
from pathlib import Path
from typing import Any

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


def make_engine(url: str, *, echo: bool = False, idle_ping_s: float | None = None) -> Engine:
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
    ping_when_idle(engine, IDLE_PING_S if idle_ping_s is None else idle_ping_s)
    return engine


#: a pooled connection idle longer than this is pinged before use (an idle timeout of a proxy, a
#: server that vanished without closing its sockets); one used more recently is pinged only if
#: its socket says the server closed it (a PostgreSQL restart) — see `needs_ping`
IDLE_PING_S = 10.0


def socket_has_news(dbapi_conn: Any) -> bool:
    """Whether the server sent something to an idle connection: one `poll(2)` with no timeout,
    no round trip.

    Between two transactions PostgreSQL sends nothing unless it ends the session: a restart, a
    `pg_terminate_backend`, an idle timeout closing it leave its last message (57P01 …) and the
    end of the stream readable on the socket, where libpq only notices them at the next query.
    A readable socket can also hold harmless data (a NOTICE, a TLS session ticket): it is only a
    reason to ping. A socket that cannot be polled (closed) counts as news too.
    """
    try:
        fd = dbapi_conn.fileno()
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLPRI)
        return bool(poller.poll(0))
    except Exception:  # noqa: BLE001 - the driver's "connection is closed", a bad descriptor
        return True


def needs_ping(dbapi_conn: Any, idle_since: float | None, idle_s: float, now: float) -> bool:
    """The checkout's decision: ping a connection that sat idle `idle_s` or longer, or whose
    socket has news; trust any other (no round trip)."""
    if idle_since is not None and now - idle_since >= idle_s:
        return True
    return idle_since is not None and socket_has_news(dbapi_conn)


def ping_when_idle(engine: Engine, idle_s: float = IDLE_PING_S) -> None:
    """Pessimistic disconnect handling without a round trip per checkout.

    `pool_pre_ping` costs a round trip per checkout: a push drain checks out ~17 connections and
    spent ~11 % of its time pinging. Here a connection answers `SELECT 1` before it is handed out
    only when it sat idle `idle_s` or longer, or when its socket is readable (`socket_has_news`:
    the server closed it — a PostgreSQL restart — which a connection used a moment ago would
    otherwise only learn by failing its next query); a dead one is replaced (the pool retries
    the checkout with a new connection). Nothing is ever retried: a connection that dies while
    checked out fails its statement, and SQLAlchemy then recycles every connection the pool held
    (`is_disconnect`), so the next unit of work gets fresh ones."""

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_conn, record):  # type: ignore[no-untyped-def]
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _taken(dbapi_conn, record, _proxy):  # type: ignore[no-untyped-def]
        if not needs_ping(dbapi_conn, record.info.get("idle_since"), idle_s, time.monotonic()):
            return
        try:
            cursor = dbapi_conn.cursor()
            try:
                cursor.execute("SELECT 1")
            finally:
                cursor.close()
            dbapi_conn.rollback()  # end the ping's implicit transaction (psycopg opens one)
        except Exception as exc:  # the server went away while the connection was in the pool
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
