"""The Zoho Books integration of one partner: connect, callback, organisation, accounts, disconnect.

The four steps of the seed (Connect → consent → Pending → Connected → Set Up Accounts) as use
cases the dashboard calls; every function takes the partner id and touches only that partner's
connection. Status changes go through `ledgersync.sync.connection_status` (which asks
`ledgersync.domain.connection.transition`), so an invalid change (a late worker marking a
disconnected connection connected) is refused.

OAuth `state`: a random value with its creation time (`{epoch}.{random}`), of which only the
SHA-256 is stored on the connection row. The callback must present a state whose hash matches
the logged-in partner's connection and that is at most `STATE_TTL` old; it is single use.
Codes are exchanged only at an accounts server we know (`ZohoHosts.trusted_accounts_server`),
so a forged `accounts-server` in a callback never receives the client secret.

The pull engine marks the connection Connected itself when the initial sync is done
(`ledgersync.sync.connection_status.mark_connected`); the `mark_*` functions here are the same
changes for callers holding a session or only the container.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ledgersync.domain.connection import ConnectionEvent, ConnectionStatus, can
from ledgersync.services.errors import Conflict, InvalidInput, NotFound, ServiceError
from ledgersync.store.orm import Connection, SyncCursor
from ledgersync.sync import connection_status, outbox
from ledgersync.sync.books_factory import DbTokenProvider, ZohoAccess, oauth_client
from ledgersync.sync.call_log import counted_calls
from ledgersync.sync.connection_status import mark_reauth_required, set_status
from ledgersync.sync.ports import Dispatching, Transactional
from ledgersync.sync.pull.initial import start_initial_sync
from ledgersync.sync.pull.progress import initial_sync_progress as _progress_report
from ledgersync.zoho.client import ZohoBooks
from ledgersync.zoho.dc import DATA_CENTRES, UnknownDataCentre, ZohoHosts
from ledgersync.zoho.errors import ZohoError, ZohoReauthorizationRequired
from ledgersync.zoho.oauth import DEFAULT_SCOPES, TokenSet
from ledgersync.zoho.tokens import TokenCipher, UndecryptableToken, register_secret

log = logging.getLogger(__name__)

PROVIDER = "zoho_books"
STATE_TTL = 15 * 60  # seconds a consent may take

__all__ = [
    "AccountChoices",
    "AccountOption",
    "CallbackOutcome",
    "OAuthCallbackRefused",
    "Organization",
    "account_choices",
    "begin_connect",
    "choose_organization",
    "complete_callback",
    "disconnect",
    "get_connection",
    "initial_sync_progress",
    "list_organizations",
    "mark_connected",
    "mark_error",
    "mark_reauth_required",
    "mark_recovered",
    "save_accounts",
    "zoho_hosts",
]


class OAuthCallbackRefused(ServiceError):
    """The callback is not one we started (state mismatch/expired) or Zoho refused the consent."""


@dataclass(frozen=True)
class Organization:
    organization_id: str
    name: str
    currency_code: str | None = None
    is_default: bool = False


@dataclass(frozen=True)
class CallbackOutcome:
    """`choose_organization` is True when the partner must pick one of `organizations`."""

    connection_id: str
    status: str
    choose_organization: bool = False
    organizations: list[Organization] = field(default_factory=list)


@dataclass(frozen=True)
class AccountOption:
    account_id: str
    name: str
    account_type: str


@dataclass
class AccountChoices:
    """Dropdown content for Set Up Accounts, with what is pre-selected."""

    undeposited: list[AccountOption]
    bank: list[AccountOption]
    fees: list[AccountOption]
    selected_undeposited: str | None = None
    selected_bank: str | None = None
    selected_fees: str | None = None
    income: list[AccountOption] = field(default_factory=list)
    selected_income: str | None = None


# --------------------------------------------------------------------------- helpers


def _hash_state(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def zoho_hosts(container: IntegrationPorts) -> ZohoHosts:
    """Real Zoho hosts when the accounts URL is one of Zoho's, else everything under the sandbox URL."""
    url = container.settings.zoho_accounts_url.rstrip("/")
    known = {dc.accounts_server for dc in DATA_CENTRES.values()}
    return ZohoHosts(None if url in known else url)


class IntegrationPorts(ZohoAccess, Dispatching, Protocol):
    """What the integration use cases need: Zoho access (OAuth, tokens, a client) and the
    dispatcher (the initial sync and waiting pushes start at once)."""


