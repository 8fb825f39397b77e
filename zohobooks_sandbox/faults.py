"""Faults on demand, per organisation, deterministic by seed.

A :class:`FaultPlan` holds *rules* (a probability per fault kind, with filters) and a
*script* (explicit faults for the next matching calls, consumed in order). The
:class:`FaultInjector` decides, for each Books call, which fault (if any) applies; it draws
from one ``random.Random`` per organisation seeded with ``f"{seed}:{org_id}"``, so the same
sequence of calls under the same seed meets the same faults: a chaos campaign is
reproducible.

Fault kinds (what the guard does with them):

* ``server_error`` – answer HTTP 500 (or 503) with a Zoho-like error body, handler not run.
* ``latency`` – sleep ``latency_seconds`` of *sandbox* time (divided by ``time_scale``) and
  then run the call normally; longer than the client's timeout it becomes ``ReadTimeout``.
* ``rate_limit`` – a burst of ``burst`` consecutive HTTP 429 (code 44) answers.
* ``token_revoked`` – the caller's access and refresh tokens are revoked, then 401 (code 14
  "Invalid value passed for authtoken"), as when the user disconnects the app in Zoho.
* ``malformed`` – the handler runs, the JSON body is cut in half.
* ``drop_after_write`` – "accepted then connection dropped": the handler runs and its write
  is applied, then the connection is dropped so the client never sees the answer.
* ``drop_before_write`` – the connection drops before the request reaches the handler: nothing
  is applied, and the client cannot tell this from ``drop_after_write``.

Decided is not fired: ``injected`` counts decisions; ``fired`` counts what really happened to a
call, recorded by the guard at the moment it happens (a 429 burst fires once, however many 429
answers it makes; a malformed body only when there was a body to cut; a drop after write only
when the write was applied; a revocation only when a token was revoked). Each rule may carry a
``name`` under which it is counted (``"timeout"`` for a latency longer than the client waits).

Filters: ``ops`` (glob patterns on the operation name, e.g. ``"invoices.*"``,
``"customerpayments.create"``) and ``methods`` (HTTP methods, or ``"write"`` for
POST/PUT/PATCH/DELETE, ``"read"`` for GET).
"""
from __future__ import annotations

import fnmatch
import random
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum

from pydantic import BaseModel, Field


class FaultKind(str, Enum):
    NONE = "none"
    SERVER_ERROR = "server_error"
    LATENCY = "latency"
    RATE_LIMIT = "rate_limit"
    TOKEN_REVOKED = "token_revoked"
    MALFORMED = "malformed"
    DROP_AFTER_WRITE = "drop_after_write"
    DROP_BEFORE_WRITE = "drop_before_write"


WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class FaultRule(BaseModel):
    """One fault kind with its trigger (probability, or one scripted use) and filters."""

    kind: FaultKind
    probability: float = Field(default=1.0, ge=0.0, le=1.0, description="Chance per matching call (rules only).")
    status: int = Field(default=500, description="HTTP status of a server_error (500 or 503).")
    latency_seconds: float = Field(default=0.0, ge=0.0, description="Sandbox seconds of delay (latency).")
    burst: int = Field(default=1, ge=1, description="Consecutive 429 answers of a rate_limit fault.")
    ops: list[str] | None = Field(default=None, description="Glob patterns on the op name, e.g. invoices.*")
    methods: list[str] | None = Field(default=None, description="HTTP methods, or 'write' / 'read'.")
    name: str | None = Field(default=None, description="Counted under this name when it fires (default: kind).")

    @property
    def label(self) -> str:
        return self.name or self.kind.value

    def matches(self, op: str, method: str) -> bool:
        """Whether a call of ``op`` with HTTP ``method`` is subject to this rule."""
        if self.ops and not any(fnmatch.fnmatchcase(op, pattern) for pattern in self.ops):
            return False
        if self.methods:
            method = method.upper()
            wanted = {m.upper() for m in self.methods}
            ok = method in wanted or ("WRITE" in wanted and method in WRITE_METHODS) or (
                "READ" in wanted and method not in WRITE_METHODS
            )
            if not ok:
                return False
        return True


class FaultPlan(BaseModel):
    """The faults of one organisation: random rules and an explicit script.

    The script is consumed first: each call takes the first script entry whose filters match
    it (an entry of kind ``none`` lets one matching call through untouched). Only when no
    script entry matches are the rules drawn, in order, each with its probability.
    """

    seed: int | None = Field(default=None, description="Seed of this org's fault RNG (default: sandbox seed).")
    rules: list[FaultRule] = Field(default_factory=list)
    script: list[FaultRule] = Field(default_factory=list)


