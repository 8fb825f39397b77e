"""The `ledgersync` command line (Typer).

`ledgersync run` is the newcomer's one command: migrate, seed the demo partner, start the
embedded Zoho Books sandbox (when `LEDGERSYNC_ZOHO_SANDBOX` is true, the default), the
dashboard and the embedded scheduler — all in one process, no other service needed.

This package is the ONLY place the product imports `zohobooks_sandbox`, and only to launch it
(the import-linter contract "Only the CLI launches the sandbox" in pyproject.toml says so).
What the commands print lives in `ledgersync.cli.reports`.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
import uvicorn
from rich.console import Console

from ledgersync.bootstrap import Container
from ledgersync.settings import Settings, UnsafeConfiguration, get_settings
from ledgersync.workers.embedded import start_embedded

if TYPE_CHECKING:
    from fastapi import FastAPI

    from zohobooks_sandbox.state import Sandbox

app = typer.Typer(help="ledgersync: Zoho Books integration of the payments platform.", no_args_is_help=True)
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

# Commands that neither read tokens nor serve anyone: they run whatever the mode.
_UNCHECKED_COMMANDS = {"sandbox", "migrate"}


@app.callback()
def _refuse_unsafe_configuration(ctx: typer.Context) -> None:
    """Production mode with a demo, missing or too short secret: one sentence, exit 2, nothing started."""
    if ctx.invoked_subcommand in _UNCHECKED_COMMANDS:
        return
    try:
        get_settings().require_safe()
    except UnsafeConfiguration as exc:
        err_console.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(2) from exc

SANDBOX_HOST = "127.0.0.1"


def _sandbox_app(port: int, persist: str | None) -> FastAPI:
    """The sandbox's ASGI app; its live `Sandbox` is `app.state.sandbox` (see `_sandbox_of`)."""
    from zohobooks_sandbox import SandboxConfig, create_app

    config = SandboxConfig(base_url=f"http://{SANDBOX_HOST}:{port}", demo=True, persist_path=persist)
    return create_app(config)


def _sandbox_of(sandbox_app: FastAPI) -> Sandbox:
    sandbox: Sandbox = sandbox_app.state.sandbox  # set by zohobooks_sandbox.create_app
    return sandbox


def _print_sandbox(port: int) -> None:
    from zohobooks_sandbox.demo import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_EMAIL, DEMO_EU_ORG, DEMO_PASSWORD, DEMO_US_ORG

    base = f"http://{SANDBOX_HOST}:{port}"
    console.print(f"[bold]Zoho Books sandbox[/bold] on [link={base}]{base}[/link]")
    console.print(f"  OAuth:      {base}/oauth/v2/auth   token: {base}/oauth/v2/token")
    console.print(f"  Books API:  {base}/books/v3   (EU data centre: {base}/eu/books/v3)")
    console.print(f"  Admin:      {base}/_sandbox/   API docs: {base}/docs")
    console.print(f"  Zoho user:  {DEMO_EMAIL} / {DEMO_PASSWORD}")
    console.print(f"  OAuth client: {DEMO_CLIENT_ID} / {DEMO_CLIENT_SECRET}")
    console.print(f"  Organisations: {DEMO_US_ORG} (US, seeded), {DEMO_EU_ORG} (EU)")


