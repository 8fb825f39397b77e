"""The DB-backed token provider: one refresh per connection, reauth on a dead refresh token.

The connection row is made by a real consent + code exchange against the in-process sandbox;
the sandbox's own token table tells how many access tokens Zoho actually minted.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from ledgersync.bootstrap import Container
from ledgersync.store import orm
from ledgersync.sync.books_factory import (
    ConnectionNotReady,
    DbTokenProvider,
    books_for,
    oauth_client,
    refresh_claim_ttl,
)
from ledgersync.zoho.errors import ZohoReauthorizationRequired
from ledgersync.zoho.oauth import ZohoOAuth
from tests.plugins.db_probe import assert_no_write_lock_or_open_transaction
from tests.plugins.zoho_fixtures import DEMO_US_ORG, consent_redirect


def _minted(sandbox: Any, refresh: str) -> int:
    return sum(1 for t in sandbox.tokens.values() if t.kind == "access" and t.parent == refresh)


@pytest.fixture
def token_row(container: Container, partner: orm.Partner, sandbox: Any) -> tuple[str, str, str]:
    """(connection id, access token, refresh token) of a connected row with an EXPIRED access token."""
    oauth = oauth_client(container)
    params = consent_redirect(container.http, oauth.authorize_url("s-1"))
    tokens = oauth.exchange_code(params["code"], params["accounts-server"])
    cipher = container.token_cipher
    with container.uow() as uow:
        conn = orm.Connection(
            partner_id=partner.id, status="connected", organization_id=DEMO_US_ORG,
            api_domain=tokens.api_domain, accounts_server=params["accounts-server"], data_center="us",
            access_token_enc=cipher.encrypt(tokens.access_token), refresh_token_enc=cipher.encrypt(tokens.refresh_token),
            token_expires_at=datetime.now(timezone.utc) - timedelta(seconds=1), initial_sync_phase="done",
        )
        uow.session.add(conn)
        uow.commit()
        return conn.id, tokens.access_token, tokens.refresh_token


def test_expired_token_is_refreshed_once_and_stored_encrypted(container: Container, sandbox: Any, token_row) -> None:
    conn_id, old_access, refresh = token_row
    provider = DbTokenProvider(container, conn_id)
    new = provider.access_token()
    assert new != old_access and provider.refresh_count == 1
    assert provider.access_token() == new  # cached, no second refresh
    assert _minted(sandbox, refresh) == 2  # the exchange's token + one refresh
    with container.uow() as uow:
        row = uow.session.get(orm.Connection, conn_id)
        assert row.token_version == 1 and new not in row.access_token_enc
        assert container.token_cipher.decrypt(row.access_token_enc) == new
        assert row.token_expires_at > datetime.now(timezone.utc)


def test_many_threads_with_the_same_stale_token_cause_one_refresh(
    container: Container, sandbox: Any, token_row
) -> None:
    conn_id, stale, refresh = token_row
    providers = [DbTokenProvider(container, conn_id) for _ in range(8)]  # one per "worker"
    results: list[str] = []
    barrier = threading.Barrier(len(providers))

    def worker(p: DbTokenProvider) -> None:
        barrier.wait()
        results.append(p.refresh_access_token(stale))

    threads = [threading.Thread(target=worker, args=(p,)) for p in providers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 1 and results[0] != stale
    assert sum(p.refresh_count for p in providers) == 1
    assert _minted(sandbox, refresh) == 2


def test_a_worker_that_lost_the_race_uses_the_stored_token(container: Container, sandbox: Any, token_row) -> None:
    """Compare-and-swap across processes: the row, not memory, decides (separate providers)."""
    conn_id, stale, refresh = token_row
    first, second = DbTokenProvider(container, conn_id), DbTokenProvider(container, conn_id)
    new = first.refresh_access_token(stale)
    assert second.refresh_access_token(stale) == new
    assert second.refresh_count == 0 and _minted(sandbox, refresh) == 2
    # a genuinely rejected NEW token is refreshed again (once)
    newer = second.refresh_access_token(new)
    assert newer not in (stale, new) and second.refresh_count == 1


def test_revoked_refresh_token_marks_reauth_required_and_stops(
    container: Container, sandbox: Any, token_row
) -> None:
    conn_id, stale, refresh = token_row
    oauth_client(container).revoke(refresh)
    provider = DbTokenProvider(container, conn_id)
    with pytest.raises(ZohoReauthorizationRequired):
        provider.access_token()
    with container.uow() as uow:
        row = uow.session.get(orm.Connection, conn_id)
        assert row.status == "reauth_required" and "Reconnect" in (row.status_detail or "")
        assert row.access_token_enc is None
    calls_before = len(sandbox.tokens)
    with pytest.raises(ZohoReauthorizationRequired):  # no second trip to Zoho, no loop
        DbTokenProvider(container, conn_id).refresh_access_token(stale)
    assert len(sandbox.tokens) == calls_before


def test_books_for_reads_org_and_domain_from_the_row(container: Container, token_row) -> None:
    conn_id, _, _ = token_row
    books = books_for(container, conn_id)
    assert books.organization_id == DEMO_US_ORG and books.api_domain == "http://127.0.0.1:8900"


def test_books_for_refuses_a_connection_without_tokens(container: Container, partner: orm.Partner) -> None:
    with container.uow() as uow:
        conn = orm.Connection(partner_id=partner.id)
        uow.session.add(conn)
        uow.commit()
    with pytest.raises(ConnectionNotReady):
        books_for(container, conn.id)


def test_the_claim_alone_serialises_refreshes_like_separate_processes(
    container: Container, sandbox: Any, token_row
) -> None:
    """Without the in-process lock (as between processes) the refresh claim still allows one refresh."""
    conn_id, stale, refresh = token_row
    providers = [DbTokenProvider(container, conn_id) for _ in range(6)]
    barrier = threading.Barrier(len(providers))
    results: list[str] = []
    errors: list[BaseException] = []

    def worker(p: DbTokenProvider) -> None:
        barrier.wait()
        try:
            results.append(p._refresh_by_claim(stale))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(p,)) for p in providers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(set(results)) == 1 and sum(p.refresh_count for p in providers) == 1
    assert _minted(sandbox, refresh) == 2


# ------------------------------------------------- no lock across Zoho's accounts server (issue 9)


def _stored(container: Container, conn_id: str) -> orm.Connection:
    with container.uow() as uow:
        row = uow.session.get(orm.Connection, conn_id)
        assert row is not None
        uow.session.expunge(row)
        return row


class FakeClock:
    def __init__(self) -> None:
        self.t = datetime.now(timezone.utc)

    def now(self) -> datetime:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += timedelta(seconds=seconds)


def test_no_database_lock_is_held_while_zoho_refreshes_the_token(
    container: Container, sandbox: Any, token_row, monkeypatch: pytest.MonkeyPatch
) -> None:
    """During the accounts-server call another connection takes SQLite's write lock at once (on
    PostgreSQL: no transaction of ours is open), and the committed claim is visible to others."""
    conn_id, stale, _ = token_row
    real = ZohoOAuth.refresh
    probed: list[str | None] = []

    def probing(self: ZohoOAuth, *a: Any, **k: Any) -> Any:
        assert_no_write_lock_or_open_transaction(container.engine)
        probed.append(_stored(container, conn_id).token_refresh_claim)
        return real(self, *a, **k)

    monkeypatch.setattr(ZohoOAuth, "refresh", probing)
    new = DbTokenProvider(container, conn_id).access_token()
    assert len(probed) == 1 and probed[0] is not None and new != stale
    row = _stored(container, conn_id)
    assert row.token_version == 1 and row.token_refresh_claim is None and row.token_refresh_claim_until is None
    assert container.token_cipher.decrypt(row.access_token_enc or "") == new


def test_a_second_refresher_waits_for_the_claimants_token_instead_of_calling_zoho(
    container: Container, sandbox: Any, token_row, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two workers (no shared in-process lock) with the same stale token: one accounts-server call.
    The second starts while the first is inside Zoho's call, finds the live claim and polls."""
    conn_id, stale, refresh = token_row
    real = ZohoOAuth.refresh
    calls: list[int] = []
    polling, release = threading.Event(), threading.Event()

    def second_sleep(_seconds: float) -> None:
        polling.set()
        assert release.wait(10)

    second = DbTokenProvider(container, conn_id, sleep=second_sleep)
    second_result: list[str] = []
    other = threading.Thread(target=lambda: second_result.append(second._refresh_by_claim(stale)))

    def refresh_while_another_asks(self: ZohoOAuth, *a: Any, **k: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            other.start()
            assert polling.wait(10)  # the second worker saw our live claim and is waiting
        return real(self, *a, **k)

    monkeypatch.setattr(ZohoOAuth, "refresh", refresh_while_another_asks)
    first = DbTokenProvider(container, conn_id)
    token = first.refresh_access_token(stale)
    release.set()
    other.join(10)
    assert second_result == [token] and token != stale
    assert len(calls) == 1 and first.refresh_count == 1 and second.refresh_count == 0
    assert _minted(sandbox, refresh) == 2


def test_a_claimant_that_died_mid_refresh_is_superseded_once_its_claim_expires(
    container: Container, sandbox: Any, token_row, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first claimant hangs inside Zoho's call (as if dead). The next worker waits on the fake
    clock until the claim expires, refreshes itself and stores; the late first answer is not stored."""
    conn_id, stale, refresh = token_row
    clock, ttl = FakeClock(), refresh_claim_ttl(container.settings)
    start = clock.now()
    real = ZohoOAuth.refresh
    called_at: list[datetime] = []
    inside, let_go = threading.Event(), threading.Event()

    def hanging_first(self: ZohoOAuth, *a: Any, **k: Any) -> Any:
        called_at.append(clock.now())
        if len(called_at) == 1:
            inside.set()
            assert let_go.wait(10)
        return real(self, *a, **k)

    monkeypatch.setattr(ZohoOAuth, "refresh", hanging_first)
    dead = DbTokenProvider(container, conn_id, now=clock.now)
    late: list[str] = []
    hung = threading.Thread(target=lambda: late.append(dead._refresh_by_claim(stale)))
    hung.start()
    assert inside.wait(10)

    survivor = DbTokenProvider(container, conn_id, now=clock.now, sleep=lambda _s: clock.advance(5))
    token = survivor._refresh_by_claim(stale)
    assert len(called_at) == 2 and called_at[1] >= start + ttl  # not before the claim expired
    assert survivor.refresh_count == 1
    row = _stored(container, conn_id)
    assert row.token_version == 1 and container.token_cipher.decrypt(row.access_token_enc or "") == token

    let_go.set()
    hung.join(10)
    assert late and late[0] not in (stale, token)  # the late claimant's token is valid, used only by it
    row = _stored(container, conn_id)
    assert row.token_version == 1 and container.token_cipher.decrypt(row.access_token_enc or "") == token
    assert row.token_refresh_claim is None
    assert _minted(sandbox, refresh) == 3


# ------------------------------------------------- a reconnect during a refresh (issue 9 leftover)


class RefreshInFlight:
    """A worker whose refresh with the OLD refresh token hangs inside Zoho's accounts-server call
    (claim taken, no transaction open) while the partner reconnects; `finish()` lets Zoho answer."""

    def __init__(self, container: Container, conn_id: str, old_refresh: str, monkeypatch: pytest.MonkeyPatch) -> None:
        real = ZohoOAuth.refresh
        self.inside, self.let_go = threading.Event(), threading.Event()
        self.calls: list[str] = []  # which refresh token each accounts-server call used
        self.result: list[str | BaseException] = []

        def hanging_old(oauth: ZohoOAuth, refresh_token: str, *a: Any, **k: Any) -> Any:
            self.calls.append(refresh_token)
            if refresh_token == old_refresh:
                self.inside.set()
                assert self.let_go.wait(10)
            return real(oauth, refresh_token, *a, **k)

        monkeypatch.setattr(ZohoOAuth, "refresh", hanging_old)
        worker = DbTokenProvider(container, conn_id)

        def run() -> None:
            try:
                self.result.append(worker.access_token())  # expired: refreshes
            except BaseException as exc:  # noqa: BLE001 - asserted by the test
                self.result.append(exc)

        self.thread = threading.Thread(target=run)
        self.thread.start()
        assert self.inside.wait(10)

    def finish(self) -> str | BaseException:
        self.let_go.set()
        self.thread.join(10)
        assert not self.thread.is_alive()
        return self.result[0]


def _reconnect(container: Container, partner_id: str, conn_id: str) -> str:
    """The partner's Reconnect (consent + callback, same organisation); the new access token."""
    from tests.plugins.zoho_fixtures import connect_partner

    assert connect_partner(container, partner_id, setup_accounts=False).id == conn_id
    return container.token_cipher.decrypt(_stored(container, conn_id).access_token_enc or "")


def test_a_reconnect_clears_the_old_refresh_claim(
    container: Container, sandbox: Any, partner: orm.Partner, token_row, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The claim was taken for the old grant's token; after the reconnect it guards nothing, so a
    refresh of the NEW token (say Zoho refused it) goes to Zoho at once instead of waiting the
    dead claim out (up to 2 HTTP timeouts + 5 s)."""
    conn_id, _, old_refresh = token_row
    in_flight = RefreshInFlight(container, conn_id, old_refresh, monkeypatch)
    assert _stored(container, conn_id).token_refresh_claim is not None
    new_access = _reconnect(container, partner.id, conn_id)
    row = _stored(container, conn_id)
    assert row.token_refresh_claim is None and row.token_refresh_claim_until is None

    def no_waiting(_seconds: float) -> None:
        raise AssertionError("waited for the old grant's refresh claim")

    other = DbTokenProvider(container, conn_id, sleep=no_waiting)
    newer = other._refresh_by_claim(new_access)  # another process: no shared in-process lock
    assert newer != new_access and other.refresh_count == 1
    assert in_flight.finish() == newer  # the old grant's refusal is not the connection's
    row = _stored(container, conn_id)
    assert container.token_cipher.decrypt(row.access_token_enc or "") == newer and row.status != "reauth_required"


def test_a_refresh_refused_because_a_reconnect_revoked_its_token_uses_the_new_token(
    container: Container, sandbox: Any, partner: orm.Partner, token_row, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reconnect revokes the old refresh token while a worker is refreshing with it: Zoho refuses
    it. The worker takes the reconnect's token; it raises no 'reauthorization required' (which
    the pull engine would turn into Reauthorization required and an e-mail to the partner)."""
    conn_id, _, old_refresh = token_row
    in_flight = RefreshInFlight(container, conn_id, old_refresh, monkeypatch)
    new_access = _reconnect(container, partner.id, conn_id)
    assert in_flight.finish() == new_access
    assert in_flight.calls == [old_refresh]  # no refresh of the new grant was needed
    row = _stored(container, conn_id)
    assert row.status != "reauth_required" and row.token_refresh_claim is None
    assert container.token_cipher.decrypt(row.access_token_enc or "") == new_access


def test_a_refused_refresh_token_still_stored_is_lost(
    container: Container, sandbox: Any, token_row, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other side of the rule above: with no reconnect, the refusal means Reauthorization required."""
    conn_id, _, old_refresh = token_row
    in_flight = RefreshInFlight(container, conn_id, old_refresh, monkeypatch)
    oauth_client(container).revoke(old_refresh)
    assert isinstance(in_flight.finish(), ZohoReauthorizationRequired)
    assert _stored(container, conn_id).status == "reauth_required"
