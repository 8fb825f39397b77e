"""Issue 14: `/docs` and `/redoc` work offline — every script, style and icon they reference is
served by the app itself from the package (it was a blank page: Swagger UI came from a CDN)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ledgersync.bootstrap import Container

VENDOR = Path(__file__).resolve().parents[2] / "ledgersync" / "web" / "static" / "vendor"


@pytest.fixture
def client(container: Container) -> TestClient:
    from ledgersync.web.app import create_app

    return TestClient(create_app(container), base_url="http://testserver")


@pytest.mark.parametrize("page,needs", [("/docs", {"swagger-ui-bundle.js", "swagger-ui.css"}),
                                        ("/redoc", {"redoc.standalone.js"})])
def test_doc_pages_load_their_assets_from_the_app(client: TestClient, page: str, needs: set[str]) -> None:
    html = client.get(page).text
    refs = re.findall(r'(?:src|href)=["\']([^"\']+)["\']', html)
    assert refs and not [r for r in refs if re.match(r"(https?:)?//", r)], refs  # nothing off-site
    assert needs <= {r.rsplit("/", 1)[-1] for r in refs}
    for ref in refs:
        r = client.get(ref)
        assert r.status_code == 200 and len(r.content) > 1000 or ref.endswith(".png"), ref
    assert "/openapi.json" in html
    assert client.get("/openapi.json").json()["paths"]


def test_vendored_assets_keep_their_licences_and_provenance() -> None:
    for folder in ("swagger-ui", "redoc"):
        assert (VENDOR / folder / "LICENSE").stat().st_size > 500
    sources = (VENDOR / "SOURCES.md").read_text()
    assert "swagger-ui-dist" in sources and "Apache-2.0" in sources and "redoc" in sources and "MIT" in sources


def test_oauth2_redirect_page(client: TestClient) -> None:
    assert client.get("/docs/oauth2-redirect").status_code == 200