class _ServerThread(threading.Thread):
    """A uvicorn server in a background thread (its own event loop; no signal handlers)."""

    def __init__(self, asgi_app: Any, port: int, *, host: str = SANDBOX_HOST, log_level: str = "warning") -> None:
        super().__init__(daemon=True, name=f"uvicorn-{port}")
        self.server = uvicorn.Server(uvicorn.Config(asgi_app, host=host, port=port, log_level=log_level,
                                                    access_log=False, lifespan="on"))

    def run(self) -> None:
        self.server.run()

    def wait_started(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"server on {self.server.config.port} did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.join(timeout=10)


class DemoWebhooks(threading.Thread):
    """Demo only: the embedded sandbox's Zoho user adds the workflow-rule webhook for each connection.

    With real Zoho a partner configures the webhook once in Zoho Books (Settings → Automation →
    Webhooks); in the demo nobody would, so edits made as the Zoho user on the sandbox admin page
    would only show after "Sync now" or the hourly run. This thread registers, in the sandbox,
    `{base_url}/webhooks/zoho/{connection.webhook_token}` with the connection's secret header for every
    live connection to one of its organisations (once; registrations persist with the sandbox),
    so the demo shows Zoho-side changes within seconds, as the pull engine's webhook path allows.
    """

    MODULES = ["invoice", "contact", "customerpayment", "creditnote"]

    def __init__(self, sandbox: Sandbox, container: Container, *, interval: float = 2.0) -> None:
        super().__init__(daemon=True, name="demo-webhooks")
        self.sandbox, self.container, self.interval = sandbox, container, interval
        self._stop_event = threading.Event()

    def sync_once(self) -> int:
        """Register missing webhooks; how many were added."""
        from sqlalchemy import select

        from ledgersync.domain.webhook_auth import SECRET_HEADER, connection_webhook_secret
        from ledgersync.store.orm import Connection
        from zohobooks_sandbox.webhooks import WebhookSpec

        settings = self.container.settings
        with self.container.uow() as uow:
            rows = uow.session.execute(select(Connection.organization_id, Connection.webhook_token,
                                              Connection.webhook_secret_generation).where(
                Connection.status.in_(("pending", "connected", "error")),
                Connection.organization_id.is_not(None))).all()
        added = 0
        for org_id, token, generation in rows:
            if org_id not in self.sandbox.orgs:
                continue  # a real Zoho organisation, not the sandbox's
            url = f"{settings.base_url.rstrip('/')}/webhooks/zoho/{token}"
            headers = {SECRET_HEADER: connection_webhook_secret(settings.webhook_secret.get_secret_value(), token,
                                                                generation)}
            registered = [h for h in self.sandbox.webhooks.list(org_id) if h.url == url]
            if any(h.headers == headers for h in registered):
                continue
            for stale in registered:  # made with an older secret (deployment secret changed, rotated, older release)
                self.sandbox.webhooks.unregister(stale.webhook_id)
            self.sandbox.webhooks.register(org_id, WebhookSpec(
                url=url, modules=self.MODULES, events=["create", "update", "delete"], headers=headers))
            added += 1
        return added

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            try:
                self.sync_once()
            except Exception:  # the demo convenience must never take the process down
                logging.getLogger(__name__).exception("demo webhook registration failed")

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)


def _start_scheduler(container: Container) -> Any:
    """The process's dispatcher: the embedded scheduler (demo), or with `SCHEDULER=celery` the
    Celery dispatcher (webhooks, Pay, Settle, Sync now and Reconnect enqueue tasks by id for the
    deployment's workers; the Zoho budget is shared through Redis). `off`: nothing."""
    if container.settings.scheduler == "celery":
        from ledgersync.workers.tasks import install_celery

        install_celery(container)
        return None
    if container.settings.scheduler != "embedded":
        return None
    return start_embedded(container)


def _stop(obj: Any) -> None:
    stop = getattr(obj, "stop", None)
    if callable(stop):
        stop()


SHUTDOWN_GRACE_S = 10.0


def stop_within(obj: Any, seconds: float) -> bool:
    """Call `obj.stop()` but give up waiting after `seconds`; True when it finished.

    Found in QA: Ctrl+C hung for minutes while a pull job slept in a Zoho 429 back-off, because
    the scheduler's stop waits for running jobs.
    """
    done = threading.Event()

    def run() -> None:
        try:
            _stop(obj)
        finally:
            done.set()

    threading.Thread(target=run, daemon=True, name="stop-scheduler").start()
    return done.wait(seconds)


