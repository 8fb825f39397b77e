"""Shared fixtures: a real database (SQLite file, or PostgreSQL), a Container, a partner.

Database choice
- `LEDGERSYNC_TEST_DATABASE_URL` unset → one SQLite file in a per-session tmp dir.
- set (e.g. `postgresql://postgres@127.0.0.1:5432/test`) → the WHOLE suite runs on PostgreSQL.
  Each pytest session gets its own scratch database on that server (`<db>_t<random>`, dropped
  at the end) so several test sessions at once (engineers, CI jobs) never truncate each other's
  rows; if the role may not create databases, the given database is used as is.

The schema is migrated once per session (Alembic, the real migration chain); every table is
emptied before each test (TRUNCATE ... CASCADE on PostgreSQL, DELETE in reverse FK order on
SQLite), which keeps tests independent and fast.

Other parts extend this: override the `http_factory` fixture (e.g. an httpx.Client bound to the
in-process sandbox) and `container` picks it up; `tests/plugins/zoho_fixtures.py` (web part)
adds sandbox and connected-connection fixtures and is loaded when present.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, text

from ledgersync.bootstrap import Container
from ledgersync.observability import logs
from ledgersync.settings import Settings
from ledgersync.store import orm
from ledgersync.store.db import make_engine, migrate, normalise_url

TEST_DB_ENV = "LEDGERSYNC_TEST_DATABASE_URL"


@pytest.fixture(autouse=True)
def _no_log_ids_from_earlier_tests() -> Iterator[None]:
    """Engines bind run/intent ids to the calling thread's log context (`logs.bind`); a test that
    ran an engine in the main thread would leave them on every later test's log lines."""
    logs.clear()
    yield
    logs.clear()

DEMO_LIKE_EMAIL = "owner@msp.test"
DEMO_LIKE_PASSWORD = "owner-pass-1234"

if (Path(__file__).parent / "plugins" / "zoho_fixtures.py").exists():
    pytest_plugins = ["tests.plugins.zoho_fixtures"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `postgres` need a real PostgreSQL; without one they are skipped, visibly."""
    if os.environ.get(TEST_DB_ENV):
        return
    skip = pytest.mark.skip(reason=f"needs PostgreSQL: set {TEST_DB_ENV}")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


# --------------------------------------------------------------------------- database


def _create_scratch_postgres(base_url: str) -> tuple[str, Callable[[], None]]:
    """A fresh database next to `base_url`'s, and a function that drops it."""
    import psycopg

    conninfo = normalise_url(base_url).replace("postgresql+psycopg://", "postgresql://")
    head, _, dbname = conninfo.rpartition("/")
    dbname = dbname.split("?", 1)[0] or "test"
    scratch = f"{dbname}_t{secrets.token_hex(4)}"
    try:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{scratch}"')
    except psycopg.Error:
        return base_url, lambda: None

    def drop() -> None:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')

    return f"{head}/{scratch}", drop


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The session's migrated database URL."""
    base = os.environ.get(TEST_DB_ENV)
    if base:
        url, drop = _create_scratch_postgres(base)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'ledgersync-test.db'}"
        drop = lambda: None  # noqa: E731
    migrate(url)
    yield url
    drop()


@pytest.fixture(scope="session")
def fernet_key() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture(scope="session")
def _session_engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def empty_all_tables(engine: Engine) -> None:
    """Remove every row of every ledgersync table (the schema stays)."""
    tables = list(orm.Base.metadata.sorted_tables)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(tables):
                conn.execute(table.delete())


# --------------------------------------------------------------------------- container


@pytest.fixture
def settings(database_url: str, fernet_key: str) -> Settings:
    """Test settings: explicit values only, no `.env`, no scheduler."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        env="test",
        database_url=database_url,
        token_encryption_key=fernet_key,
        scheduler="off",
    )


@pytest.fixture
def http_factory() -> Callable[[], httpx.Client] | None:
    """Override in a conftest/plugin to hand the container an in-process sandbox client."""
    return None


@pytest.fixture
def container(
    settings: Settings,
    _session_engine: Engine,
    http_factory: Callable[[], httpx.Client] | None,
) -> Iterator[Container]:
    """A Container on the session's database, all tables empty at the start of the test."""
    empty_all_tables(_session_engine)
    c = Container(settings, http_factory=http_factory, engine=_session_engine, run_migrations=False)
    yield c
    if c._http is not None:  # the engine is shared by the session; only the HTTP client is ours
        c._http.close()


# --------------------------------------------------------------------------- platform rows


@pytest.fixture
def partner(container: Container) -> orm.Partner:
    """A partner (tenant) with an owner user `owner@msp.test` / `owner-pass-1234`."""
    from ledgersync.services import partners

    created = partners.create_partner(
        container, name="Test MSP", email=DEMO_LIKE_EMAIL, password=DEMO_LIKE_PASSWORD
    )
    return created.partner


@pytest.fixture
def user(container: Container, partner: orm.Partner) -> orm.User:
    """The partner's owner user (password `DEMO_LIKE_PASSWORD`)."""
    with container.uow() as uow:
        found = uow.session.query(orm.User).filter_by(partner_id=partner.id).one()
        uow.session.expunge(found)
    return found


@pytest.fixture
def api_key(container: Container, partner: orm.Partner) -> str:
    """A plain API key (`ls_live_<prefix>_<secret>`) of `partner`."""
    from ledgersync.services import api_keys

    return api_keys.create_api_key(container, partner.id, name="tests").plain
