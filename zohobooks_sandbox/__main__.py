"""Run the sandbox standalone: ``python -m zohobooks_sandbox --port 8900``.

Prints the URLs and the demo credentials, then serves with uvicorn until Ctrl-C (queued
webhooks are delivered and ``--persist`` is saved on shutdown).
"""
from __future__ import annotations

import argparse
import sys
import time


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m zohobooks_sandbox",
                                description="Local emulator of Zoho Books API v3 and Zoho Accounts OAuth.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8900)
    p.add_argument("--persist", metavar="FILE.db", default=None, help="keep the state in this SQLite file")
    p.add_argument("--time-scale", type=float, default=1.0, help="sandbox seconds per real second (limits, expiry)")
    p.add_argument("--seed", type=int, default=42, help="seed of the generator and of fault plans")
    p.add_argument("--customers", type=int, default=25, help="customers generated into demo org 700000001")
    p.add_argument("--invoices", type=int, default=200, help="invoices generated into demo org 700000001")
    p.add_argument("--years", type=int, default=2, help="years the generated invoices span")
    p.add_argument("--no-limits", action="store_true", help="disable rate limits")
    p.add_argument("--base-url", default=None,
                   help="public URL clients reach the sandbox at (default http://{host}:{port}; 127.0.0.1 "
                        "when listening on all interfaces); token api_domain and accounts-server use it")
    return p


def base_url_for(host: str, port: int, override: str | None = None) -> str:
    """The URL written into ``api_domain`` / ``accounts-server``: the REAL port, and a host a
    client can connect to (not ``0.0.0.0``)."""
    if override:
        return override.rstrip("/")
    reachable = "127.0.0.1" if host in ("", "0.0.0.0", "::", "[::]") else host
    if ":" in reachable and not reachable.startswith("["):
        reachable = f"[{reachable}]"
    return f"http://{reachable}:{port}"


def build_config(args: argparse.Namespace) -> SandboxConfig:  # noqa: F821 - imported lazily
    from . import SandboxConfig

    return SandboxConfig(base_url=base_url_for(args.host, args.port, args.base_url), time_scale=args.time_scale,
                         seed=args.seed, persist_path=args.persist, demo_customers=args.customers,
                         demo_invoices=args.invoices, demo_years=args.years, rate_limits_enabled=not args.no_limits)


def banner(base: str, seconds: float, sandbox: object) -> str:
    from .demo import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_EMAIL, DEMO_EU_ORG, DEMO_PASSWORD, DEMO_US_ORG

    orgs = getattr(sandbox, "orgs", {})
    lines = [
        f"Zoho Books sandbox ready in {seconds:.1f}s on {base}",
        f"  Books API (US):   {base}/books/v3        (EU: {base}/eu/books/v3)",
        f"  Zoho Accounts:    {base}/oauth/v2/auth   /oauth/v2/token   /oauth/v2/token/revoke",
        f"  Admin page:       {base}/_sandbox         admin API docs: {base}/docs",
        f"  Demo user:        {DEMO_EMAIL} / {DEMO_PASSWORD}",
        f"  Demo client:      {DEMO_CLIENT_ID} / {DEMO_CLIENT_SECRET}",
    ]
    for org_id in (DEMO_US_ORG, DEMO_EU_ORG):
        org = orgs.get(org_id)
        if org is not None:
            lines.append(f"  Organisation:     {org_id} {org.org.name} ({org.org.currency_code}, {org.org.dc.upper()} DC)"
                         f" – {len(org.contacts)} customers, {len(org.invoices)} invoices")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    import uvicorn

    from . import create_app

    started = time.perf_counter()
    config = build_config(args)
    base = config.base_url
    app = create_app(config)
    print(banner(base, time.perf_counter() - started, app.state.sandbox), flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
