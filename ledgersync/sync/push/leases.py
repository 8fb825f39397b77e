"""Who works an intent: claim, lease, heartbeat and fencing token (see `PushConfig`).

A claim is one conditional UPDATE (atomic on SQLite and PostgreSQL) that takes the lease and a
new fencing token (`push_intents.fence` + 1). The worker's `Heartbeat` renews the lease while it
lives; `fence_write` runs right before every write attempt leaves. Every engine transaction that
writes the intent re-reads it with `held(...)`, which raises `LeaseLost` once the claim is no
longer ours.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from ledgersync.store.orm import PushIntent
from ledgersync.sync.ports import Transactional
from ledgersync.sync.push.config import PushConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Claimed:
    """What a successful claim took: the new fencing token, and the intent's key (for the log)."""

    fence: int
    key: str


def claim(container: Transactional, intent_id: str, worker: str, cfg: PushConfig, *, include_waiting: bool = True) -> bool:
    """Take the intent's lease with one conditional UPDATE (atomic on SQLite and PostgreSQL)."""
    return take(container, intent_id, worker, cfg, include_waiting=include_waiting) is not None


def take(container: Transactional, intent_id: str, worker: str, cfg: PushConfig, *,
         include_waiting: bool = True) -> Claimed | None:
    """`claim`, returning the token it took (UPDATE … RETURNING: no second read of the row)."""
    now = cfg.now()
    states = ("pending", "uncertain", "in_flight") + (("waiting",) if include_waiting else ())
    with container.uow() as uow:
        res = uow.session.execute(
            update(PushIntent)
            .where(
                PushIntent.id == intent_id,
                PushIntent.state.in_(states),
                or_(PushIntent.lease_until.is_(None), PushIntent.lease_until < now),
                or_(PushIntent.write_deadline.is_(None), PushIntent.write_deadline < now),
                or_(PushIntent.state == "waiting", PushIntent.next_attempt_at <= now),
            )
            .values(lease_owner=worker, lease_until=now + timedelta(seconds=cfg.lease_seconds),
                    fence=PushIntent.fence + 1, write_deadline=None)
            .returning(PushIntent.fence, PushIntent.key)
            .execution_options(synchronize_session=False)
        )
        row = res.first()
        uow.commit()
        return Claimed(row.fence, row.key) if row is not None else None


@dataclass(frozen=True)
class Lease:
    """One claim of an intent: its owner and the fencing token the claim took."""

    intent_id: str
    worker: str
    fence: int


def owned_by(lease: Lease) -> Any:
    return ((PushIntent.id == lease.intent_id) & (PushIntent.lease_owner == lease.worker)
            & (PushIntent.fence == lease.fence))


def renew_lease(container: Transactional, lease: Lease, cfg: PushConfig) -> bool:
    """The heartbeat: extend our lease; False once the intent is no longer ours."""
    with container.uow() as uow:
        res = uow.session.execute(
            update(PushIntent).where(owned_by(lease))
            .values(lease_until=cfg.now() + timedelta(seconds=cfg.lease_seconds))
            .execution_options(synchronize_session=False))
        uow.commit()
        return bool(res.rowcount == 1)  # type: ignore[attr-defined]  # an UPDATE's result


def fence_write(container: Transactional, lease: Lease, cfg: PushConfig) -> None:
    """Right before a write attempt leaves: still ours? Then nobody may take over until it can
    no longer land (`write_deadline`). One conditional UPDATE: a claim either committed first
    (the token moved: raise `LeaseLost`, nothing is sent) or waits for the deadline."""
    now = cfg.now()
    with container.uow() as uow:
        res = uow.session.execute(
            update(PushIntent).where(owned_by(lease))
            .values(write_deadline=now + timedelta(seconds=cfg.write_timeout_s),
                    lease_until=now + timedelta(seconds=cfg.lease_seconds))
            .execution_options(synchronize_session=False))
        uow.commit()
        if res.rowcount != 1:  # type: ignore[attr-defined]  # an UPDATE's result
            raise LeaseLost(lease.intent_id)


class Heartbeat:
    """Renews a lease every `cfg.heartbeat_s` on a daemon thread while the worker works it."""

    def __init__(self, container: Transactional, lease: Lease, cfg: PushConfig) -> None:
        self.container, self.lease, self.cfg = container, lease, cfg
        self.lost = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Heartbeat:
        if self.cfg.heartbeat_s:
            self._thread = threading.Thread(target=self._run, name=f"push-heartbeat-{self.lease.intent_id[:8]}",
                                            daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        assert self.cfg.heartbeat_s
        while not self._stop.wait(self.cfg.heartbeat_s):
            try:
                if not renew_lease(self.container, self.lease, self.cfg):
                    self.lost = True
                    return
            except Exception:  # noqa: BLE001 - a missed beat only shortens the lease; the fence guards writes
                log.warning("push heartbeat of %s failed", self.lease.intent_id, exc_info=True)


def held(session: Session, lease: Lease, *, lock: bool = False) -> PushIntent:
    """Re-read our intent; raise if the lease was lost (another worker may be on it).

    `lock=True` (every transaction that writes the intent) reads it `FOR UPDATE`: on PostgreSQL
    (READ COMMITTED) a plain read could see our lease, let another worker's claim commit, and
    then overwrite that worker's state with ours; the row lock makes the ownership check and
    the write one atomic step (SQLite serialises writers anyway).
    """
    intent = session.get(PushIntent, lease.intent_id, populate_existing=True, with_for_update=lock or None)
    if intent is None or intent.lease_owner != lease.worker or intent.fence != lease.fence:
        raise LeaseLost(lease.intent_id)
    return intent


class LeaseLost(Exception):
    pass


def release(session: Session, intent: PushIntent) -> None:
    intent.lease_owner = None
    intent.lease_until = None


def clear_write_deadline(container: Transactional, lease: Lease) -> None:
    with container.uow() as uow:
        uow.session.execute(update(PushIntent).where(owned_by(lease)).values(write_deadline=None)
                            .execution_options(synchronize_session=False))
        uow.commit()