def port_in_use(host: str, port: int) -> bool:
    """True when something already listens on host:port (checked before starting, for a clear message)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((SANDBOX_HOST if host in ("0.0.0.0", "::") else host, port))
        except OSError:
            return True
    return False


def _refuse_busy_ports(host: str, port: int, sandbox_port: int | None) -> None:
    busy = [(what, p, opt) for what, h, p, opt in (("dashboard", host, port, "--port"),
                                                   ("Zoho Books sandbox", SANDBOX_HOST, sandbox_port, "--sandbox-port"))
            if p is not None and port_in_use(h, p)]
    for what, p, opt in busy:
        console.print(f"[red]Port {p} for the {what} is already in use[/red] (another `ledgersync run`?). "
                      f"Stop it, or choose another port with {opt}.")
    if busy:
        raise typer.Exit(1)


def default_sandbox_persist(settings: Settings) -> str:
    """Where `ledgersync run` keeps the sandbox's state: next to the SQLite database (`var/sandbox.db`).

    The platform keeps its Zoho tokens and id mappings in its database; if the sandbox forgot its
    users, tokens and records on every restart, a restarted demo would show "Reauthorization
    required" and payments pushed before the restart would vanish from "Zoho". Persisting both
    side by side keeps a restart coherent; deleting `var/` resets both together.
    """
    if settings.is_sqlite and ":///" in settings.database_url:
        db_path = settings.database_url.split(":///", 1)[1]
        if db_path and db_path != ":memory:":
            return str(Path(db_path).parent / "sandbox.db")
    return str(Path("var") / "sandbox.db")


def resolve_sandbox_persist(settings: Settings, persist: str | None, no_persist: bool) -> str | None:
    """The `--persist` / `--no-persist` choice of `ledgersync run` (default: persisted)."""
    if no_persist:
        return None
    path = persist or default_sandbox_persist(settings)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return path


@app.command()
def run(
    host: str = typer.Option("127.0.0.1", help="Dashboard host."),
    port: int = typer.Option(8000, help="Dashboard port."),
    sandbox_port: int = typer.Option(None, "--sandbox-port", help="Port of the embedded Zoho Books sandbox (default 8900)."),
    persist: str | None = typer.Option(
        None, help="SQLite file for the sandbox's data (default: var/sandbox.db, next to the database)."),
    no_persist: bool = typer.Option(
        False, "--no-persist", help="Keep the sandbox in memory only (it forgets everything on stop)."),
    verbose: bool = typer.Option(False, "--verbose", help="Log every Zoho API call (one line each)."),
) -> None:
    """Migrate, seed the demo, start the sandbox, the dashboard and the scheduler (one process)."""
    from ledgersync.services.demo import DEMO_EMAIL, DEMO_PASSWORD, seed_demo_partner
    from ledgersync.web.app import create_app

    if get_settings().log_format == "json":
        from ledgersync.observability.logs import configure_logging

        configure_logging("json")
    else:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per Zoho call is already logged by the client
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if not verbose:  # one line per Zoho call buries the URL and login printed below; the Sync log page has it all
        logging.getLogger("ledgersync.zoho.client").setLevel(logging.WARNING)
    settings = get_settings()
    if sandbox_port is not None:
        settings.zoho_sandbox_port = sandbox_port
        if settings.zoho_accounts_url.startswith(f"http://{SANDBOX_HOST}:"):
            settings.zoho_accounts_url = f"http://{SANDBOX_HOST}:{sandbox_port}"
    if port != 8000 or host != "127.0.0.1":
        shown = SANDBOX_HOST if host in ("0.0.0.0", "::") else host
        if settings.base_url == "http://127.0.0.1:8000":
            settings.base_url = f"http://{shown}:{port}"  # the OAuth callback must come back to this port
    start_sandbox = settings.zoho_sandbox and settings.is_demo  # the sandbox's demo OAuth client is demo-only
    _refuse_busy_ports(host, port, settings.zoho_sandbox_port if start_sandbox else None)
    settings.ensure_sqlite_dir()
    sandbox_thread: _ServerThread | None = None
    sandbox_app: FastAPI | None = None
    if start_sandbox:
        sandbox_port = settings.zoho_sandbox_port
        persist_path = resolve_sandbox_persist(settings, persist, no_persist)
        with console.status("Starting the Zoho Books sandbox and generating its demo organisation…"):
            sandbox_app = _sandbox_app(sandbox_port, persist_path)
            sandbox_thread = _ServerThread(sandbox_app, sandbox_port)
            sandbox_thread.start()
            sandbox_thread.wait_started()
        _print_sandbox(sandbox_port)
        state = (persist_path + " (kept across restarts; delete var/ to start over)" if persist_path
                 else "in memory only (--no-persist)")
        console.print(f"  State:      {state}")
    container = Container(settings)  # migrates
    demo_partner_id = seed_demo_partner(container) if settings.is_demo else None
    # Build the dashboard (which imports every page module) BEFORE the scheduler thread starts
    # syncing: two threads importing the same modules at once can hit CPython's import
    # deadlock detection (_DeadlockError) — seen on a restart with an existing connection.
    web_app = create_app(container)
    scheduler = _start_scheduler(container)
    webhooks = None
    if sandbox_app is not None:
        webhooks = DemoWebhooks(_sandbox_of(sandbox_app), container)
        webhooks.start()
    dashboard = settings.base_url.rstrip("/") if host not in ("0.0.0.0", "::") else f"http://{SANDBOX_HOST}:{port}"
    console.rule("[bold green]ledgersync is running")
    console.print(f"[bold]Dashboard:[/bold] [link={dashboard}]{dashboard}[/link]")
    if demo_partner_id is not None:
        console.print(f"[bold]Demo login:[/bold] {DEMO_EMAIL} / {DEMO_PASSWORD}  (pre-filled: just click Log in)")
        console.print(next_step_line(container, demo_partner_id))
    else:
        console.print(f"Mode: {settings.env}. Log in with a partner user made by `ledgersync create-partner`.")
    if webhooks is not None:
        console.print(f"Act as the Zoho user at http://{SANDBOX_HOST}:{settings.zoho_sandbox_port}/_sandbox — "
                      "changes reach the dashboard within seconds (sandbox webhooks).")
    console.print("Press Ctrl+C to stop.")
    try:
        uvicorn.run(web_app, host=host, port=port, log_level="warning", access_log=False)
    finally:
        if webhooks is not None:
            webhooks.stop()
        stuck = scheduler is not None and not stop_within(scheduler, SHUTDOWN_GRACE_S)
        if sandbox_thread is not None:
            sandbox_thread.stop()  # saves the sandbox's state
        container.close()
        if stuck:
            # A job is asleep in a Zoho back-off (e.g. a 429 minute). Every sync step is crash-safe
            # (cursors, leases, the push outbox), so leaving now loses nothing; waiting could take minutes.
            console.print(f"Stopped (a sync job still waiting on Zoho after {SHUTDOWN_GRACE_S:.0f} s was "
                          "abandoned; it resumes from its cursor on the next start).")
            os._exit(0)


def web_app() -> Any:
    """ASGI factory of a deployment's web process (no sandbox, no demo seed, migrations already
    run by `ledgersync migrate`): `uvicorn --factory ledgersync.cli:web_app --host 0.0.0.0`.
    With `SCHEDULER=celery` its dispatcher enqueues Celery tasks; `embedded` starts the scheduler."""
    from ledgersync.observability.logs import configure_logging
    from ledgersync.web.app import create_app

    try:
        get_settings().require_safe()
    except UnsafeConfiguration as exc:  # one sentence, not a traceback, from `uvicorn --factory`
        err_console.print(f"[red]{exc}[/red]", highlight=False)
        raise SystemExit(2) from exc
    configure_logging(get_settings().log_format)
    container = Container(get_settings(), run_migrations=False)
    asgi = create_app(container)
    _start_scheduler(container)
    return asgi


@app.command()
def sandbox(
    port: int = typer.Option(8900, help="Port of the sandbox."),
    host: str = typer.Option("127.0.0.1", help="Host to bind."),
    persist: str | None = typer.Option(None, help="SQLite file so the sandbox's data survives a restart."),
) -> None:
    """Run the Zoho Books sandbox alone, with its seeded demo organisation."""
    with console.status("Generating the demo organisation…"):
        sandbox_app = _sandbox_app(port, persist)
    _print_sandbox(port)
    uvicorn.run(sandbox_app, host=host, port=port, log_level="warning")


@app.command()
def migrate() -> None:
    """Bring the database to the newest schema."""
    from ledgersync.store.db import migrate as run_migrations

    settings = get_settings()
    settings.ensure_sqlite_dir()
    run_migrations(settings.database_url)
    console.print(f"Database migrated: {settings.database_url.split('@')[-1]}")


@app.command("create-partner")
def create_partner(
    name: str = typer.Option(..., help="Partner (company) name."),
    email: str = typer.Option(..., help="Owner's login email."),
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True),
) -> None:
    """Create a partner (tenant) with its owner user."""
    from ledgersync.services import partners
    from ledgersync.services.errors import ServiceError

    container = Container(get_settings())
    try:
        created = partners.create_partner(container, name=name, email=email, password=password)
    except ServiceError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"Partner {created.partner.name!r} created (id {created.partner.id}); login {email}.")


@app.command("webhook-info")
def webhook_info(
    partner_email: str = typer.Option(..., "--partner-email", help="The partner's login email."),
) -> None:
    """What the partner enters in Zoho Books (Settings → Automation → Webhooks) for this connection.

    The same set-up the partner's admin sees in the dashboard (Integrations → Webhooks, where the
    secret can also be rotated). The URL carries the connection's webhook token; the custom
    header carries its own secret (derived from LEDGERSYNC_WEBHOOK_SECRET and the connection's
    rotation generation, so it changes when either is rotated).
    """
    from ledgersync.services import partners, webhook_setup

    settings = get_settings()
    container = Container(settings)
    try:
        user = partners.find_user_by_email(container, partner_email)
        setup = webhook_setup.webhook_setup(container, user.partner_id) if user is not None else None
    finally:
        container.close()
    if setup is None:
        console.print(f"[red]No Zoho connection for a partner user {partner_email!r} (click Connect first).[/red]")
        raise typer.Exit(1)
    console.print(f"URL:    {setup.url}   (method POST, JSON body)")
    console.print(f"Header: {setup.header}: {setup.secret}")
    console.print("Body:   include event_time (the event's time) and module: "
                  + ", ".join(value for _, value in setup.modules) + ".")
    if setup.last_at is not None:
        console.print(f"Last delivery: {setup.last_at:%Y-%m-%d %H:%M:%S} UTC, {setup.last_outcome}")


@app.command("create-staff")
def create_staff(
    email: str = typer.Option(..., help="The operator's login email."),
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True),
) -> None:
    """Create a staff account for the operator console (/ops); not a partner login."""
    from ledgersync.services import staff
    from ledgersync.services.errors import ServiceError

    container = Container(get_settings())
    try:
        created = staff.create_staff(container, email, password)
    except ServiceError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    finally:
        container.close()
    console.print(f"Staff account {created.email} created; log in at {get_settings().base_url.rstrip('/')}/ops/login.")


@app.command("rotate-keys")
def rotate_keys() -> None:
    """Re-encrypt every stored Zoho token with the newest LEDGERSYNC_TOKEN_ENCRYPTION_KEY.

    Rotation without downtime: put the new key first (`new,old`), restart the processes (they
    decrypt with either and write the new one), run this, then drop the old key.
    """
    from ledgersync.sync.books_factory import rotate_stored_tokens

    container = Container(get_settings())
    try:
        counts = rotate_stored_tokens(container)
    finally:
        container.close()
    console.print(f"Tokens re-encrypted with the newest key: {counts['rotated']} connection(s); "
                  f"already current: {counts['current']}.")
    if counts["undecryptable"]:
        console.print(f"[yellow]{counts['undecryptable']} connection(s) had tokens no configured key decrypts: "
                      "they are now 'Reauthorization required' (their partners reconnect).[/yellow]")


@app.command("set-password")
def set_password(
    email: str = typer.Option(..., help="The user's login email."),
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True),
) -> None:
    """Set a user's password (operator reset); every session of that user ends."""
    from ledgersync.services import partners
    from ledgersync.services.errors import ServiceError

    container = Container(get_settings())
    try:
        partners.set_password(container, email, password)
    except ServiceError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    finally:
        container.close()
    console.print(f"Password of {email} changed; every session of that user has ended.")


