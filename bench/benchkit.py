"""What every pull bench sets up the same way: a platform (its own SQLite file unless
`--database-url`), one partner, and a pending connection bound to the harness's organisation.

    from bench.benchkit import bench_platform
    container, connection_id = bench_platform(harness, database_url=args.database_url, prefix="pull-bench-")

The benches put the repository root on `sys.path` (they import `tests.pull.harness`), which
makes this module importable as `bench.benchkit`.
"""

from __future__ import annotations

import tempfile
from typing import Any

from ledgersync.bootstrap import Container
from ledgersync.settings import Settings
from ledgersync.store.orm import Partner
from tests.pull.harness import connect_platform


def bench_platform(harness: Any, *, database_url: str | None, prefix: str,
                   partner_name: str = "Bench MSP") -> tuple[Container, str]:
    """(container, connection_id): a fresh platform with one partner connected to `harness`'s
    organisation; the engines get `harness.books` and read the sandbox's clock."""
    if database_url is None:
        database_url = f"sqlite:///{tempfile.mkdtemp(prefix=prefix)}/bench.db"
    settings = Settings(_env_file=None, env="test", scheduler="off",  # type: ignore[call-arg]
                        database_url=database_url)
    container = Container(settings)
    with container.uow() as uow:
        partner = Partner(name=partner_name)
        uow.session.add(partner)
        uow.commit()
        partner_id = partner.id
    return container, connect_platform(container, partner_id, harness)