def _apply(target: Session | Transactional, change: Callable[[Session], bool]) -> bool:
    """Run a status change in the caller's session, or in a unit of work of its own (committed
    only when the change was allowed)."""
    if isinstance(target, Session):
        return change(target)
    with target.uow() as uow:
        ok = change(uow.session)
        if ok:
            uow.commit()
        return ok


def _partner_connection(session: Session, partner_id: str, *, lock: bool = False) -> Connection | None:
    stmt = select(Connection).where(Connection.partner_id == partner_id, Connection.provider == PROVIDER)
    if lock and session.get_bind().dialect.name != "sqlite":
        stmt = stmt.with_for_update()
    return session.scalars(stmt).one_or_none()


# --------------------------------------------------------------------------- read side


def get_connection(container: Transactional, partner_id: str) -> Connection | None:
    """The partner's Zoho Books connection (detached), or None before the first Connect."""
    with container.uow() as uow:
        conn = _partner_connection(uow.session, partner_id)
        if conn is not None:
            uow.session.expunge(conn)
        return conn


def initial_sync_progress(container: Transactional, connection_id: str) -> dict[str, Any] | None:
    """The pull engine's progress report (`ledgersync.sync.pull.progress`), None if it failed."""
    try:
        with container.uow() as uow:
            return _progress_report(uow.session, connection_id)
    except Exception:  # the progress bar must never take the Integrations page down
        log.exception("integration.progress_failed connection=%s", connection_id)
        return None


# --------------------------------------------------------------------------- connect


def begin_connect(container: IntegrationPorts, partner_id: str) -> str:
    """Create (or reuse) the partner's connection, remember a fresh `state`; the consent URL."""
    state = f"{int(time.time())}.{secrets.token_urlsafe(32)}"
    with container.uow() as uow:
        conn = _partner_connection(uow.session, partner_id, lock=True)
        if conn is None:
            conn = Connection(partner_id=partner_id, provider=PROVIDER, status=ConnectionStatus.DISCONNECTED.value,
                              plan=container.settings.zoho_plan)
            uow.session.add(conn)
        conn.oauth_state = _hash_state(state)
        uow.commit()
    oauth = oauth_client(container, container.settings.zoho_accounts_url)
    return oauth.authorize_url(state, scopes=DEFAULT_SCOPES, prompt="consent", access_type="offline")


def _check_state(conn: Connection | None, state: str | None) -> None:
    if conn is None or not state or not conn.oauth_state:
        raise OAuthCallbackRefused("This authorization was not started here. Please click Connect again.")
    if not hmac.compare_digest(conn.oauth_state, _hash_state(state)):
        raise OAuthCallbackRefused("The authorization does not match your session. Please click Connect again.")
    issued, _, _ = state.partition(".")
    if not issued.isdigit() or time.time() - int(issued) > STATE_TTL:
        raise OAuthCallbackRefused("The authorization took too long. Please click Connect again.")


def complete_callback(container: IntegrationPorts, partner_id: str, params: Mapping[str, str]) -> CallbackOutcome:
    """Handle Zoho's redirect: check `state`, exchange the code at the callback's DC, store tokens.

    Then lists the user's organisations: with exactly one, it is chosen and the initial sync
    starts (status Pending); with several, the caller shows a chooser (`choose_organization`).
    """
    hosts = zoho_hosts(container)
    with container.uow() as uow:
        conn = _partner_connection(uow.session, partner_id, lock=True)
        _check_state(conn, params.get("state"))
        assert conn is not None
        conn.oauth_state = None  # single use, whatever happens next
        uow.commit()
        connection_id = conn.id
    if params.get("error"):
        raise OAuthCallbackRefused(
            "Access was not granted in Zoho Books." if params["error"] == "access_denied"
            else f"Zoho refused the authorization ({params['error']})."
        )
    code = params.get("code")
    if not code:
        raise OAuthCallbackRefused("Zoho did not send an authorization code. Please click Connect again.")
    try:
        accounts_server = hosts.trusted_accounts_server(params.get("location"), params.get("accounts-server"))
        oauth = oauth_client(container, accounts_server)
        tokens = oauth.exchange_code(code, accounts_server)
    except UnknownDataCentre as exc:
        raise OAuthCallbackRefused(f"Unknown Zoho data centre: {exc}") from exc
    except ZohoError as exc:
        raise OAuthCallbackRefused(f"Zoho refused the authorization code ({exc}). Please click Connect again.") from exc
    register_secret(tokens.access_token)
    register_secret(tokens.refresh_token)
    try:  # from here on Zoho has issued tokens: any failure before they are stored must revoke them
        old_refresh, old_server = _store_tokens(container, connection_id, hosts, accounts_server, tokens)
    except BaseException:
        _revoke_quietly(container, tokens.refresh_token or tokens.access_token, accounts_server)
        raise
    if old_refresh and old_refresh != tokens.refresh_token:
        _revoke_quietly(container, old_refresh, old_server)  # a reconnect must not leave a live old token

    orgs = list_organizations(container, partner_id)
    if not orgs:
        raise OAuthCallbackRefused("This Zoho account has no Zoho Books organisation.")
    if len(orgs) == 1:
        status = choose_organization(container, partner_id, orgs[0].organization_id, _orgs=orgs)
        return CallbackOutcome(connection_id, status)
    current = get_connection(container, partner_id)
    return CallbackOutcome(connection_id, current.status if current else "disconnected", True, orgs)