@app.command("create-api-key")
def create_api_key(
    partner_email: str = typer.Option(..., "--partner-email", help="The partner's login email."),
    name: str = typer.Option("cli", help="A name to recognise the key by."),
) -> None:
    """Create a REST API key for a partner (printed once; the dashboard's API keys page does the same)."""
    from sqlalchemy import select

    from ledgersync.services import api_keys
    from ledgersync.store.orm import User

    container = Container(get_settings())
    try:
        with container.uow() as uow:
            partner_id = uow.session.execute(select(User.partner_id).where(User.email == partner_email.strip().lower())
                                             ).scalar_one_or_none()
        if partner_id is None:
            console.print(f"[red]No partner user with email {partner_email!r}.[/red]")
            raise typer.Exit(1)
        created = api_keys.create_api_key(container, partner_id, name=name)
    finally:
        container.close()
    console.print(f"API key (shown once): {created.plain}")
    console.print("Use it as: curl -H 'Authorization: Bearer <key>' "
                  f"{get_settings().base_url.rstrip('/')}/api/v1/invoices")


@app.command()
def reconcile(
    partner_email: str = typer.Option(..., "--partner-email", help="The partner's login email."),
    date_from: str = typer.Option(..., "--from", help="First day, YYYY-MM-DD."),
    date_to: str = typer.Option(..., "--to", help="Last day, YYYY-MM-DD."),
) -> None:
    """Platform vs Zoho for invoices, payments and deposits over a date range (exit 1 on differences)."""
    from ledgersync.cli.reports import cli_reconcile

    raise typer.Exit(cli_reconcile(Container(get_settings()), partner_email, date_from, date_to, console))


