"""A small app holding only the REST API router, and authenticated clients for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ledgersync.services import api_keys, partners
from ledgersync.web.api import router


@pytest.fixture
def api_app(container) -> FastAPI:
    app = FastAPI()
    app.state.container = container
    app.include_router(router)
    return app


@pytest.fixture
def client(api_app, api_key) -> Iterator[TestClient]:
    with TestClient(api_app, headers={"Authorization": f"Bearer {api_key}"}) as c:
        yield c


@pytest.fixture
def other_client(api_app, container) -> Iterator[TestClient]:
    """A client of a second partner, authenticating with `X-API-Key`."""
    other = partners.create_partner(container, name="Other MSP", email="o@other.test", password="other-pass-1")
    key = api_keys.create_api_key(container, other.partner.id).plain
    with TestClient(api_app, headers={"X-API-Key": key}) as c:
        yield c
