"""Reading from Zoho ahead of the engine (issue 13: a work-conserving pace).

The pull is paced by the limiter. Read serially, no call is in flight while the engine applies
a page or commits a batch: at Zoho's 100 calls a minute each call, applying included, has 0.6 s,
and a slow commit or a slow network reply makes the stream fall behind the pace it is allowed
(the limiter's minute log does not let it catch up later: what a pause did not spend is lost).
So the calls run on one background thread (`CallThread`) while the engine applies and commits on
its own: `ReadAhead` keeps up to `depth` detail reads in flight, and a list stream asks for its
next page (`listing.run_list_stream`) before applying the page it has.

Why it stays deterministic (tests count calls):

* Reads are issued by consumption: read ``i + depth`` is submitted when record ``i`` is taken
  (the next list page when the page before it arrived), and one worker runs them in order.
  Which calls are made therefore depends only on how far the engine consumed, never on timing.
* After a read fails (the budget is spent, the task's deadline passed, Zoho refused), the reads
  queued behind it fail the same way without calling Zoho.
* On leaving (normally or by an exception in the engine), the reads already issued finish and
  their records are dropped: at most ``depth`` calls (one list page) whose records the next run
  reads again.
  The engine only commits what it took, so its cursor never moves past a record it did not store.

The engine's tables are written only by the engine's thread, and it never waits for a read while
a transaction of its own is open. The background thread calls Zoho; on the way, the token
provider may read the connection's token or store a refreshed one in a short transaction of its
own (it waits at most for the engine's current commit). The client counts its calls under a
lock; the limiters and the token provider are thread-safe.
Each read runs in a copy of the engine's context (`contextvars`), so the task's deadline
(`workers.deadline`) and the log's bound ids hold on the background thread too.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextvars import Context, copy_context
from types import TracebackType
from typing import Any, Generic, TypeVar

Key = TypeVar("Key")
Result = TypeVar("Result")
Record = dict[str, Any] | None


class CallThread:
    """One background thread for Zoho calls. Each call runs in a copy of the caller's context,
    so the task's deadline and the log's bound ids hold there too. Leaving waits for the calls
    already submitted (see module docstring)."""

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._context: Context | None = None

    def __enter__(self) -> CallThread:
        self._context = copy_context()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="zoho-read-ahead")
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def submit(self, fn: Callable[..., Result], *args: Any) -> Future[Result]:
        if self._pool is None or self._context is None:
            raise RuntimeError("CallThread used outside its `with` block")
        context = self._context.copy()  # a context runs on one thread at a time
        return self._pool.submit(context.run, fn, *args)


class ReadAhead(Generic[Key]):
    """Iterate ``(key, read(key))`` over ``keys`` in order, with ``depth`` reads in flight.

    ``depth`` 0 reads on the caller's thread, one at a time (the serial engine)."""

    def __init__(self, read: Callable[[Key], Record], keys: Sequence[Key], depth: int) -> None:
        self._read = read
        self._keys = keys
        self._depth = max(0, int(depth))
        self._failure: BaseException | None = None
        self._calls: CallThread | None = None
        self._pending: deque[tuple[Key, Future[Record]]] = deque()
        self._next = 0

    def __enter__(self) -> ReadAhead[Key]:
        if self._depth:
            self._calls = CallThread().__enter__()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._calls is not None:
            self._calls.__exit__(exc_type, exc, tb)  # reads already issued finish
            self._calls = None
        self._pending.clear()

    def __iter__(self) -> Iterator[tuple[Key, Record]]:
        if self._calls is None:
            for key in self._keys:
                yield key, self._read(key)
            return
        while self._next < len(self._keys) and len(self._pending) < self._depth:
            self._issue()
        while self._pending:
            key, future = self._pending.popleft()
            record = future.result()  # re-raises the read's failure here, in order
            if self._next < len(self._keys):
                self._issue()
            yield key, record

    def _issue(self) -> None:
        assert self._calls is not None
        key = self._keys[self._next]
        self._next += 1
        self._pending.append((key, self._calls.submit(self._guarded, key)))

    def _guarded(self, key: Key) -> Record:
        """Runs on the worker: once a read failed, the later ones fail alike without calling."""
        if self._failure is not None:
            raise self._failure
        try:
            return self._read(key)
        except BaseException as exc:
            self._failure = exc
            raise
