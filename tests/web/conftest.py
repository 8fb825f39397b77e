"""Route tests drive the real app with Starlette's TestClient (no sockets)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from ledgersync.bootstrap import Container
from ledgersync.store import orm
from tests.conftest import DEMO_LIKE_EMAIL, DEMO_LIKE_PASSWORD


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    from ledgersync.web.app import create_app

    with TestClient(create_app(container), base_url="http://testserver") as c:
        yield c


@pytest.fixture
def logged_in(client: TestClient, partner: orm.Partner) -> TestClient:
    r = client.post("/login", data={"email": DEMO_LIKE_EMAIL, "password": DEMO_LIKE_PASSWORD}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return client
