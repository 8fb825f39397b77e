"""QA: a `ledgersync run` killed mid initial sync resumes at once after a restart.

The dead process's leases (an hour for the initial sync, five minutes per stream) used to block
the restarted process; a holder on this host whose process is gone is now taken over at once,
while a live holder (another thread, another live process, another host) is still respected.
"""

from __future__ import annotations

import os
import subprocess
import sys

from ledgersync.bootstrap import Container
from ledgersync.store import orm
from ledgersync.sync.pull import leases


def _connection(container: Container, partner: orm.Partner) -> str:
    with container.uow() as uow:
        conn = orm.Connection(partner_id=partner.id, provider="zoho_books", status="pending", organization_id="1")
        uow.session.add(conn)
        uow.commit()
        return conn.id


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_lease_of_a_dead_process_on_this_host_is_taken_over(container: Container, partner: orm.Partner) -> None:
    cid = _connection(container, partner)
    dead = f"{leases._HOST}:{_dead_pid()}.abcdef:1:deadbeef"
    assert leases.acquire(container.session_factory, cid, "initial", dead, seconds=3600)
    assert leases.acquire(container.session_factory, cid, "initial", leases.new_owner(), seconds=3600)


def test_same_pid_from_an_earlier_process_is_dead(container: Container, partner: orm.Partner) -> None:
    cid = _connection(container, partner)
    earlier = f"{leases._HOST}:{os.getpid()}.zzzzzz:1:deadbeef"  # e.g. pid 1 in a container, restarted
    assert leases.acquire(container.session_factory, cid, "invoices", earlier)
    assert leases.acquire(container.session_factory, cid, "invoices", leases.new_owner())


def test_live_holders_are_respected(container: Container, partner: orm.Partner) -> None:
    cid = _connection(container, partner)
    mine = leases.new_owner()  # this live process (another thread/call)
    assert leases.acquire(container.session_factory, cid, "invoices", mine)
    assert not leases.acquire(container.session_factory, cid, "invoices", leases.new_owner())
    other_host = f"worker-7:{_dead_pid()}.abcdef:1:deadbeef"
    assert leases.acquire(container.session_factory, cid, "customers", other_host)
    assert not leases.acquire(container.session_factory, cid, "customers", leases.new_owner())
    assert not leases.holder_is_dead(f"{leases._HOST}:{os.getppid()}.abcdef:1:x")  # a live other process


class _Disconnected:
    """A Zoho client whose connection was disconnected mid-run (every call refuses)."""

    calls_made = 0

    def __getattr__(self, name: str) -> object:
        from ledgersync.sync.books_factory import ConnectionNotReady

        def refuse(*a: object, **k: object) -> None:
            raise ConnectionNotReady("connection is not connected to an organisation")

        return refuse


def test_a_run_stopped_by_a_disconnect_is_finished_not_left_running(container: Container,
                                                                     partner: orm.Partner) -> None:
    from sqlalchemy import select

    from ledgersync.sync.pull.engine import run_stream

    cid = _connection(container, partner)
    result = run_stream(container, cid, "invoices", trigger="initial", books=_Disconnected())
    assert result.status == "failed" and "disconnected" in (result.message or "")
    with container.uow() as uow:
        statuses = uow.session.execute(select(orm.SyncRun.status).where(orm.SyncRun.connection_id == cid)).scalars().all()
    assert statuses == ["failed"]
