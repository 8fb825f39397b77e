"""A probe for "nothing of ours holds the database while Zoho is called" (issue 9), shared by
the push race tests and the token refresh tests."""

from __future__ import annotations

from typing import Any


def assert_no_write_lock_or_open_transaction(engine: Any) -> None:
    """Nothing of ours holds the database while Zoho is called.

    SQLite: another connection can take the write lock at once (`BEGIN IMMEDIATE`, no waiting).
    PostgreSQL: no other session of this database is `idle in transaction`.
    """
    if engine.dialect.name == "sqlite":
        import sqlite3

        raw = sqlite3.connect(engine.url.database, timeout=0, isolation_level=None)
        try:
            raw.execute("BEGIN IMMEDIATE")
            raw.execute("ROLLBACK")
        finally:
            raw.close()
        return
    from sqlalchemy import text

    with engine.connect() as c:
        n = c.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                           "AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'")).scalar_one()
    assert n == 0, f"{n} transaction(s) left open during a Zoho call"
