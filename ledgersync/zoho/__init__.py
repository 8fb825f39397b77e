"""The Zoho Books adapter: OAuth, a client over httpx, pagination, rate limiter, retries,
typed errors and pydantic models of Zoho payloads. See docs/CONTRACTS.md ("Zoho adapter")."""
from .client import CallRecord, ZohoBooks, dumps_decimal, loads_decimal
from .dc import DATA_CENTRES, DataCentre, UnknownDataCentre, ZohoHosts, books_base_url
from .errors import (
    BudgetExhausted,
    ZohoAPIError,
    ZohoAuthError,
    ZohoError,
    ZohoNotFound,
    ZohoOAuthError,
    ZohoPagingLoop,
    ZohoRateLimited,
    ZohoReauthorizationRequired,
    ZohoRejected,
    ZohoScopeError,
    ZohoServerError,
    ZohoTransportError,
)
from .models import (
    ZohoAccount,
    ZohoBankTransaction,
    ZohoContact,
    ZohoCustomerPayment,
    ZohoInvoice,
    ZohoInvoiceSummary,
    ZohoLineItem,
    ZohoOrganization,
    format_zoho_timestamp,
    parse_zoho_timestamp,
)
from .oauth import DEFAULT_SCOPES, TokenSet, ZohoOAuth
from .paging import Page, RecordError, ZohoPagePaginator
from .ratelimit import (
    DEFAULT_BURST,
    DEFAULT_RESERVES,
    BudgetStatus,
    Decision,
    MemoryRateLimiter,
    RateLimiter,
    RedisRateLimiter,
    Reserve,
    reserves_for,
)
from .tokens import (
    RedactingFilter,
    RefreshingTokenProvider,
    StaticTokenProvider,
    TokenCipher,
    TokenProvider,
    redact,
    register_secret,
)

__all__ = [name for name in dir() if not name.startswith("_")]
