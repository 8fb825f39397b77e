"""Celery tasks: ids in, the same services as the embedded scheduler out.

A worker process builds ONE Container (engine pool, HTTP client) on first use and installs:
the Celery dispatcher (so work a worker discovers — a webhook, a settled payment — is queued
too), and with Redis the shared rate limiter (each organisation's per-minute and per-day budget,
read from Zoho's headers, shared by every worker) and the shared slots/markers
(`ledgersync.workers.coordination`).

Fairness: a pull or backfill task first takes one of the connection's `org_max_concurrency`
slots (and a backfill one of the deployment's `backfill_slots`); when none is free it is put
back on its queue a little later instead of holding a worker thread while it waits.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select

from ledgersync.bootstrap import Container
from ledgersync.observability import logs, metrics
from ledgersync.settings import Settings, get_settings
from ledgersync.store.orm import Connection, PushIntent, SyncCursor
from ledgersync.sync.books_factory import limiter_options
from ledgersync.sync.outbox import connection_of_partner
from ledgersync.workers import deadline, jobs
from ledgersync.workers.celery_app import app
from ledgersync.workers.coordination import Coordination
from ledgersync.workers.schedule import BACKFILL, kind_of, slot_index, zoho_clock
from ledgersync.zoho.ratelimit import RedisRateLimiter

log = logging.getLogger(__name__)

LIVE_STATUSES = ("pending", "connected", "error")
SLOT_RETRY_S = {"pull": 2.0, "backfill": 15.0}

_container: Container | None = None
_coordination: Coordination | None = None
_container_lock = threading.Lock()


def coordination_for(settings: Settings) -> Coordination | None:
    """The deployment's shared slots/markers (None without Redis: single-process setups)."""
    url = settings.shared_redis_url
    if url is None:
        return None
    import redis

    return Coordination(redis.Redis.from_url(url), settings.redis_key_prefix)


class CeleryDispatcher:
    """`Dispatcher` that enqueues Celery tasks by id (web processes and workers of a Celery
    deployment). With Redis, a task already queued for the same connection and stream is not
    queued twice (it will see the new changes when it runs)."""

    def __init__(self, celery: Any = None, *, container: Container | None = None,
                 coordination: Coordination | None = None) -> None:
        self.celery = celery or app
        self.container = container
        self.coordination = coordination

    def _send(self, name: str, args: list[Any], marker: str) -> bool:
        if self.coordination is not None:
            try:
                if not self.coordination.mark_queued(marker, ttl_s=3600):
                    return False
            except Exception:  # Redis down: queue anyway (a duplicate message is harmless, leases hold)
                log.warning("queued-marker unavailable; sending %s anyway", name)
        self.celery.send_task(name, args=args)
        return True

    def push_requested(self, connection_id: str) -> None:
        self._send("ledgersync.push_drain", [connection_id], f"push:{connection_id}")

    def pull_requested(self, connection_id: str, stream: str | None, trigger: str) -> None:
        self._send("ledgersync.pull_stream", [connection_id, stream, trigger],
                   f"pull:{connection_id}:{stream or 'all'}")

    def notify(self, partner_id: str) -> None:
        connection_id = connection_of_partner(self.container or get_container(), partner_id)
        if connection_id:
            self.push_requested(connection_id)


def install_celery(container: Container, celery: Any = None) -> CeleryDispatcher:
    """Make `container` part of a Celery deployment: its dispatcher enqueues tasks, its Zoho
    budget lives in Redis. The web process (SCHEDULER=celery) and every worker call it."""
    settings = container.settings
    metrics.instrument_http(container)
    deadline.enforce_on_container(container)  # task time limits under the threads pool
    coordination = coordination_for(settings)
    dispatcher = CeleryDispatcher(celery, container=container, coordination=coordination)
    container.dispatcher = dispatcher
    if coordination is not None:
        container.rate_limiter = RedisRateLimiter(
            coordination.redis, key_prefix=f"{settings.redis_key_prefix}:rl", **limiter_options(settings))
    if settings.time_scale != 1.0:
        container.clock = zoho_clock(settings.time_scale, settings.time_origin)
    return dispatcher


def _coordination_of(container: Container) -> Coordination | None:
    dispatcher = container.dispatcher
    return dispatcher.coordination if isinstance(dispatcher, CeleryDispatcher) else None


def set_container(container: Container | None, *, coordination: Coordination | None = None) -> None:
    """Tests (and embedding processes) hand the worker their container (and, if its dispatcher
    is not the Celery one `install_celery` made, the deployment's coordination)."""
    global _container, _coordination
    _container = container
    _coordination = coordination or (None if container is None else _coordination_of(container))


