"""The embedded scheduler: one thread in the `ledgersync run` process plus a small pool.

- every `settings.pull_interval_s` (hourly) each live connection gets a pull (all streams, or
  the initial sync while it is not done); every `settings.push_interval_s` a push drain;
- event-driven wake-ups: `push_requested` / `pull_requested` / `notify(partner_id)` queue work
  and set an event, so a payment push starts within a second of the commit;
- the same job is never queued twice while it runs (and the stream leases make it single
  across processes anyway); `stop()` drains nothing new and waits for running jobs.

It is also the process's `Dispatcher` (installed as `container.dispatcher` while it runs).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select

from ledgersync.bootstrap import Container
from ledgersync.observability import logs
from ledgersync.store.orm import Connection, SyncCursor
from ledgersync.sync.outbox import connection_of_partner
from ledgersync.sync.ports import NullDispatcher
from ledgersync.workers import jobs

log = logging.getLogger(__name__)

LIVE_STATUSES = ("pending", "connected", "error")
Job = tuple[str, str, str | None, str]  # (kind, connection_id, stream, trigger)


class EmbeddedScheduler:
    def __init__(self, container: Container, *, workers: int = 4, tick_s: float = 1.0,
                 clock: Callable[[], float] = time.monotonic, periodic: bool = True) -> None:
        self.container = container
        self.settings = container.settings
        self.tick_s = tick_s
        self.clock = clock
        self.periodic = periodic
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ledgersync-job")
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._queue: list[Job] = []
        self._running: dict[tuple[str, str, str | None], Future[Any]] = {}
        self._last_pull: dict[str, float] = {}
        self._last_push: dict[str, float] = {}
        self._resumed: dict[str, datetime] = {}
        self._idle = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        self.completed: list[Job] = []

    # ------------------------------------------------------------------ Dispatcher protocol
    def push_requested(self, connection_id: str) -> None:
        self._enqueue(("push", connection_id, None, "event"))

    def pull_requested(self, connection_id: str, stream: str | None, trigger: str) -> None:
        self._enqueue(("pull", connection_id, stream, trigger))

    def notify(self, partner_id: str) -> None:
        connection_id = connection_of_partner(self.container, partner_id)
        if connection_id:
            self.push_requested(connection_id)

    # ------------------------------------------------------------------ life cycle
    def start(self) -> EmbeddedScheduler:
        self.container.dispatcher = self
        if self.periodic:  # the first round is due at once: queue it before returning
            self._schedule_periodic()
        self._thread = threading.Thread(target=self._loop, name="ledgersync-scheduler", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self.container.dispatcher is self:
            self.container.dispatcher = NullDispatcher()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until nothing is queued or running (tests; no sleeping on a guess)."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._queue or self._running:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    # ------------------------------------------------------------------ internals
    def _enqueue(self, job: Job) -> None:
        with self._lock:
            if job not in self._queue:
                self._queue.append(job)
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                if self.periodic:
                    self._schedule_periodic()
                self._dispatch()
            except Exception:  # the scheduler must outlive any one bad tick
                log.exception("scheduler tick failed")
            self._wake.wait(self.tick_s)
            self._wake.clear()

    def _schedule_periodic(self) -> None:
        now = self.clock()
        with self.container.uow() as uow:
            ids = uow.session.execute(
                select(Connection.id).where(Connection.status.in_(LIVE_STATUSES), Connection.organization_id.is_not(None))
            ).scalars().all()
            # a stream paused by Zoho's daily budget resumes at the reset, not at the next hour
            resumable: set[str] = set()
            for cid, at in uow.session.execute(
                select(SyncCursor.connection_id, SyncCursor.next_run_at).where(
                    SyncCursor.next_run_at.is_not(None), SyncCursor.next_run_at <= datetime.now(timezone.utc))
            ).all():
                if at is None:
                    continue
                if self._resumed.get(cid) is None or at > self._resumed[cid]:  # once per reset time
                    self._resumed[cid] = at
                    resumable.add(cid)
        # pushes that became due (a backoff ended, a dead worker's lease ran out): at once, not
        # at the next safety-net round
        from ledgersync.sync.push import connections_with_due_pushes

        for cid in connections_with_due_pushes(self.container):
            self._enqueue(("push", cid, None, "schedule"))
        for cid in ids:
            if cid in resumable or now - self._last_pull.get(cid, -1e18) >= self.settings.pull_interval_s:
                self._last_pull[cid] = now
                self._enqueue(("pull", cid, None, "schedule"))
            if now - self._last_push.get(cid, -1e18) >= self.settings.push_interval_s:
                self._last_push[cid] = now
                self._enqueue(("push", cid, None, "schedule"))

    def _dispatch(self) -> None:
        with self._lock:
            pending, self._queue = self._queue, []
            for job in pending:
                key = (job[0], job[1], job[2])
                if key in self._running:
                    self._queue.append(job)  # run again after the current one (new changes)
                    continue
                self._running[key] = self._pool.submit(self._run, job)

    def _run(self, job: Job) -> None:
        kind, connection_id, stream, trigger = job
        logs.clear()  # a pool thread runs many jobs: no id of the previous one on this one's lines
        logs.bind(connection_id=connection_id, job=kind, stream=stream, trigger=trigger)
        try:
            if kind == "push":
                jobs.push_drain(self.container, connection_id)
            else:
                jobs.pull(self.container, connection_id, stream, trigger)
        except Exception:
            log.exception("job failed", extra={"connection_id": connection_id, "job": kind, "stream": stream})
        finally:
            with self._idle:
                self._running.pop((kind, connection_id, stream), None)
                self.completed.append(job)
                if self._queue:
                    self._wake.set()
                self._idle.notify_all()


def start_embedded(container: Container) -> EmbeddedScheduler:
    """What `ledgersync run` calls: the scheduler thread, installed as the process's dispatcher."""
    return EmbeddedScheduler(container).start()
