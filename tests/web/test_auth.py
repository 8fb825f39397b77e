"""Login / logout of partner users and the redirect of anonymous visitors."""

from __future__ import annotations

from fastapi.testclient import TestClient

from ledgersync.store import orm
from tests.conftest import DEMO_LIKE_EMAIL, DEMO_LIKE_PASSWORD


def test_anonymous_page_redirects_to_login_with_next(client: TestClient) -> None:
    r = client.get("/integrations", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=/integrations"


def test_login_page_is_not_prefilled_outside_demo(client: TestClient) -> None:
    r = client.get("/login")
    assert r.status_code == 200
    assert "demo-partner-1234" not in r.text


def test_login_page_prefilled_in_demo_mode(container, client: TestClient) -> None:
    container.settings.env = "demo"
    r = client.get("/login")
    assert 'value="partner@demo.test"' in r.text
    assert 'value="demo-partner-1234"' in r.text


def test_wrong_password_refused(client: TestClient, partner: orm.Partner) -> None:
    r = client.post("/login", data={"email": DEMO_LIKE_EMAIL, "password": "nope"}, follow_redirects=False)
    assert r.status_code == 401
    assert "not correct" in r.text
    assert client.get("/integrations", follow_redirects=False).status_code == 303


def test_login_then_follow_next_then_logout(client: TestClient, partner: orm.Partner) -> None:
    r = client.post(
        "/login",
        data={"email": DEMO_LIKE_EMAIL, "password": DEMO_LIKE_PASSWORD, "next": "/integrations"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/integrations"
    page = client.get("/integrations")
    assert page.status_code == 200
    assert "Test MSP" in page.text  # partner name in the top bar
    client.post("/logout", follow_redirects=False)
    assert client.get("/integrations", follow_redirects=False).status_code == 303


def test_open_redirect_refused(client: TestClient, partner: orm.Partner) -> None:
    r = client.post(
        "/login",
        data={"email": DEMO_LIKE_EMAIL, "password": DEMO_LIKE_PASSWORD, "next": "//evil.example/x"},
        follow_redirects=False,
    )
    assert r.headers["location"] == "/integrations"