def get_container() -> Container:
    global _container, _coordination
    with _container_lock:
        if _container is None:
            container = Container(get_settings(), run_migrations=False)  # `ledgersync migrate` runs first
            install_celery(container)
            _container = container
            _coordination = _coordination_of(container)
        return _container


def _coord() -> Coordination | None:
    get_container()
    return _coordination


def _clear_marker(marker: str) -> None:
    coord = _coord()
    if coord is not None:
        try:
            coord.clear_queued(marker)
        except Exception:
            log.warning("could not clear queued marker %s", marker)


def _held_slots(coord: Coordination | None, connection_id: str, kind: str) -> list[tuple[str, str]] | None:
    """Take the connection's slot (and a backfill slot); None when one is not free."""
    if coord is None:
        return []
    settings = get_container().settings
    ttl = settings.task_time_limit_s + 60
    wanted = [(f"conn:{connection_id}", settings.org_max_concurrency)]
    if kind == BACKFILL:
        wanted.append(("backfill", settings.backfill_slots))
    held: list[tuple[str, str]] = []
    for name, limit in wanted:
        token = coord.try_slot(name, limit, ttl)
        if token is None:
            for n, t in held:
                coord.release_slot(n, t)
            return None
        held.append((name, token))
    return held


@app.task(name="ledgersync.pull_stream", bind=True, ignore_result=False, max_retries=None)
def pull_stream(self: Any, connection_id: str, stream: str | None = None, trigger: str = "schedule") -> dict[str, Any]:
    """One stream (or "all", "initial", "record:<entity>:<id>", or "a,b"); returns a summary."""
    container = get_container()
    coord = _coord()
    _bind(connection_id, "ledgersync.pull_stream", self.request.id, stream=stream, trigger=trigger)
    _clear_marker(f"pull:{connection_id}:{stream or 'all'}")
    if stream in (None, "", "all") and _needs_initial(connection_id):
        # "Sync now" or a tick on a connection still in its initial sync: that sync's job
        stream = "initial"
    if stream == "initial" and _initial_phase(connection_id) in (None, "recent"):
        stream = "initial:recent"  # the last 12 months first, on the pull queue (runs here, now)
    kind = kind_of("ledgersync.pull_stream", [connection_id, stream])
    held = _held_slots(coord, connection_id, kind)
    if held is None:  # the connection (or the backfill pool) is busy: back on the queue, thread freed
        raise self.retry(countdown=SLOT_RETRY_S[kind])
    try:
        with metrics.timed(f"ledgersync.pull_stream:{kind}"), \
                deadline.task_deadline(container.settings.task_soft_time_limit_s):
            return _run_pull(container, connection_id, stream, trigger)
    except deadline.TaskTimeLimitExceeded as exc:  # the run is closed as interrupted; its cursor resumes it
        log.warning("pull task stopped at its time limit: %s", exc)
        return {"stream": stream, "status": "timed_out"}
    finally:
        for name, token in held:
            coord.release_slot(name, token)  # type: ignore[union-attr]


def _run_pull(container: Container, connection_id: str, stream: str | None, trigger: str) -> dict[str, Any]:
    started = time.perf_counter()
    if stream == "initial:recent":
        from ledgersync.sync.pull.initial import run_initial_sync

        progress = run_initial_sync(container, connection_id, recent_only=True)
        if progress.get("phase") == "history" and _small_history(container, progress):
            progress = run_initial_sync(container, connection_id)  # a few calls: no backfill to keep apart
        if progress.get("phase") == "history":  # usable now; a big history goes to the backfill queue
            container.dispatcher.pull_requested(connection_id, "initial", "initial")
        return {"stream": stream, "status": "done", "phase": progress.get("phase"),
                "seconds": round(time.perf_counter() - started, 3)}
    if stream and "," not in stream and not stream.startswith("record:") and stream not in ("all", "initial"):
        from ledgersync.sync.pull.engine import run_stream

        result = run_stream(container, connection_id, stream, trigger=trigger)
        return {"stream": stream, "status": result.status, "skipped": result.skipped, "calls": result.calls,
                "created": result.created, "updated": result.updated, "archived": result.archived}
    jobs.pull(container, connection_id, stream, trigger)
    return {"stream": stream or "all", "status": "done", "seconds": round(time.perf_counter() - started, 3)}


def _small_history(container: Container, progress: dict[str, Any]) -> bool:
    """A history of at most `inline_history_max_invoices` invoices (Zoho's count) is finished in
    the same task: a handful of calls, where the backfill queue's few slots could be held by
    large histories for hours and keep a small partner from ever becoming "connected"."""
    total = progress.get("invoices_total")
    return total is not None and int(total) <= container.settings.inline_history_max_invoices


_partner_of: dict[str, str | None] = {}


