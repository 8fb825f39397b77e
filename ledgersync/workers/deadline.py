"""Task time limits that hold under the threads pool.

Celery enforces `task_soft_time_limit` / `task_time_limit` only in the prefork pool (it signals
or kills the child process); the deployment runs `--pool=threads` (Zoho calls are I/O, and each
worker process serves its own /metrics), where Celery ignores both. A thread cannot be killed,
so the limit is enforced where a task's time goes: before every Zoho request.

`task_deadline(seconds)` marks the running task's deadline (a context variable: it is the
thread's own, and it follows the work the task hands to a helper thread with the task's context,
like the pull engine's read-ahead, `sync.pull.read_ahead`); the worker's HTTP client carries
`refuse_past_deadline` as a request hook, which raises `TaskTimeLimitExceeded` instead of sending
a request once the deadline passed. The pull engine treats it like any interruption (run row
closed as interrupted, lease released, cursor kept: the next run resumes), and the task returns
"timed_out". The push engine catches it as `zoho.errors.RequestWithheld` (the base it may
import): the intent being worked goes back to the outbox due now with its lease released, a
write that may have left stays `uncertain` (looked up by reference before any re-send), the
drain stops, and the push task (`PUSH_TASK_SOFT_TIME_LIMIT_S`, shorter than the pulls') returns
"timed_out" and queues the next drain. A task therefore holds a worker thread at most the soft limit plus one Zoho call
(bounded by the HTTP timeout). Threads without a deadline (the web process) are unaffected.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Protocol

import httpx

from ledgersync.zoho.errors import RequestWithheld

#: (deadline, clock) of the running task, None outside a task
_deadline: ContextVar[tuple[float, Callable[[], float]] | None] = ContextVar("task_deadline", default=None)


class TaskTimeLimitExceeded(RequestWithheld):
    """The task ran past its soft time limit; no further Zoho request is sent."""


@contextmanager
def task_deadline(seconds: float, clock: Any = time.monotonic) -> Iterator[float]:
    """Run the block with a deadline `seconds` from now (nesting keeps the earlier one)."""
    previous = _deadline.get()
    deadline = clock() + seconds
    if previous is not None:
        deadline = min(previous[0], deadline)
    token = _deadline.set((deadline, clock))
    try:
        yield deadline
    finally:
        _deadline.reset(token)


def past_deadline() -> bool:
    current = _deadline.get()
    return current is not None and current[1]() >= current[0]


def refuse_past_deadline(request: httpx.Request) -> None:
    """httpx request hook: past the thread's deadline, the request is not sent."""
    if past_deadline():
        raise TaskTimeLimitExceeded(f"task soft time limit exceeded before {request.method} {request.url.path}")


def enforce_on(client: httpx.Client) -> httpx.Client:
    """Add the deadline check to `client`'s request hooks (once)."""
    hooks = client.event_hooks
    if refuse_past_deadline not in hooks.get("request", []):
        client.event_hooks = {"request": [*hooks.get("request", []), refuse_past_deadline],
                              "response": hooks.get("response", [])}
    return client


class HttpRequestHooks(Protocol):
    """Where the process's Zoho HTTP client takes request hooks (the composition root)."""

    def add_http_request_hook(self, hook: Callable[[httpx.Request], None]) -> None: ...


def enforce_on_container(container: HttpRequestHooks) -> None:
    """The container's Zoho HTTP client (built now or later) refuses requests past the deadline."""
    container.add_http_request_hook(refuse_past_deadline)
