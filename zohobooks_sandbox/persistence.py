"""Optional SQLite file so a demo sandbox survives a restart.

Simple on purpose: one row per organisation holding a pickle of its records, plus one row for
the accounts-server data (users, OAuth clients, tokens) and the id counters. Writes are
debounced: change events mark the organisation dirty and a background thread saves dirty
organisations every ``interval`` seconds; ``close()`` saves everything on shutdown.

The file is the sandbox's own (trusted) file: it is unpickled on start. Do not point
``persist_path`` at a file from elsewhere.
"""
from __future__ import annotations

import pickle
import re
import sqlite3
import threading
import time
from itertools import count
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .state import OrgData, Sandbox

SCHEMA = """
CREATE TABLE IF NOT EXISTS orgs (org_id TEXT PRIMARY KEY, data BLOB NOT NULL, saved_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, data BLOB NOT NULL);
"""
#: attributes of OrgData not saved: derived caches rebuilt on demand
_TRANSIENT = frozenset({"_memo", "version"})


def _peek(counter: Any) -> int:
    """Next value of an ``itertools.count`` without consuming it."""
    match = re.search(r"count\((-?\d+)", repr(counter))
    return int(match.group(1)) if match else 1


def org_snapshot(org: OrgData) -> bytes:
    """Every attribute of the organisation (records, sequences, counters, settings), so fields
    the core adds later are kept too; ``itertools.count`` sequences are saved as their next value."""
    data: dict[str, Any] = {}
    for name, value in vars(org).items():
        if name in _TRANSIENT:
            continue
        data[name] = ("__count__", _peek(value)) if isinstance(value, count) else value
    return pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)


def org_restore(blob: bytes) -> OrgData:
    from .state import OrgData

    data = pickle.loads(blob)  # noqa: S301 - the sandbox's own file
    org = OrgData(data["org"])
    for name, value in data.items():
        if isinstance(value, tuple) and len(value) == 2 and value[0] == "__count__":
            value = count(value[1])
        setattr(org, name, value)
    return org


class SqlitePersistence:
    """Saves a sandbox to ``path`` and restores it; thread-safe, debounced."""

    def __init__(self, sandbox: Sandbox, path: str, interval: float = 2.0) -> None:
        self.sandbox = sandbox
        self.path = path
        self.interval = interval
        self._dirty: set[str] = set()
        self._meta_dirty = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        with self._connect() as db:
            db.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    # ------------------------------------------------------------------ restore
    def has_data(self) -> bool:
        with self._connect() as db:
            return db.execute("SELECT COUNT(*) FROM orgs").fetchone()[0] > 0

    def restore(self) -> bool:
        """Load every saved organisation and the accounts data; False if the file is empty."""
        with self._connect() as db:
            rows = db.execute("SELECT org_id, data FROM orgs").fetchall()
            meta = dict(db.execute("SELECT key, data FROM meta").fetchall())
        if not rows and not meta:
            return False
        with self.sandbox.lock:
            if "accounts" in meta:
                accounts = pickle.loads(meta["accounts"])  # noqa: S301 - the sandbox's own file
                for name in ("users", "clients", "tokens"):
                    getattr(self.sandbox, name).update(accounts.get(name, {}))
                if "next_id" in accounts and hasattr(self.sandbox, "_ids"):
                    self.sandbox._ids = count(max(accounts["next_id"], _peek(self.sandbox._ids)))  # noqa: SLF001
                if "next_org_id" in accounts and hasattr(self.sandbox, "_org_ids"):
                    self.sandbox._org_ids = count(max(accounts["next_org_id"], _peek(self.sandbox._org_ids)))  # noqa: SLF001
            for org_id, blob in rows:
                self.sandbox.orgs[org_id] = org_restore(blob)
            ops = meta.get("ops")
            if ops is not None:
                self._restore_ops(pickle.loads(ops))  # noqa: S301
        return True

    # ------------------------------------------------------------------ save
    def mark_dirty(self, org_id: str | None = None) -> None:
        with self._lock:
            self._meta_dirty = True
            if org_id is not None:
                self._dirty.add(org_id)

    def on_change(self, org_id: str, module: str, event: str, record_id: str) -> None:
        """``sandbox.on_change`` listener: only marks; the thread writes."""
        self.mark_dirty(org_id)

    def save(self, org_ids: set[str] | None = None) -> int:
        """Write ``org_ids`` (default: the dirty ones) and the accounts data; returns rows written."""
        with self._lock:
            targets = set(self._dirty) if org_ids is None else set(org_ids)
            self._dirty -= targets
            self._meta_dirty = False
        with self.sandbox.lock:
            blobs = [(oid, org_snapshot(self.sandbox.orgs[oid])) for oid in targets if oid in self.sandbox.orgs]
            gone = [oid for oid in targets if oid not in self.sandbox.orgs]
            accounts = pickle.dumps({
                "users": dict(self.sandbox.users), "clients": dict(self.sandbox.clients),
                "tokens": dict(self.sandbox.tokens),
                "next_id": _peek(getattr(self.sandbox, "_ids", count(1))),
                "next_org_id": _peek(getattr(self.sandbox, "_org_ids", count(1))),
            }, protocol=pickle.HIGHEST_PROTOCOL)
            ops = pickle.dumps(self._ops_snapshot(), protocol=pickle.HIGHEST_PROTOCOL)
        now = time.time()
        with self._connect() as db:
            db.executemany("INSERT OR REPLACE INTO orgs (org_id, data, saved_at) VALUES (?, ?, ?)",
                           [(oid, blob, now) for oid, blob in blobs])
            db.executemany("DELETE FROM orgs WHERE org_id = ?", [(oid,) for oid in gone])
            db.execute("INSERT OR REPLACE INTO meta (key, data) VALUES ('accounts', ?)", (accounts,))
            db.execute("INSERT OR REPLACE INTO meta (key, data) VALUES ('ops', ?)", (ops,))
        return len(blobs)

    def save_all(self) -> int:
        return self.save(set(self.sandbox.orgs))

    def _ops_snapshot(self) -> dict[str, Any]:
        """Webhook registrations (the rest of the ops state lives in ``org.settings``)."""
        hooks = getattr(self.sandbox, "webhooks", None)
        return {"webhooks": [h.model_dump() for h in hooks.list()] if hooks is not None else []}

    def _restore_ops(self, ops: dict[str, Any]) -> None:
        hooks = getattr(self.sandbox, "webhooks", None)
        if hooks is None:
            return
        from .webhooks import Webhook

        for raw in ops.get("webhooks", []):
            hook = Webhook(**raw)
            hooks.hooks[hook.webhook_id] = hook

    # ------------------------------------------------------------------ background
    def start(self) -> None:
        """Listen for changes and save dirty organisations every ``interval`` seconds."""
        self.sandbox.on_change(self.on_change)
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="sandbox-persist", daemon=True)
            self._thread.start()

    def _accounts_fingerprint(self) -> tuple[int, int, int, int]:
        """Changes of the accounts server emit no change events; notice them by counts."""
        tokens = list(self.sandbox.tokens.values())
        return (len(self.sandbox.users), len(self.sandbox.clients), len(tokens),
                sum(1 for t in tokens if getattr(t, "revoked", False)))

    def _loop(self) -> None:
        seen = self._accounts_fingerprint()
        while not self._stop.wait(self.interval):
            current = self._accounts_fingerprint()
            with self._lock:
                pending = bool(self._dirty) or self._meta_dirty or current != seen
            if pending:
                seen = current
                self.save()

    def close(self) -> None:
        """Stop the thread and save everything (shutdown)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.save_all()