def _bind(connection_id: str, task: str, task_id: str | None, **extra: Any) -> None:
    """Every log line of this task carries the partner, connection, task and its arguments."""
    if connection_id not in _partner_of:
        with get_container().uow() as uow:
            conn = uow.session.get(Connection, connection_id)
            _partner_of[connection_id] = conn.partner_id if conn is not None else None
    logs.clear()
    logs.bind(partner_id=_partner_of[connection_id], connection_id=connection_id, task=task, task_id=task_id,
              **extra)


def _initial_phase(connection_id: str) -> str | None:
    with get_container().uow() as uow:
        conn = uow.session.get(Connection, connection_id)
        return conn.initial_sync_phase if conn is not None else None


def _needs_initial(connection_id: str) -> bool:
    with get_container().uow() as uow:
        conn = uow.session.get(Connection, connection_id)
        if conn is None:
            return False
        phase, status = conn.initial_sync_phase, conn.status
    return phase not in (None, "done") or (phase is None and status == "pending")


@app.task(name="ledgersync.push_drain", bind=True, ignore_result=False)
def push_drain(self: Any, connection_id: str) -> dict[str, Any]:
    """Drain the connection's outbox (pushes are never held back by the pull slots)."""
    container = get_container()
    _bind(connection_id, "ledgersync.push_drain", self.request.id)
    _clear_marker(f"push:{connection_id}")
    with metrics.timed("ledgersync.push_drain"), \
            deadline.task_deadline(container.settings.push_task_soft_time_limit_s):
        result = jobs.push_drain(container, connection_id)
    fields = ("done", "waiting", "failed", "retried", "deferred", "calls")
    summary: dict[str, Any] = {k: getattr(result, k) for k in fields}
    if result.stopped:
        # the time limit stopped it before a Zoho request (the engine gave the intent back): the
        # next drain resumes at once if this one got anywhere, else at beat's due-push tick
        log.warning("push drain stopped at its time limit (%s s)", container.settings.push_task_soft_time_limit_s)
        if result.processed:
            container.dispatcher.push_requested(connection_id)
        summary["status"] = "timed_out"
    return summary


def _live_connections() -> list[tuple[str, bool]]:
    """(id, initial sync still to do) of every connection with an organisation that may sync."""
    with get_container().uow() as uow:
        rows = uow.session.execute(
            select(Connection.id, Connection.initial_sync_phase, Connection.status).where(
                Connection.status.in_(LIVE_STATUSES), Connection.organization_id.is_not(None))).all()
    return [(cid, phase not in (None, "done") or (phase is None and status == "pending"))
            for cid, phase, status in rows]


def _paused_until(connection_ids: list[str]) -> dict[str, datetime]:
    """Connections whose initial sync waits for Zoho's daily reset (no use queueing it before)."""
    if not connection_ids:
        return {}
    with get_container().uow() as uow:
        rows = uow.session.execute(select(SyncCursor.connection_id, SyncCursor.next_run_at).where(
            SyncCursor.next_run_at.is_not(None), SyncCursor.connection_id.in_(connection_ids))).all()
    out: dict[str, datetime] = {}
    for cid, at in rows:
        if at is None:
            continue
        at = at if at.tzinfo else at.replace(tzinfo=timezone.utc)
        if cid not in out or at > out[cid]:
            out[cid] = at
    return out


def _retry_due(connection_ids: list[str], now: datetime) -> set[str]:
    """Connections with a stream whose retry time (`next_run_at`: a backoff after a Zoho
    failure, or the daily budget's reset) has come; queued again until a run clears it (the
    per-stream marker keeps one message queued at a time)."""
    if not connection_ids:
        return set()
    with get_container().uow() as uow:
        rows = uow.session.execute(select(SyncCursor.connection_id, SyncCursor.next_run_at).where(
            SyncCursor.next_run_at.is_not(None), SyncCursor.connection_id.in_(connection_ids))).all()
    return {cid for cid, at in rows if at is not None and (at if at.tzinfo else at.replace(tzinfo=timezone.utc)) <= now}


_claimed: dict[str, int] = {}  # connection -> latest slot index this process saw claimed