def _store_tokens(container: IntegrationPorts, connection_id: str, hosts: ZohoHosts, accounts_server: str,
                  tokens: TokenSet) -> tuple[str | None, str | None]:
    """Check and store a callback's fresh tokens; the previous (refresh token, accounts server).

    The previous refresh token is None when there was none or no configured key can decrypt it
    (a dropped key): then it cannot be revoked, but it no longer blocks the reconnect.
    """
    try:
        api_domain = hosts.trusted_api_domain(tokens.api_domain or hosts.api_domain(hosts.location_of(accounts_server)))
    except UnknownDataCentre as exc:
        raise OAuthCallbackRefused(f"Unknown Zoho data centre: {exc}") from exc
    if not tokens.refresh_token:
        raise OAuthCallbackRefused("Zoho gave no offline access (refresh token). Please click Connect again.")
    cipher = container.token_cipher
    with container.uow() as uow:
        conn = uow.session.get(Connection, connection_id)
        assert conn is not None
        old_refresh = _readable(cipher, conn.refresh_token_enc, connection_id)
        old_server = conn.accounts_server
        conn.access_token_enc = cipher.encrypt(tokens.access_token)
        conn.refresh_token_enc = cipher.encrypt(tokens.refresh_token)
        conn.token_expires_at = tokens.expires_at
        conn.token_version = (conn.token_version or 0) + 1
        # a refresh claimed for the old grant guards nothing now (its answer is not stored over
        # these tokens: `DbTokenProvider._store` compares the version); left live it would make
        # the next refresh of the new tokens wait for it to expire
        conn.token_refresh_claim = None
        conn.token_refresh_claim_until = None
        conn.accounts_server = accounts_server
        conn.api_domain = api_domain
        conn.data_center = hosts.location_of(accounts_server)
        conn.scopes = tokens.scope or ",".join(DEFAULT_SCOPES)
        uow.commit()
    return old_refresh, old_server


def _readable(cipher: TokenCipher, encrypted: str | None, connection_id: str) -> str | None:
    """The plaintext of a stored token, or None when absent or no configured key decrypts it."""
    if not encrypted:
        return None
    try:
        return str(cipher.decrypt(encrypted))
    except UndecryptableToken:
        log.warning("integration.token_undecryptable connection=%s", connection_id)
        return None


def _unbound_books(container: IntegrationPorts, connection_id: str, api_domain: str) -> ZohoBooks:
    return ZohoBooks(container.http, api_domain=api_domain, organization_id="",
                     tokens=DbTokenProvider(container, connection_id), timeout=container.settings.zoho_http_timeout_s)


def list_organizations(container: IntegrationPorts, partner_id: str) -> list[Organization]:
    """The Zoho Books organisations the stored authorization can see (`GET /organizations`)."""
    conn = get_connection(container, partner_id)
    if conn is None or conn.refresh_token_enc is None or not conn.api_domain:
        raise Conflict("Connect Zoho Books first.")
    books = _unbound_books(container, conn.id, conn.api_domain)
    # names no organisation: Zoho charges it to none (the sandbox neither), so it is not counted
    # in any organisation's budget (`sync.call_log`)
    body = books.get("/organizations", priority="push")
    return [
        Organization(
            organization_id=str(o["organization_id"]),
            name=str(o.get("name") or o["organization_id"]),
            currency_code=o.get("currency_code"),
            is_default=bool(o.get("is_default_org")),
        )
        for o in body.get("organizations", [])
    ]


