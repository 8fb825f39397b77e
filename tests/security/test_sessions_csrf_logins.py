"""Sessions, CSRF, login throttling and password hashing — over HTTP against a running app.

The outside-in checks of issue 8 run against a real `ledgersync run` in production mode
(`production_app`, its own process): a cross-site POST is refused with 403, twenty wrong
passwords in a row are throttled, the cookie holds no API key, and a copied cookie is dead
after logout. The rest uses the in-process app (TestClient) where it needs to reach into the
database (lifetimes, rehash).
"""

from __future__ import annotations

import base64
import json
import re
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient

from ledgersync.bootstrap import Container
from ledgersync.services import logins, partners
from ledgersync.services.errors import AuthenticationFailed
from ledgersync.store import orm
from tests.conftest import DEMO_LIKE_EMAIL, DEMO_LIKE_PASSWORD
from tests.security.conftest import OWNER_EMAIL, OWNER_PASSWORD, RunningApp


def _cookie_payload(value: str) -> dict[str, object]:
    """Starlette's session cookie: base64(JSON) '.' timestamp '.' signature."""
    data = value.split(".", 1)[0]
    return json.loads(base64.b64decode(data + "=" * (-len(data) % 4)))


def _login(http: httpx.Client, base: str, email: str = OWNER_EMAIL, password: str = OWNER_PASSWORD) -> httpx.Response:
    return http.post("/login", data={"email": email, "password": password}, headers={"Origin": base})


# --------------------------------------------------------------------------- from outside


def test_cross_site_form_post_is_refused(production_app: RunningApp) -> None:
    base = production_app.base_url
    with httpx.Client(base_url=base) as http:
        assert _login(http, base).status_code == 303
        for headers in ({"Origin": "https://evil.example"}, {"Origin": "null"},
                        {"Referer": "https://evil.example/page"}, {}):  # production: no header at all is refused
            r = http.post("/api-keys", data={"name": "stolen"}, headers=headers)
            assert r.status_code == 403, (headers, r.status_code)
        assert "stolen" not in http.get("/api-keys").text
        ok = http.post("/api-keys", data={"name": "mine"}, headers={"Referer": f"{base}/api-keys"})
        assert ok.status_code == 200 and "mine" in ok.text


def test_cookie_holds_no_api_key_and_the_key_is_shown_once(production_app: RunningApp) -> None:
    base = production_app.base_url
    with httpx.Client(base_url=base) as http:
        assert _login(http, base).status_code == 303
        r = http.post("/api-keys", data={"name": "ci"}, headers={"Origin": base})
        key = re.search(r"ls_live_[A-Za-z0-9_\-]+", r.text)
        assert key, "the new key is on the page that answers the POST"
        cookie = http.cookies["ledgersync_session"]
        assert "ls_live_" not in json.dumps(_cookie_payload(cookie))
        assert set(_cookie_payload(cookie)) <= {"sid", "_flashes"}
        assert key.group(0) not in http.get("/api-keys").text  # shown once
        api = httpx.get(f"{base}/api/v1/invoices", headers={"Authorization": f"Bearer {key.group(0)}"})
        assert api.status_code == 200


def test_logout_ends_every_copy_of_the_cookie(production_app: RunningApp) -> None:
    base = production_app.base_url
    with httpx.Client(base_url=base) as http:
        assert _login(http, base).status_code == 303
        copied = http.cookies["ledgersync_session"]
        assert http.get("/logout", follow_redirects=False).status_code == 303  # GET does nothing …
        assert http.get("/integrations", follow_redirects=False).status_code == 200  # … still logged in
        http.post("/logout", headers={"Origin": base})
    with httpx.Client(base_url=base, cookies={"ledgersync_session": copied}) as thief:
        assert thief.get("/integrations", follow_redirects=False).status_code == 303


def test_twenty_wrong_passwords_are_throttled(production_app: RunningApp) -> None:
    base = production_app.base_url
    email = "victim@prod.test"
    statuses = []
    with httpx.Client(base_url=base) as http:
        for i in range(20):
            statuses.append(_login(http, base, email, f"wrong-{i}").status_code)
        assert statuses[: logins.MAX_PER_ACCOUNT] == [401] * logins.MAX_PER_ACCOUNT
        assert set(statuses[logins.MAX_PER_ACCOUNT:]) == {429}
        last = _login(http, base, email, "wrong-again")
        assert last.status_code == 429
        assert "Too many failed log-ins for this account" in last.text and "try again in" in last.text
        assert int(last.headers["Retry-After"]) > 0


# --------------------------------------------------------------------------- in process


@pytest.fixture
def app_client(container: Container) -> TestClient:
    from ledgersync.web.app import create_app

    return TestClient(create_app(container), base_url="http://testserver")


def _in_login(client: TestClient) -> None:
    r = client.post("/login", data={"email": DEMO_LIKE_EMAIL, "password": DEMO_LIKE_PASSWORD}, follow_redirects=False)
    assert r.status_code == 303, r.text


