"""Token encryption keys: several keys newest first, re-encryption on read, `rotate-keys`, lost keys.

Against the in-process sandbox with a really connected partner: after a key change the tokens
still work and are rewritten under the newest key; a key that is gone puts the connection in
Reauthorization required (the pages answer, Disconnect and Reconnect work); and tokens Zoho
issued to a callback that then fails are revoked at Zoho, not leaked.
"""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from pydantic import SecretStr

from ledgersync.bootstrap import Container
from ledgersync.services import integration
from ledgersync.store import orm
from ledgersync.sync.books_factory import DbTokenProvider, rotate_stored_tokens
from ledgersync.zoho.errors import ZohoReauthorizationRequired
from ledgersync.zoho.tokens import TokenCipher, UndecryptableToken
from tests.conftest import DEMO_LIKE_EMAIL, DEMO_LIKE_PASSWORD
from tests.plugins.zoho_fixtures import connect_partner, consent_redirect


def _use_keys(container: Container, *keys: str) -> None:
    """Reconfigure the process's encryption keys (what a restart with a new setting does)."""
    container.settings.token_encryption_key = SecretStr(",".join(keys))
    container.token_cipher = TokenCipher(",".join(keys))


def _row(container: Container, connection_id: str) -> orm.Connection:
    with container.uow() as uow:
        conn = uow.session.get(orm.Connection, connection_id)
        assert conn is not None
        uow.session.expunge(conn)
        return conn


def _live_refresh_tokens(sandbox: Any) -> set[str]:
    return {t.token for t in sandbox.tokens.values() if t.kind == "refresh" and not t.revoked}


def test_cipher_decrypts_with_any_key_and_encrypts_with_the_first() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    made_by_old = TokenCipher(old).encrypt("secret-token")
    both = TokenCipher(f"{new}, {old}")
    assert both.decrypt(made_by_old) == "secret-token"
    assert not both.is_current(made_by_old)
    rotated = both.rotate(made_by_old)
    assert both.is_current(rotated) and TokenCipher(new).decrypt(rotated) == "secret-token"
    assert both.is_current(both.encrypt("x"))
    with pytest.raises(UndecryptableToken):
        TokenCipher(new).decrypt(made_by_old)
    with pytest.raises(UndecryptableToken):
        TokenCipher(Fernet.generate_key().decode()).rotate(made_by_old)


def test_tokens_are_reencrypted_on_read_and_by_rotate_keys(container: Container, connected_connection: orm.Connection) -> None:
    old = container.settings.token_encryption_key.get_secret_value()
    new = Fernet.generate_key().decode()
    _use_keys(container, new, old)
    before = _row(container, connected_connection.id)
    assert not TokenCipher(new).is_current(before.refresh_token_enc or "")

    token = DbTokenProvider(container, connected_connection.id).access_token()  # read: rewritten under `new`
    after = _row(container, connected_connection.id)
    assert TokenCipher(new).decrypt(after.access_token_enc or "") == token
    assert TokenCipher(new).is_current(after.refresh_token_enc or "")
    assert after.token_version == before.token_version  # same tokens, new ciphertext

    newer = Fernet.generate_key().decode()
    _use_keys(container, newer, new)
    assert rotate_stored_tokens(container) == {"rotated": 1, "current": 0, "undecryptable": 0}
    assert rotate_stored_tokens(container) == {"rotated": 0, "current": 1, "undecryptable": 0}
    _use_keys(container, newer)  # the old keys can go now
    assert DbTokenProvider(container, connected_connection.id).access_token() == token
    assert integration.list_organizations(container, connected_connection.partner_id)


@pytest.fixture
def logged_in(container: Container, partner: orm.Partner) -> TestClient:
    from ledgersync.web.app import create_app

    client = TestClient(create_app(container), base_url="http://testserver")
    r = client.post("/login", data={"email": DEMO_LIKE_EMAIL, "password": DEMO_LIKE_PASSWORD}, follow_redirects=False)
    assert r.status_code == 303
    return client


def test_lost_key_means_reauthorization_required_and_every_page_still_works(
        container: Container, connected_connection: orm.Connection, logged_in: TestClient, sandbox: Any) -> None:
    _use_keys(container, Fernet.generate_key().decode())  # the key the tokens were made with is gone
    with pytest.raises(ZohoReauthorizationRequired):
        DbTokenProvider(container, connected_connection.id).access_token()
    assert _row(container, connected_connection.id).status == "reauth_required"

    for path in ("/integrations", "/integrations/zoho/accounts", "/integrations/zoho/organization",
                 "/integrations/zoho/status"):
        r = logged_in.get(path)
        assert r.status_code == 200, (path, r.status_code)
    assert "Reauthorization required" in logged_in.get("/integrations").text

    # Reconnect works with the new key (the old refresh token cannot be revoked: it is unreadable)
    url = logged_in.post("/integrations/zoho/connect", follow_redirects=False).headers["location"]
    r = logged_in.get("/integrations/zoho/callback", params=consent_redirect(container.http, url), follow_redirects=False)
    assert r.status_code == 303
    assert _row(container, connected_connection.id).status in ("connected", "pending")
    assert DbTokenProvider(container, connected_connection.id).access_token()


def test_disconnect_works_with_undecryptable_tokens(
        container: Container, connected_connection: orm.Connection, logged_in: TestClient) -> None:
    _use_keys(container, Fernet.generate_key().decode())
    r = logged_in.post("/integrations/zoho/disconnect", follow_redirects=False)
    assert r.status_code == 303
    conn = _row(container, connected_connection.id)
    assert conn.status == "disconnected" and conn.refresh_token_enc is None
    assert "could not be reached to revoke" in logged_in.get("/integrations").text  # honest: not revoked
    after = logged_in.get("/integrations/zoho/accounts")  # organisation kept, tokens gone: was a 500
    assert after.status_code == 200 and "Connect Zoho Books first" in after.text


def test_rotate_keys_marks_undecryptable_connections(container: Container, connected_connection: orm.Connection) -> None:
    _use_keys(container, Fernet.generate_key().decode())
    assert rotate_stored_tokens(container) == {"rotated": 0, "current": 0, "undecryptable": 1}
    assert _row(container, connected_connection.id).status == "reauth_required"


def test_tokens_of_a_callback_that_fails_afterwards_are_revoked(
        container: Container, partner: orm.Partner, sandbox: Any, sandbox_app: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    live_before = _live_refresh_tokens(sandbox)
    url = integration.begin_connect(container, partner.id)
    params = consent_redirect(container.http, url)

    def broken_store(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("database went away while storing the tokens")

    monkeypatch.setattr(integration, "_store_tokens", broken_store)
    with pytest.raises(RuntimeError):
        integration.complete_callback(container, partner.id, params)
    assert _live_refresh_tokens(sandbox) == live_before  # Zoho issued one and it was revoked again

    monkeypatch.undo()
    conn = connect_partner(container, partner.id, setup_accounts=False)  # a new attempt works
    assert conn.status in ("pending", "connected")
    assert len(_live_refresh_tokens(sandbox) - live_before) == 1


def test_reconnect_revokes_the_previous_refresh_token(
        container: Container, connected_connection: orm.Connection, sandbox: Any) -> None:
    first = _live_refresh_tokens(sandbox)
    connect_partner(container, connected_connection.partner_id, setup_accounts=False)
    assert len(_live_refresh_tokens(sandbox)) == len(first)  # one replaced, not one added
