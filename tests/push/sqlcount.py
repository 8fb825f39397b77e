"""Count the SQL a push really runs: statements and commits, each attributed to the engine step.

`SqlCounter(engine)` listens to the engine's `before_cursor_execute` and `commit` events (every
connection of the pool, every thread) while it is entered. Each statement and commit is
attributed to the innermost frame of `ledgersync/sync/` that issued it (`module.function`), so a
report says where the database work of a drain goes (claim, fencing, steps, refresh, run log, …).

Used by `tests/push/test_push_sql_budget.py` (which pins the counts per intent) and by
`bench/push_sql.py` (which prints the breakdown).
"""

from __future__ import annotations

import sys
import threading
from collections import Counter
from dataclasses import dataclass, field
from types import FrameType, TracebackType
from typing import Any

from sqlalchemy import Engine, event

_PACKAGE_MARK = "/ledgersync/sync/"


def _where(frame: FrameType | None) -> str:
    """The innermost `ledgersync/sync/...` function on the stack (`push.engine._finish`)."""
    while frame is not None:
        path = frame.f_code.co_filename.replace("\\", "/")
        if _PACKAGE_MARK in path:
            module = path.split(_PACKAGE_MARK, 1)[1].removesuffix(".py").replace("/", ".")
            return f"{module}.{frame.f_code.co_name}"
        frame = frame.f_back
    return "(outside ledgersync.sync)"


@dataclass
class SqlCounter:
    """Statements and commits on `engine` while entered (all threads)."""

    engine: Engine
    statements: int = 0
    commits: int = 0
    by_site: Counter[str] = field(default_factory=Counter)
    commits_by_site: Counter[str] = field(default_factory=Counter)
    sql: list[tuple[str, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _on_execute(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                    executemany: bool) -> None:
        site = _where(sys._getframe(1))
        with self._lock:
            self.statements += 1
            self.by_site[site] += 1
            self.sql.append((site, " ".join(statement.split())[:160]))

    def _on_commit(self, conn: Any) -> None:
        site = _where(sys._getframe(1))
        with self._lock:
            self.commits += 1
            self.commits_by_site[site] += 1

    def __enter__(self) -> SqlCounter:
        event.listen(self.engine, "before_cursor_execute", self._on_execute)
        event.listen(self.engine, "commit", self._on_commit)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        event.remove(self.engine, "before_cursor_execute", self._on_execute)
        event.remove(self.engine, "commit", self._on_commit)

    def report(self) -> str:
        """One line per site: statements / commits, most statements first."""
        sites = sorted(set(self.by_site) | set(self.commits_by_site), key=lambda s: (-self.by_site[s], s))
        lines = [f"{self.by_site[s]:4d} stmts {self.commits_by_site[s]:3d} commits  {s}" for s in sites]
        lines.append(f"{self.statements:4d} stmts {self.commits:3d} commits  total")
        return "\n".join(lines)
