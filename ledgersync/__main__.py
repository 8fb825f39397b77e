"""`python -m ledgersync` = the `ledgersync` command."""

from ledgersync.cli import app

app(prog_name="ledgersync")
