"""Pytest plugin: the Zoho Books sandbox in-process, and a partner connected to it for real.

Loaded from `tests/conftest.py`. Fixtures (override `sandbox_config` in your conftest to tune
the sandbox, e.g. no demo bulk data, a manual clock, faults):

- `sandbox_config` — `SandboxConfig(base_url="http://127.0.0.1:8900", demo=True,
  time_scale=ZOHO_TIME_SCALE)`: a Zoho minute lasts one real second, so rate limits reset fast.
- `sandbox_app` — the sandbox ASGI app (demo user, client and organisations seeded);
  `sandbox` — its live state (`sandbox_app.state.sandbox`), to act as the Zoho user.
- Any test that uses both `container` and `sandbox_app` (directly or through another fixture)
  has the container's HTTP client going through `SandboxTransport(sandbox_app)` (no sockets);
  `sandbox_http_factory` gives more such clients, `bind_container_to_sandbox(container, app)`
  binds another container.
- `zoho_rate_limiter` — the container's per-organisation limiter scaled like the sandbox clock
  (installed as `container.rate_limiter`).
- `connected_connection` — runs the REAL OAuth flow for `partner`: consent URL from
  `begin_connect`, POST of the sandbox's consent form as the demo Zoho user (US demo org
  `700000001`), the redirect's query handed to `complete_callback` (state check, code exchange
  at the callback's accounts server, encrypted tokens, organisation chosen, initial sync
  started), then Set Up Accounts with the defaults (Undeposited Funds, the bank account,
  Bank Fees and Charges). Returns the detached `Connection` row. Its status is whatever the flow
  set (Pending, until the pull engine's initial sync has run).
- `connect_partner(container, partner_id, *, organization_id="700000001", setup_accounts=True)`
  — the same flow as a plain function, for a second partner or the EU organisation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from ledgersync.bootstrap import Container
from ledgersync.store import orm

ZOHO_TIME_SCALE = 60.0
SANDBOX_BASE_URL = "http://127.0.0.1:8900"
DEMO_ZOHO_EMAIL = "demo@zylker.test"
DEMO_ZOHO_PASSWORD = "zoho-demo-1234"
DEMO_US_ORG = "700000001"
DEMO_EU_ORG = "700000002"


@pytest.fixture
def sandbox_config() -> Any:
    from zohobooks_sandbox import SandboxConfig

    return SandboxConfig(base_url=SANDBOX_BASE_URL, demo=True, time_scale=ZOHO_TIME_SCALE)


@pytest.fixture
def sandbox_app(sandbox_config: Any, request: pytest.FixtureRequest) -> Any:
    """The in-process sandbox; a test that also uses `container` gets it bound to this sandbox.

    (A fixture of `tests/conftest.py` shadows one of the same name from this plugin, so the
    binding is done here rather than by overriding core's `http_factory`.)
    """
    from zohobooks_sandbox import create_app

    app = create_app(sandbox_config)
    if "container" in request.fixturenames:
        bind_container_to_sandbox(request.getfixturevalue("container"), app)
    return app


def sandbox_client(sandbox_app: Any) -> httpx.Client:
    """An httpx client whose requests are served by `sandbox_app` in-process."""
    from zohobooks_sandbox import SandboxTransport

    return httpx.Client(transport=SandboxTransport(sandbox_app), timeout=30.0, follow_redirects=False)


def bind_container_to_sandbox(container: Container, sandbox_app: Any) -> None:
    """Route the container's Zoho HTTP client through the in-process sandbox."""
    if container._http is not None:
        container._http.close()
        container._http = None
    container._http_factory = lambda: sandbox_client(sandbox_app)


@pytest.fixture
def sandbox(sandbox_app: Any) -> Any:
    return sandbox_app.state.sandbox


@pytest.fixture
def sandbox_http_factory(sandbox_app: Any) -> Callable[[], httpx.Client]:
    """A factory of sandbox-bound clients (for a second Container, a bench, a thread)."""
    return lambda: sandbox_client(sandbox_app)


@pytest.fixture
def zoho_rate_limiter(container: Container, sandbox_config: Any) -> Any:
    """The container's limiter with Zoho's minute and day scaled like the sandbox clock."""
    from ledgersync.zoho.ratelimit import MemoryRateLimiter

    scale = float(getattr(sandbox_config, "time_scale", 1.0) or 1.0)
    limiter = MemoryRateLimiter(per_minute=100, window_seconds=60.0 / scale, daily_limit=10_000,
                                day_seconds=86_400.0 / scale)
    container.settings.zoho_window_seconds = 60.0 / scale
    container.rate_limiter = limiter
    return limiter


def consent_redirect(http: httpx.Client, authorize_url: str, *, organization_id: str = DEMO_US_ORG,
                     email: str = DEMO_ZOHO_EMAIL, password: str = DEMO_ZOHO_PASSWORD,
                     action: str = "accept") -> dict[str, str]:
    """Act as the Zoho user on the sandbox consent page; the query of Zoho's redirect back."""
    page = http.get(authorize_url)
    assert page.status_code == 200, page.text[:300]
    query = dict(parse_qsl(urlsplit(authorize_url).query))
    form = {**query, "email": email, "password": password, "organization_id": organization_id, "action": action}
    answer = http.post(authorize_url.split("?", 1)[0], data=form)
    assert answer.status_code in (302, 303), answer.text[:300]
    location = answer.headers["location"]
    return dict(parse_qsl(urlsplit(location).query))


def connect_partner(container: Container, partner_id: str, *, organization_id: str = DEMO_US_ORG,
                    setup_accounts: bool = True) -> orm.Connection:
    """The real connect flow, programmatically (see module docstring)."""
    from ledgersync.services import integration

    url = integration.begin_connect(container, partner_id)
    params = consent_redirect(container.http, url, organization_id=organization_id)
    integration.complete_callback(container, partner_id, params)
    if setup_accounts:
        choices = integration.account_choices(container, partner_id)
        assert choices.selected_undeposited and choices.selected_fees and choices.bank, choices
        integration.save_accounts(
            container,
            partner_id,
            undeposited_account_id=choices.selected_undeposited,
            bank_account_id=choices.selected_bank or choices.bank[0].account_id,
            fees_account_id=choices.selected_fees,
        )
    conn = integration.get_connection(container, partner_id)
    assert conn is not None
    return conn


@pytest.fixture
def connected_connection(container: Container, partner: orm.Partner, sandbox_app: Any,
                         zoho_rate_limiter: Any) -> Iterator[orm.Connection]:
    yield connect_partner(container, partner.id)