@app.task(name="ledgersync.schedule_pulls")
def schedule_pulls(now_s: float | None = None) -> dict[str, int]:
    """Beat's tick: each connection whose staggered hourly slot came gets its pull; each one
    still in its initial sync gets the backfill re-queued (unless waiting for the daily reset).
    Returns how many of each were queued (markers and slot claims make a repeated tick a no-op)."""
    container = get_container()
    settings = container.settings
    coord = _coord()
    dispatcher = container.dispatcher
    now_s = time.time() if now_s is None else now_s
    interval = settings.pull_interval_s
    live = _live_connections()
    paused = _paused_until([cid for cid, initial in live if initial])
    engine_now = container.clock()
    retry_due = _retry_due([cid for cid, initial in live if not initial], engine_now)
    counts = {"pulls": 0, "backfills": 0}
    for cid, initial in live:
        if initial:
            if cid in paused and paused[cid] > engine_now:
                continue
            dispatcher.pull_requested(cid, "initial", "initial")
            counts["backfills"] += 1
            continue
        if cid in retry_due:  # a stream Zoho failed: its backoff is over (seconds to minutes, not the hour)
            dispatcher.pull_requested(cid, None, "retry")
            counts["pulls"] += 1
            continue
        index = slot_index(cid, now_s, interval)
        if _claimed.get(cid, -1) >= index:
            continue  # this process already saw the slot claimed: no Redis round trip per connection
        _claimed[cid] = index
        if coord is None or coord.claim_slot_index(cid, index):
            dispatcher.pull_requested(cid, None, "schedule")
            counts["pulls"] += 1
    return counts


def _connections_with_due_pushes() -> list[str]:
    """Connections whose outbox holds an intent due now (not done or failed): the safety net
    drains only those, so its cost follows the payments, not the number of partners."""
    now = datetime.now(timezone.utc)
    with get_container().uow() as uow:
        partner_ids = select(PushIntent.partner_id).where(
            PushIntent.state.not_in(("done", "failed")), PushIntent.next_attempt_at <= now).distinct()
        return list(uow.session.execute(select(Connection.id).where(
            Connection.partner_id.in_(partner_ids), Connection.status.in_(LIVE_STATUSES),
            Connection.organization_id.is_not(None))).scalars())


@app.task(name="ledgersync.schedule_pushes")
def schedule_pushes() -> int:
    """The safety net behind event-driven pushes: every connection with a due intent is drained
    at least every `push_interval_s` (a lost wake-up, a retry's back-off that ended)."""
    dispatcher = get_container().dispatcher
    ids = _connections_with_due_pushes()
    for cid in ids:
        dispatcher.push_requested(cid)
    return len(ids)




@app.task(name="ledgersync.schedule_due_pushes")
def schedule_due_pushes() -> int:
    """Every `push_due_tick_s`: connections with a push due right now (a back-off ended, or a
    worker died and its lease, no longer renewed by its heartbeat, ran out) are drained at once,
    so another worker takes a dead one's push over within seconds (one indexed query)."""
    from ledgersync.sync.push import connections_with_due_pushes

    container = get_container()
    dispatcher = container.dispatcher
    ids = connections_with_due_pushes(container)
    for cid in ids:
        dispatcher.push_requested(cid)
    return len(ids)


@app.task(name="ledgersync.prune_run_log")
def prune_run_log() -> int:
    """Retention of `sync_runs` (hourly): superseded runs older than `run_log_retention_days`
    are deleted (each stream's last good run and everything after it stay); returns how many."""
    from datetime import timedelta

    from ledgersync.sync.pull.runlog import prune_runs

    container = get_container()
    cutoff = datetime.now(timezone.utc) - timedelta(days=container.settings.run_log_retention_days)
    return prune_runs(container.session_factory, older_than=cutoff)


# ---------------------------------------------------------------------- worker process set-up
from celery import signals  # noqa: E402


@signals.setup_logging.connect
def _setup_logging(**_: Any) -> None:
    """A worker/beat logs like the web process: JSON with bound ids when LOG_FORMAT=json."""
    logs.configure_logging(get_settings().log_format)


@signals.worker_init.connect
def _tune_interpreter(**_: Any) -> None:
    """Threads pool: shorter GIL turns, so I/O-bound pushes are not queued behind CPU-bound pulls."""
    import sys

    sys.setswitchinterval(get_settings().worker_switch_interval_s)


@signals.worker_ready.connect
def _serve_metrics(**_: Any) -> None:
    """Each worker process serves its own /metrics (the next free port after METRICS_PORT)."""
    settings = get_settings()
    if settings.metrics_port:
        served = serve_metrics(settings.metrics_port, token=settings.metrics_token.get_secret_value())
        log.info("metrics on port %s", served)


def serve_metrics(first_port: int, tries: int = 64, *, token: str = "", host: str = "0.0.0.0") -> int | None:
    """Serve the process counters on the first free port from `first_port` (a daemon thread);
    with `token`, a scrape without `Authorization: Bearer <token>` is answered 401."""
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    class Server(ThreadingMixIn, WSGIServer):
        daemon_threads = True

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
            return None

    app_ = metrics.metrics_wsgi_app(token)
    for port in range(first_port, first_port + tries):
        try:
            server = make_server(host, port, app_, server_class=Server, handler_class=Quiet)
        except OSError:
            continue
        threading.Thread(target=server.serve_forever, daemon=True, name="metrics").start()
        return port
    return None
