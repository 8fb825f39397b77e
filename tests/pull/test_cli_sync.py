"""`ledgersync sync` (its service function: the CLI command only builds the container)."""

from __future__ import annotations

import io

from rich.console import Console

from ledgersync.cli.reports import cli_sync


def test_cli_initial_then_streams(container, connection_id, zoho, partner):
    out = io.StringIO()
    console = Console(file=out, width=120)
    assert cli_sync(container, partner.id, None, True, console) == 0
    assert "Initial sync complete" in out.getvalue()
    assert cli_sync(container, "owner@msp.test", "invoices,customers", False, console) == 0
    text = out.getvalue()
    assert "invoices" in text and "succeeded" in text
    assert cli_sync(container, partner.id, "nope", False, console) == 2
    assert cli_sync(container, "nobody@x.test", None, False, console) == 1