def test_same_origin_and_headerless_requests_pass_in_test_mode(app_client: TestClient, partner: orm.Partner) -> None:
    _in_login(app_client)
    ok = app_client.post("/api-keys", data={"name": "a"}, headers={"Origin": "http://testserver"})
    assert ok.status_code == 200
    assert app_client.post("/api-keys", data={"name": "b"}, headers={"Origin": "http://testserver:81"}).status_code == 403
    assert app_client.post("/api-keys", data={"name": "c"}).status_code == 200  # a script, not a browser page


def test_login_form_itself_is_protected(app_client: TestClient, partner: orm.Partner) -> None:
    r = app_client.post("/login", data={"email": DEMO_LIKE_EMAIL, "password": DEMO_LIKE_PASSWORD},
                        headers={"Origin": "https://evil.example"}, follow_redirects=False)
    assert r.status_code == 403  # login CSRF: an attacker cannot log the victim into their account


def _age_sessions(container: Container, *, created: timedelta, seen: timedelta) -> None:
    with container.uow() as uow:
        for row in uow.session.query(orm.UserSession):
            row.created_at = orm.utcnow() - created
            row.last_seen_at = orm.utcnow() - seen
        uow.commit()


@pytest.mark.parametrize(("created", "seen", "alive"), [
    (timedelta(hours=1), timedelta(minutes=5), True),
    (logins.IDLE + timedelta(hours=1), logins.IDLE + timedelta(minutes=1), False),  # idle too long
    (logins.ABSOLUTE + timedelta(minutes=1), timedelta(minutes=1), False),  # active, but too old
])
def test_idle_and_absolute_lifetimes(container: Container, app_client: TestClient, partner: orm.Partner,
                                     created: timedelta, seen: timedelta, alive: bool) -> None:
    _in_login(app_client)
    _age_sessions(container, created=created, seen=seen)
    status = app_client.get("/integrations", follow_redirects=False).status_code
    assert status == (200 if alive else 303)
    with container.uow() as uow:
        assert (uow.session.query(orm.UserSession).count() == 1) is alive


def test_password_change_ends_every_session(container: Container, partner: orm.Partner, user: orm.User) -> None:
    from ledgersync.web.app import create_app

    app = create_app(container)
    one, two = TestClient(app), TestClient(app)
    _in_login(one)
    _in_login(two)
    assert two.get("/integrations", follow_redirects=False).status_code == 200
    partners.change_password(container, user.id, DEMO_LIKE_PASSWORD, "a-brand-new-password")
    for c in (one, two):
        assert c.get("/integrations", follow_redirects=False).status_code == 303
    with pytest.raises(AuthenticationFailed):
        partners.authenticate(container, DEMO_LIKE_EMAIL, DEMO_LIKE_PASSWORD)
    partners.authenticate(container, DEMO_LIKE_EMAIL, "a-brand-new-password")


def test_new_hashes_are_argon2id_and_legacy_scrypt_is_rehashed_on_login(container: Container, user: orm.User) -> None:
    import hashlib
    import secrets

    with container.uow() as uow:
        assert uow.session.get(orm.User, user.id).password_hash.startswith("$argon2id$")
        salt = secrets.token_bytes(16)
        digest = hashlib.scrypt(DEMO_LIKE_PASSWORD.encode(), salt=salt, n=2**14, r=8, p=1, maxmem=64 * 1024 * 1024,
                                dklen=32)
        uow.session.get(orm.User, user.id).password_hash = f"scrypt${2**14}$8$1${salt.hex()}${digest.hex()}"
        uow.commit()
    partners.authenticate(container, DEMO_LIKE_EMAIL, DEMO_LIKE_PASSWORD)  # the old hash still works …
    with container.uow() as uow:
        stored = uow.session.get(orm.User, user.id).password_hash
    assert stored.startswith("$argon2id$") and not partners.needs_rehash(stored)  # … and was upgraded
    assert partners.verify_password(DEMO_LIKE_PASSWORD, stored)
    assert not partners.verify_password("wrong", stored)


def test_throttle_per_address_across_accounts(container: Container) -> None:
    for i in range(logins.MAX_PER_ADDRESS):
        logins.check_throttle(container, f"u{i}@x.test", "10.9.9.9")
        logins.record_failure(container, f"u{i}@x.test", "10.9.9.9")
    with pytest.raises(logins.LoginThrottled, match="your network address"):
        logins.check_throttle(container, "fresh@x.test", "10.9.9.9")
    logins.check_throttle(container, "fresh@x.test", "10.9.9.10")  # another address is not affected


def test_operator_password_reset_ends_every_session(container: Container, app_client: TestClient,
                                                     partner: orm.Partner) -> None:
    _in_login(app_client)
    partners.set_password(container, DEMO_LIKE_EMAIL, "reset-by-the-operator")
    assert app_client.get("/integrations", follow_redirects=False).status_code == 303
