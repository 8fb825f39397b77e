"""Alembic environment: the URL comes from the caller (ledgersync.store.db.migrate) or
LEDGERSYNC_DATABASE_URL; the metadata is ledgersync.store.orm's."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import engine_from_config, pool

from ledgersync.store.db import normalise_url
from ledgersync.store.orm import Base

config = context.config
if not config.get_main_option("sqlalchemy.url"):
    url = os.environ.get("LEDGERSYNC_DATABASE_URL", "sqlite:///var/ledgersync.db")
    config.set_main_option("sqlalchemy.url", normalise_url(url))
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = engine_from_config(config.get_section(config.config_ini_section, {}),
                                     prefix="sqlalchemy.", poolclass=pool.NullPool)
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
