"""Fixtures of the pull tests: an in-process sandbox organisation and a connection to it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledgersync.bootstrap import Container
from ledgersync.store import orm
from tests.pull.harness import ZohoHarness, build_harness, connect_platform


@pytest.fixture
def zoho() -> Iterator[ZohoHarness]:
    harness = build_harness(customers=12, invoices=80, seed=11)
    yield harness
    harness.http.close()


@pytest.fixture
def connection_id(container: Container, partner: orm.Partner, zoho: ZohoHarness) -> str:
    return connect_platform(container, partner.id, zoho)
