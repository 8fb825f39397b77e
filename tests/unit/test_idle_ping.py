"""Pooled PostgreSQL connections are pinged only after sitting idle (or when their socket has news,
see test_postgres_restart.py), not on every checkout, and a connection whose server side died
while idle is replaced, not handed out."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import text

from ledgersync.store import db

PG = os.environ.get("LEDGERSYNC_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture
def engine():  # type: ignore[no-untyped-def]
    import psycopg

    try:
        psycopg.connect(PG, connect_timeout=2).close()
    except Exception as exc:
        if os.environ.get("LEDGERSYNC_REQUIRE_SERVICES"):
            pytest.fail(f"PostgreSQL not reachable at {PG}: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {PG}")
    eng = db.make_engine(PG)
    yield eng
    eng.dispose()


def test_a_recently_used_connection_is_not_pinged_and_an_idle_dead_one_is_replaced(engine):  # type: ignore[no-untyped-def]
    with engine.connect() as c:
        first_pid = c.execute(text("SELECT pg_backend_pid()")).scalar_one()
    with engine.connect() as c:  # returned a moment ago: trusted, same backend
        assert c.execute(text("SELECT pg_backend_pid()")).scalar_one() == first_pid
    # the server ends that backend while it sits idle in the pool, and it stays idle a while
    with db.make_engine(PG).connect() as admin:
        admin.execute(text("SELECT pg_terminate_backend(:p)"), {"p": first_pid})
        admin.commit()
    record = engine.pool._pool.queue[0]  # the one pooled connection
    record.info["idle_since"] -= db.IDLE_PING_S + 1
    with engine.connect() as c:  # pinged, found dead, replaced: the query works
        assert c.execute(text("SELECT pg_backend_pid()")).scalar_one() != first_pid


# A connection used < IDLE_PING_S ago is not pinged unless its socket says the server ended the
# session (a restart): tests/unit/test_postgres_restart.py.