def choose_organization(
    container: IntegrationPorts, partner_id: str, organization_id: str, *, _orgs: list[Organization] | None = None
) -> str:
    """Bind the connection to one organisation; Pending + initial sync (or back to Connected).

    Re-consenting for the organisation whose initial sync already finished goes straight back to
    Connected; a new organisation resets the sync state and account mapping.
    """
    orgs = _orgs if _orgs is not None else list_organizations(container, partner_id)
    chosen = next((o for o in orgs if o.organization_id == str(organization_id)), None)
    if chosen is None:
        raise InvalidInput("organization_id", "That organisation is not available to this Zoho account.")
    start_sync = False
    with container.uow() as uow:
        conn = _partner_connection(uow.session, partner_id, lock=True)
        if conn is None or conn.refresh_token_enc is None:
            raise Conflict("Connect Zoho Books first.")
        same_org = conn.organization_id == chosen.organization_id
        if same_org and conn.initial_sync_phase == "done" and can(conn.status, ConnectionEvent.REAUTHORIZE):
            set_status(conn, ConnectionEvent.REAUTHORIZE)
        else:
            if not same_org:
                uow.session.execute(delete(SyncCursor).where(SyncCursor.connection_id == conn.id))
                conn.initial_sync_phase = None
                for col in ("undeposited", "bank", "fees", "income"):
                    setattr(conn, f"{col}_account_id", None)
                    setattr(conn, f"{col}_account_name", None)
            set_status(conn, ConnectionEvent.AUTHORIZE)
            start_sync = True
        conn.organization_id = chosen.organization_id
        conn.organization_name = chosen.name
        conn.currency_code = chosen.currency_code
        conn.status_detail = None
        uow.commit()
        connection_id, status = conn.id, conn.status
    log.info("integration.organization_chosen partner=%s connection=%s status=%s", partner_id, connection_id, status)
    if start_sync:
        _start_initial_sync(container, connection_id)
    _wake_waiting_pushes(container, partner_id)
    return status


def _wake_waiting_pushes(container: Dispatching, partner_id: str) -> None:
    """Payments parked as `waiting` (not connected, token revoked, accounts missing) go out now.

    Found in QA: after a reconnect the waiting pushes sat until the scheduled safety-net drain
    (minutes later) although the partner had just fixed the cause.
    """
    outbox.notify(container, partner_id)


def _start_initial_sync(container: IntegrationPorts, connection_id: str) -> None:
    """Hand over to the pull engine (phase `recent`, then a pull requested from the dispatcher)."""
    start_initial_sync(container, connection_id)


# --------------------------------------------------------------------------- status changes


def mark_connected(target: Session | Transactional, connection_id: str) -> bool:
    """The initial sync finished: Pending → Connected. False (and no change) if not allowed."""
    return _apply(target, lambda s: connection_status.mark_connected(s, connection_id))


def mark_error(target: Session | Transactional, connection_id: str, detail: str) -> bool:
    """A sync cannot run (not a per-record problem): show Error with `detail` (what to do next)."""
    return _apply(target, lambda s: connection_status.mark_error(s, connection_id, detail))


def mark_recovered(target: Session | Transactional, connection_id: str) -> bool:
    """A sync succeeded again after an Error: back to Connected (or Pending if never finished)."""
    return _apply(target, lambda s: connection_status.mark_recovered(s, connection_id))


# --------------------------------------------------------------------------- accounts


def _options(rows: list[dict[str, Any]], types: set[str]) -> list[AccountOption]:
    opts = [
        AccountOption(str(r["account_id"]), str(r.get("account_name") or ""), str(r.get("account_type") or ""))
        for r in rows
        if r.get("account_type") in types and r.get("is_active", True) is not False
    ]
    return sorted(opts, key=lambda o: o.name.lower())


def _pick(options: list[AccountOption], current: str | None, preferred_name: str | None) -> str | None:
    ids = {o.account_id for o in options}
    if current and current in ids:
        return current
    if preferred_name:
        for o in options:
            if o.name.lower() == preferred_name.lower():
                return o.account_id
    return None