def next_step_line(container: Container, partner_id: str) -> str:
    """The start banner's "what now", from the demo partner's connection as it is after a restart
    (it used to say "Connect" to a partner already connected)."""
    from ledgersync.services.integration import get_connection
    from ledgersync.web.connection_view import view

    conn = get_connection(container, partner_id)
    status = conn.status if conn is not None else "disconnected"
    org = f" to {conn.organization_name}" if conn is not None and conn.organization_name else ""
    if status == "connected":
        accounts = "" if conn is not None and conn.bank_account_id else " Next: Integrations → Set Up Accounts."
        return f"Zoho Books is connected{org}: pay an invoice on the Payments page and it reaches Zoho within seconds.{accounts}"
    if status == "pending":
        return f"Zoho Books is linked{org} and Pending: the initial sync resumes where it stopped (Integrations shows progress)."
    if status in ("error", "reauth_required"):
        return f"Zoho Books needs attention ({view(status).label}): Integrations → Reconnect."
    return "Then: Integrations → Connect → Accept on the Zoho consent page → Pending → Connected → Set Up Accounts."


@app.command()
def sync(
    partner: str = typer.Option(None, "--partner", help="Partner id, name or login email (default: every partner)."),
    stream: str = typer.Option(None, "--stream", help="customers, invoices, invoice_details, invoice_deletions, "
                                                     "customer_deletions (comma-separated)."),
    initial: bool = typer.Option(False, "--initial", help="Run (or resume) the initial sync with a progress bar."),
) -> None:
    """Pull from Zoho Books now (incremental streams, or the initial sync with progress)."""
    from ledgersync.cli.reports import cli_sync

    raise typer.Exit(cli_sync(Container(get_settings()), partner, stream, initial, console))


def main() -> None:  # pragma: no cover - console entry point
    app()


__all__ = ["app", "main", "Settings"]
