"""Every table of ledgersync, in one place, SQLAlchemy 2 declarative.

Three groups:
- the payments platform's own model (partners, users, API keys, customers, invoices with line
  items, payments and their allocations, payouts);
- the integration (one connection per partner and provider, encrypted tokens, account mapping,
  the mapping between platform ids and Zoho ids);
- the sync engine's durable state (stream cursors with run leases, run log, per-record errors,
  the push outbox, webhook dedupe, cached PDFs).

Money columns are `MoneyType` (exact integer cents); every row that belongs to a partner carries
`partner_id` so every query can be scoped to one partner.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy import (
    false as sa_false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from ledgersync.domain.invoices import STANDING_LABELS, settlement_status
from ledgersync.store.types import ExactDecimal, MoneyType, UTCDateTime


def new_id() -> str:
    """A random 32-hex id; stable, opaque, safe in URLs and Zoho reference numbers."""
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON}


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


# --------------------------------------------------------------------------- platform


class Partner(Timestamped, Base):
    __tablename__ = "partners"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    base_currency: Mapped[str] = mapped_column(String(3), default="USD")


class User(Timestamped, Base):
    __tablename__ = "users"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(300))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class ApiKey(Timestamped, Base):
    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    prefix: Mapped[str] = mapped_column(String(16), unique=True)  # shown to humans, looked up
    key_hash: Mapped[str] = mapped_column(String(128))  # sha256 of the whole key
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class UserSession(Base):
    """A dashboard login, server side: the cookie holds only a random token whose SHA-256 is `id`.

    Deleting the row ends every copy of the cookie (logout, password change); `created_at` and
    `last_seen_at` enforce the absolute and idle lifetimes.
    """

    __tablename__ = "user_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LoginFailure(Base):
    """One refused login (for throttling per account and per address); pruned after the window."""

    __tablename__ = "login_failures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Customer(Timestamped, Base):
    __tablename__ = "customers"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    currency_code: Mapped[str] = mapped_column(String(3), default="USD")
    origin: Mapped[str] = mapped_column(String(16), default="platform")  # platform | zoho
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    archived_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)


class Invoice(Timestamped, Base):
    __tablename__ = "invoices"
    __table_args__ = (
        Index("ix_invoices_partner_status", "partner_id", "status", "archived"),
        # platform invoice numbers are unique per partner (Zoho numbers its own invoices)
        Index("uq_invoices_partner_platform_number", "partner_id", "number", unique=True,
              postgresql_where=text("origin = 'platform'"), sqlite_where=text("origin = 'platform'")),
    )
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    number: Mapped[str] = mapped_column(String(100))
    currency_code: Mapped[str] = mapped_column(String(3), default="USD")
    exchange_rate: Mapped[Decimal] = mapped_column(ExactDecimal, default=Decimal("1"))
    issue_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    total: Mapped[Decimal] = mapped_column(MoneyType)
    outstanding: Mapped[Decimal] = mapped_column(MoneyType)
    # how Zoho settled the rest (payments, credit notes, write-off); zero on platform invoices,
    # whose payments are the platform's own (total - outstanding)
    paid_amount: Mapped[Decimal] = mapped_column(MoneyType, default=Decimal("0.00"), server_default="0")
    credited_amount: Mapped[Decimal] = mapped_column(MoneyType, default=Decimal("0.00"), server_default="0")
    written_off_amount: Mapped[Decimal] = mapped_column(MoneyType, default=Decimal("0.00"), server_default="0")
    # draft | open | overdue | partially_paid | paid | void | written_off
    status: Mapped[str] = mapped_column(String(20), default="open")
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    archived_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    origin: Mapped[str] = mapped_column(String(16), default="platform")  # platform | zoho
    line_items_synced: Mapped[bool] = mapped_column(Boolean, default=True)
    line_items: Mapped[list[InvoiceLineItem]] = relationship(
        back_populates="invoice", cascade="all, delete-orphan", order_by="InvoiceLineItem.position"
    )

    @property
    def settlement_status(self) -> str:
        """collected / credited / written_off / partially_paid / … (`domain.invoices.settlement_status`)."""
        zero = Decimal("0")
        return settlement_status(self.status, self.total, self.outstanding, self.paid_amount or zero,
                                 self.credited_amount or zero)

    @property
    def settlement_label(self) -> str:
        standing = self.settlement_status
        return STANDING_LABELS.get(standing, standing.replace("_", " ").capitalize())


class InvoiceLineItem(Base):
    __tablename__ = "invoice_line_items"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal)
    rate: Mapped[Decimal] = mapped_column(ExactDecimal)
    amount: Mapped[Decimal] = mapped_column(MoneyType)
    tax_amount: Mapped[Decimal] = mapped_column(MoneyType, default=Decimal("0"))
    zoho_line_item_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    invoice: Mapped[Invoice] = relationship(back_populates="line_items")


class Payout(Timestamped, Base):
    __tablename__ = "payouts"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    currency_code: Mapped[str] = mapped_column(String(3), default="USD")
    gross: Mapped[Decimal] = mapped_column(MoneyType)
    fees: Mapped[Decimal] = mapped_column(MoneyType)
    net: Mapped[Decimal] = mapped_column(MoneyType)
    status: Mapped[str] = mapped_column(String(20), default="paid")  # pending | paid
    arrival_date: Mapped[date] = mapped_column(Date)


class Payment(Timestamped, Base):
    __tablename__ = "payments"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(MoneyType)
    currency_code: Mapped[str] = mapped_column(String(3), default="USD")
    method: Mapped[str] = mapped_column(String(16), default="card")  # card | ach
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|succeeded|failed
    fee: Mapped[Decimal] = mapped_column(MoneyType, default=Decimal("0"))
    failure_reason: Mapped[str | None] = mapped_column(String(300), nullable=True)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    payout_id: Mapped[str | None] = mapped_column(ForeignKey("payouts.id"), nullable=True, index=True)
    allocations: Mapped[list[PaymentAllocation]] = relationship(
        back_populates="payment", cascade="all, delete-orphan"
    )


class PaymentAllocation(Base):
    """How much of a payment goes to which invoice (a payment may span several invoices)."""

    __tablename__ = "payment_allocations"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    payment_id: Mapped[str] = mapped_column(ForeignKey("payments.id", ondelete="CASCADE"), index=True)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(MoneyType)
    payment: Mapped[Payment] = relationship(back_populates="allocations")


# --------------------------------------------------------------------------- integration


class Connection(Timestamped, Base):
    """A partner's link to one Zoho Books organisation.

    status: disconnected | pending | connected | error | reauth_required
    Tokens are Fernet-encrypted (`*_enc`); `token_version` and the refresh claim make refresh a
    compare-and-swap so many workers refresh once, with no lock held across the Zoho call.
    """

    __tablename__ = "connections"
    __table_args__ = (UniqueConstraint("partner_id", "provider"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    provider: Mapped[str] = mapped_column(String(32), default="zoho_books")
    status: Mapped[str] = mapped_column(String(24), default="disconnected")
    status_detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    oauth_state: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    organization_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    organization_name: Mapped[str | None] = mapped_column(String(300), nullable=True)
    currency_code: Mapped[str | None] = mapped_column(String(3), nullable=True)
    data_center: Mapped[str | None] = mapped_column(String(8), nullable=True)
    accounts_server: Mapped[str | None] = mapped_column(String(300), nullable=True)
    api_domain: Mapped[str | None] = mapped_column(String(300), nullable=True)
    scopes: Mapped[str | None] = mapped_column(Text, nullable=True)
    access_token_enc: Mapped[str | None] = mapped_column(Text, nullable=True)
    refresh_token_enc: Mapped[str | None] = mapped_column(Text, nullable=True)
    token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    token_version: Mapped[int] = mapped_column(Integer, default=0)
    #: a worker refreshing the access token (outside any transaction) claims it here until
    #: `token_refresh_claim_until`; others wait for its token, and supersede it once expired
    token_refresh_claim: Mapped[str | None] = mapped_column(String(32), nullable=True)
    token_refresh_claim_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    plan: Mapped[str] = mapped_column(String(16), default="premium")
    # Set Up Accounts
    undeposited_account_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    undeposited_account_name: Mapped[str | None] = mapped_column(String(300), nullable=True)
    bank_account_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    bank_account_name: Mapped[str | None] = mapped_column(String(300), nullable=True)
    fees_account_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    fees_account_name: Mapped[str | None] = mapped_column(String(300), nullable=True)
    #: where a stand-alone deposit's money comes from (an income account, e.g. Sales)
    income_account_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    income_account_name: Mapped[str | None] = mapped_column(String(300), nullable=True)
    # initial sync lifecycle: recent (last 12 months) -> history -> done
    initial_sync_phase: Mapped[str | None] = mapped_column(String(16), nullable=True)
    connected_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    webhook_token: Mapped[str] = mapped_column(String(64), default=new_id)
    #: moved on by "Rotate secret": the webhook secret is derived from the token and this
    #: (`domain.webhook_auth`), so the old secret stops matching and nothing secret is stored
    webhook_secret_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: the last delivery the webhook URL received and what became of it (`DeliveryOutcome`)
    webhook_last_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    webhook_last_outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)


class ExternalRef(Base):
    """Platform id <-> Zoho id for one connection and entity type (customer, invoice, ...)."""

    __tablename__ = "external_refs"
    __table_args__ = (
        UniqueConstraint("connection_id", "entity", "zoho_id"),
        UniqueConstraint("connection_id", "entity", "local_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    connection_id: Mapped[str] = mapped_column(ForeignKey("connections.id"), index=True)
    entity: Mapped[str] = mapped_column(String(32))  # customer|invoice|payment|payout|deposit...
    local_id: Mapped[str] = mapped_column(String(32))
    zoho_id: Mapped[str] = mapped_column(String(40))
    zoho_last_modified: Mapped[str | None] = mapped_column(String(40), nullable=True)
    details_synced_at: Mapped[str | None] = mapped_column(String(40), nullable=True)
    #: the invoice's line items may have changed since `details_synced_at` (new, or a list-row
    #: field that line items determine moved: `pull_rules.detail_call_reason`): the details
    #: stream reads it this hour; other modifications wait for the daily sweep
    details_due: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


# --------------------------------------------------------------------------- sync state


class SyncCursor(Base):
    """A stream's durable bookmark for one connection, plus the lease that keeps runs single."""

    __tablename__ = "sync_cursors"
    connection_id: Mapped[str] = mapped_column(ForeignKey("connections.id"), primary_key=True)
    stream: Mapped[str] = mapped_column(String(48), primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class SyncRun(Base):
    __tablename__ = "sync_runs"
    __table_args__ = (Index("ix_sync_runs_conn_started", "connection_id", "started_at"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    connection_id: Mapped[str] = mapped_column(ForeignKey("connections.id"))
    stream: Mapped[str] = mapped_column(String(48))
    trigger: Mapped[str] = mapped_column(String(16), default="schedule")  # schedule|manual|webhook|initial
    status: Mapped[str] = mapped_column(String(16), default="running")  # running|succeeded|partial|failed
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    archived: Mapped[int] = mapped_column(Integer, default=0)
    calls: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)


class SyncError(Base):
    """A per-record problem (bad data from Zoho, a refused push); retried by the next run."""

    __tablename__ = "sync_errors"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    connection_id: Mapped[str] = mapped_column(ForeignKey("connections.id"), index=True)
    run_id: Mapped[str | None] = mapped_column(ForeignKey("sync_runs.id"), nullable=True)
    stream: Mapped[str] = mapped_column(String(48))
    zoho_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    local_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class PushIntent(Base):
    """The outbox: one row per write to Zoho, with a stable idempotency key.

    kind: payment | deposit | standalone_deposit | payment_reversal
    state: pending | in_flight | uncertain | done | waiting | failed
    """

    __tablename__ = "push_intents"
    __table_args__ = (Index("ix_push_intents_due", "state", "next_attempt_at"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    connection_id: Mapped[str | None] = mapped_column(ForeignKey("connections.id"), nullable=True, index=True)
    kind: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(32), index=True)  # payment or payout id
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Fencing token: +1 at every claim; a worker writes (and sends to Zoho) only while it holds it.
    fence: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # A write attempt may be on its way to Zoho until then: nobody takes the intent over before.
    write_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    zoho_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class WebhookEvent(Base):
    """Deduplication of at-least-once webhook deliveries."""

    __tablename__ = "webhook_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    connection_id: Mapped[str] = mapped_column(ForeignKey("connections.id"), index=True)
    event_key: Mapped[str] = mapped_column(String(200), unique=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class InvoicePdf(Base):
    """Cached Zoho PDF of an invoice, valid while Zoho's last_modified_time is unchanged."""

    __tablename__ = "invoice_pdfs"
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), primary_key=True)
    zoho_last_modified: Mapped[str | None] = mapped_column(String(40), nullable=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConnectionAlert(Base):
    """One incident of a connection (reauthorization needed, failing syncs, stale record errors):
    opened once, closed once; `notified_at` / `resolved_notified_at` say the e-mails went out."""

    __tablename__ = "connection_alerts"
    __table_args__ = (Index("ix_connection_alerts_open", "connection_id", "resolved_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    connection_id: Mapped[str] = mapped_column(ForeignKey("connections.id"))
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolved_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class StaffUser(Base):
    """An operator of the deployment (not a partner user: sees every connection, no partner data
    pages). Created by `ledgersync create-staff`; password hashed like partner users'."""

    __tablename__ = "staff_users"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StaffSession(Base):
    """A staff login, server-side (the cookie holds a random token; its SHA-256 is the key)."""

    __tablename__ = "staff_sessions"
    token_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
