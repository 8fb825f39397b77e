"""A PostgreSQL restart does not fail the first query of a pooled connection used just before it.

The test starts a scratch PostgreSQL server of its own (initdb in a temporary directory, a free
port) and restarts it, so nobody else's connections are touched. Pooled connections are trusted
without a round trip for `IDLE_PING_S` after their last use; here that window is an hour, so
every connection in these tests is "recently used" however slow the machine is, and only the
socket check (`db.socket_has_news`) can tell the checkout that the server restarted.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from ledgersync.bootstrap import Container
from ledgersync.settings import Settings
from ledgersync.store import db
from ledgersync.store.orm import Partner

PG_BIN = Path(os.environ.get("LEDGERSYNC_PG_BIN", "/usr/lib/postgresql/15/bin"))
RECENT = 3600.0  # "used a moment ago", whatever the machine's speed


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(args: list[str], user: str | None, log: Path) -> None:
    """Run a PostgreSQL tool with its output in `log` (a pipe could be held open by the server
    it starts and never reach its end)."""
    with log.open("ab") as out:
        done = subprocess.run(args, user=user, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    if done.returncode:
        raise RuntimeError(f"{args[0]} failed: {log.read_text()[-2000:]}")


@dataclass
class ScratchServer:
    datadir: Path
    url: str
    user: str | None
    log: Path

    def pg_ctl(self, *args: str) -> None:
        server_log = self.log.with_name("server.log")
        _run([str(PG_BIN / "pg_ctl"), "-D", str(self.datadir), "-w", "-t", "60", "-l", str(server_log), *args],
             self.user, self.log)

    def restart(self) -> None:
        """A fast restart: every backend is told to end (57P01) and the server comes back."""
        self.pg_ctl("-m", "fast", "restart")


@pytest.fixture(scope="module")
def server() -> Iterator[ScratchServer]:
    if not (PG_BIN / "initdb").exists():
        if os.environ.get("LEDGERSYNC_REQUIRE_SERVICES"):
            pytest.fail(f"no PostgreSQL binaries in {PG_BIN} (LEDGERSYNC_PG_BIN)")
        pytest.skip(f"no PostgreSQL binaries in {PG_BIN} (LEDGERSYNC_PG_BIN)")
    user = "postgres" if os.geteuid() == 0 else None  # initdb refuses to run as root
    top = Path(tempfile.mkdtemp(prefix="ls-pg-restart-"))
    if user is not None:
        shutil.chown(top, user)
    datadir = top / "data"
    port = _free_port()
    log = top / "tools.log"  # the server writes its own server.log next to it
    scratch = ScratchServer(datadir, f"postgresql://postgres@127.0.0.1:{port}/postgres", user, log)
    try:  # whatever fails (initdb, start, a test), no server keeps running and the directory goes
        _run([str(PG_BIN / "initdb"), "-D", str(datadir), "-A", "trust", "-U", "postgres", "--no-sync"], user, log)
        scratch.pg_ctl("-o", f"-p {port} -k {top} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
        yield scratch
    finally:
        try:
            if (datadir / "postmaster.pid").exists():
                scratch.pg_ctl("-m", "immediate", "stop")
        finally:
            shutil.rmtree(top, ignore_errors=True)


def test_the_restart_really_breaks_a_connection_used_just_before_it(server):  # type: ignore[no-untyped-def]
    """The control: a pool that trusts its connections (no check at all) fails the first query."""
    plain = create_engine(db.normalise_url(server.url))
    try:
        with plain.connect() as c:
            c.execute(text("SELECT 1"))
        server.restart()
        with pytest.raises(OperationalError):
            with plain.connect() as c:
                c.execute(text("SELECT 1"))
    finally:
        plain.dispose()


def test_connections_used_just_before_a_restart_serve_the_next_units_of_work(server, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(db, "IDLE_PING_S", RECENT)
    settings = Settings(_env_file=None, env="test", database_url=server.url,  # type: ignore[call-arg]
                        token_encryption_key=Fernet.generate_key().decode(), scheduler="off")
    container = Container(settings)  # migrates the scratch database
    try:
        # three pooled connections, all used (and returned) a moment ago
        sessions = [container.session_factory() for _ in range(3)]
        pids_before = {s.execute(text("SELECT pg_backend_pid()")).scalar_one() for s in sessions}
        for s in sessions:
            s.close()
        assert len(pids_before) == 3
        server.restart()
        pids_after = set()
        for n in range(3):  # each unit of work checks out one of the stale connections
            with container.uow() as uow:
                uow.session.add(Partner(name=f"after restart {n}"))
                pids_after.add(uow.session.execute(text("SELECT pg_backend_pid()")).scalar_one())
                uow.commit()
        assert not pids_after & pids_before  # replaced, not handed out
        with container.uow() as uow:
            assert uow.session.query(Partner).filter(Partner.name.like("after restart %")).count() == 3
    finally:
        container.engine.dispose()


def test_a_live_connection_used_a_moment_ago_is_not_pinged(server):  # type: ignore[no-untyped-def]
    """The trade-off kept: no round trip for a healthy recently used connection; its socket is
    quiet. The same socket has news once the server ended the session."""
    engine = db.make_engine(server.url, idle_ping_s=RECENT)
    try:
        with engine.connect() as c:
            pid = c.execute(text("SELECT pg_backend_pid()")).scalar_one()
            raw = c.connection.dbapi_connection
        assert not db.socket_has_news(raw)
        assert not db.needs_ping(raw, idle_since=0.0, idle_s=RECENT, now=1.0)
        assert db.needs_ping(raw, idle_since=0.0, idle_s=RECENT, now=RECENT)  # idle long enough: pinged
        with db.make_engine(server.url).connect() as admin:
            admin.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
            admin.commit()
        _wait_until_readable(raw)
        assert db.socket_has_news(raw)
        with engine.connect() as c:  # pinged because of it, found dead, replaced
            assert c.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid
    finally:
        engine.dispose()


def _wait_until_readable(raw) -> None:  # type: ignore[no-untyped-def]
    """pg_terminate_backend returns once the signal is sent; the session's goodbye follows."""
    import select

    poller = select.poll()
    poller.register(raw.fileno(), select.POLLIN)
    assert poller.poll(30_000), "the ended session never closed its socket"