def account_choices(container: IntegrationPorts, partner_id: str) -> AccountChoices:
    """Dropdowns from Zoho's chart of accounts; saved values, else sensible defaults, pre-selected."""
    conn = get_connection(container, partner_id)
    # a disconnected connection keeps its organisation but has no tokens: Zoho cannot be asked
    if conn is None or not conn.organization_id or conn.refresh_token_enc is None or not conn.api_domain:
        raise Conflict("Connect Zoho Books first.")
    books = container.books_factory(container, conn.id)
    rows: list[dict[str, Any]] = []
    with counted_calls(container, conn.id, "accounts", books):
        for page in books.paginate("/chartofaccounts", "chartofaccounts", {"filter_by": "AccountType.All"},
                                   priority="push"):
            rows.extend(page.records)
    undeposited = _options(rows, {"cash", "bank", "other_current_asset"})
    bank = _options(rows, {"bank"})
    fees = _options(rows, {"expense", "other_expense", "cost_of_goods_sold"})
    income = _options(rows, {"income", "other_income"})
    return AccountChoices(
        undeposited=undeposited,
        bank=bank,
        fees=fees,
        selected_undeposited=_pick(undeposited, conn.undeposited_account_id, "Undeposited Funds"),
        selected_bank=_pick(bank, conn.bank_account_id, None) or (bank[0].account_id if len(bank) == 1 else None),
        selected_fees=_pick(fees, conn.fees_account_id, "Bank Fees and Charges"),
        income=income,
        # Zoho's default chart names its income account "Sales"; the only one when there is one
        selected_income=_pick(income, conn.income_account_id, "Sales") or (income[0].account_id if len(income) == 1 else None),
    )


def save_accounts(
    container: IntegrationPorts, partner_id: str, *, undeposited_account_id: str, bank_account_id: str, fees_account_id: str,
    income_account_id: str | None = None,
) -> Connection:
    """Store the account mapping after checking each id against the live chart of accounts.

    `income_account_id` is where stand-alone deposits come from (their "from" account in Zoho);
    not given, the pre-selected default (Sales) is kept, or none when the chart has no choice."""
    choices = account_choices(container, partner_id)

    def find(options: list[AccountOption], account_id: str, field: str, what: str) -> AccountOption:
        for o in options:
            if o.account_id == account_id:
                return o
        raise InvalidInput(field, f"Choose a valid {what}.")

    und = find(choices.undeposited, undeposited_account_id, "undeposited_account_id", "account for undeposited funds")
    bank = find(choices.bank, bank_account_id, "bank_account_id", "payout bank account")
    fees = find(choices.fees, fees_account_id, "fees_account_id", "fees account")
    income_id = income_account_id or choices.selected_income
    income = find(choices.income, income_id, "income_account_id", "income account") if income_id else None
    with container.uow() as uow:
        conn = _partner_connection(uow.session, partner_id, lock=True)
        if conn is None:
            raise NotFound("connection", PROVIDER)
        conn.undeposited_account_id, conn.undeposited_account_name = und.account_id, und.name
        conn.bank_account_id, conn.bank_account_name = bank.account_id, bank.name
        conn.fees_account_id, conn.fees_account_name = fees.account_id, fees.name
        conn.income_account_id = income.account_id if income else None
        conn.income_account_name = income.name if income else None
        uow.commit()
        uow.session.expunge(conn)
    log.info("integration.accounts_saved partner=%s connection=%s", partner_id, conn.id)
    _wake_waiting_pushes(container, partner_id)
    return conn


# --------------------------------------------------------------------------- disconnect


def _revoke_quietly(container: IntegrationPorts, refresh_token: str, accounts_server: str | None) -> bool:
    try:
        oauth_client(container, accounts_server).revoke(refresh_token, accounts_server)
        return True
    except ZohoReauthorizationRequired:
        return True  # already dead at Zoho
    except ZohoError as exc:
        log.warning("integration.revoke_failed error=%s", type(exc).__name__)
        return False


def disconnect(container: IntegrationPorts, partner_id: str) -> bool:
    """Revoke the refresh token at Zoho, clear the tokens, status Disconnected.

    Returns whether Zoho confirmed the revocation (the local tokens are cleared either way, so
    nothing of ours can use them again; the partner may also remove the app in Zoho).
    """
    cipher = container.token_cipher
    with container.uow() as uow:
        conn = _partner_connection(uow.session, partner_id, lock=True)
        if conn is None:
            raise NotFound("connection", PROVIDER)
        refresh = _readable(cipher, conn.refresh_token_enc, conn.id)
        lost = conn.refresh_token_enc is not None and refresh is None  # undecryptable: cannot be revoked
        server = conn.accounts_server
        if conn.status != ConnectionStatus.DISCONNECTED.value:
            set_status(conn, ConnectionEvent.DISCONNECT)
        conn.access_token_enc = None
        conn.refresh_token_enc = None
        conn.token_expires_at = None
        conn.token_version = (conn.token_version or 0) + 1
        conn.oauth_state = None
        conn.initial_sync_phase = None
        uow.commit()
        connection_id = conn.id
    revoked = _revoke_quietly(container, refresh, server) if refresh else not lost
    log.info("integration.disconnected partner=%s connection=%s revoked=%s", partner_id, connection_id, revoked)
    return revoked