@dataclass
class Fault:
    """A fault chosen for one call."""

    kind: FaultKind
    rule: FaultRule
    continues_burst: bool = False  # a later 429 of a burst that already fired

    @property
    def status(self) -> int:
        return self.rule.status


@dataclass
class _OrgFaultState:
    plan: FaultPlan
    rng: random.Random
    script: list[FaultRule]
    burst_left: int = 0
    burst_rule: FaultRule | None = None
    injected: dict[str, int] = field(default_factory=dict)


class FaultInjector:
    """Chooses faults per call; thread-safe; one RNG per organisation."""

    def __init__(self, default_seed: int = 42) -> None:
        self.default_seed = default_seed
        self._lock = threading.Lock()
        self._orgs: dict[str, _OrgFaultState] = {}
        self._fired: dict[str, dict[str, int]] = {}

    def set_plan(self, org_id: str, plan: FaultPlan | None) -> None:
        """Install (or with ``None`` clear) the plan of ``org_id``; reseeds its RNG."""
        with self._lock:
            if plan is None or (not plan.rules and not plan.script):
                self._orgs.pop(org_id, None)
                return
            seed = plan.seed if plan.seed is not None else self.default_seed
            self._orgs[org_id] = _OrgFaultState(
                plan=plan, rng=random.Random(f"{seed}:{org_id}"), script=list(plan.script)
            )

    def add_script(self, org_id: str, entries: Iterable[FaultRule]) -> None:
        """Append scripted faults for the next matching calls of ``org_id``."""
        with self._lock:
            state = self._orgs.get(org_id)
            if state is None:
                plan = FaultPlan()
                state = self._orgs[org_id] = _OrgFaultState(
                    plan=plan, rng=random.Random(f"{self.default_seed}:{org_id}"), script=[]
                )
            state.script.extend(entries)

    def plan(self, org_id: str) -> FaultPlan:
        """The plan of ``org_id`` with the script entries not yet consumed."""
        with self._lock:
            state = self._orgs.get(org_id)
            if state is None:
                return FaultPlan()
            return FaultPlan(seed=state.plan.seed, rules=list(state.plan.rules), script=list(state.script))

    def injected(self, org_id: str) -> dict[str, int]:
        """How many faults of each kind were injected for ``org_id``."""
        with self._lock:
            state = self._orgs.get(org_id)
            return dict(state.injected) if state else {}

    def fire(self, org_id: str, label: str) -> None:
        """Record that a fault really happened to a call (the guard calls this when it does)."""
        with self._lock:
            counts = self._fired.setdefault(org_id, {})
            counts[label] = counts.get(label, 0) + 1

    def fired(self, org_id: str) -> dict[str, int]:
        """Faults that really happened to calls of ``org_id``, by rule label (see module doc).

        Kept apart from the plan: clearing or replacing a plan does not forget what fired."""
        with self._lock:
            return dict(self._fired.get(org_id, {}))

    def decide(self, org_id: str, op: str, method: str) -> Fault | None:
        """The fault for this call, or ``None``; consumes script entries and RNG draws."""
        with self._lock:
            state = self._orgs.get(org_id)
            if state is None:
                return None
            fault = self._decide(state, op, method)
            if fault is not None and fault.kind is not FaultKind.NONE:
                state.injected[fault.kind.value] = state.injected.get(fault.kind.value, 0) + 1
                return fault
            return None

    @staticmethod
    def _decide(state: _OrgFaultState, op: str, method: str) -> Fault | None:
        if state.burst_left > 0 and state.burst_rule is not None and state.burst_rule.matches(op, method):
            state.burst_left -= 1
            return Fault(FaultKind.RATE_LIMIT, state.burst_rule, continues_burst=True)
        for index, entry in enumerate(state.script):
            if entry.matches(op, method):
                del state.script[index]
                return FaultInjector._start(state, entry)
        for rule in state.plan.rules:
            if not rule.matches(op, method):
                continue
            # One draw per matching rule, whatever its outcome: keeps the sequence stable.
            if state.rng.random() < rule.probability:
                return FaultInjector._start(state, rule)
        return None

    @staticmethod
    def _start(state: _OrgFaultState, rule: FaultRule) -> Fault:
        if rule.kind is FaultKind.RATE_LIMIT and rule.burst > 1:
            state.burst_left = rule.burst - 1
            state.burst_rule = rule
        return Fault(rule.kind, rule)


def truncate_body(body: bytes) -> bytes:
    """A malformed reply: the first half of the JSON (never valid JSON for a non-empty object)."""
    if len(body) <= 1:
        return b"{"
    return body[: max(1, len(body) // 2)]
