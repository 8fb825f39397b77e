"""What the dashboard shows about pushes: each payment's and payout's Zoho sync state, in words
(presentation of the push outbox, so it lives with the pages, not in the sync engine).

The pages read intents by their stable keys (`ls:pay:{id}`, `ls:rev:{id}`, `ls:payout:{id}`)
and turn the outbox state into a label a partner understands: pending, sending, checking
(a look-up after an unknown outcome), waiting (why), synced (Zoho id), failed (reason, Retry),
not needed (e.g. the payment failed before it was pushed).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from ledgersync.domain.push_intent import IntentDetail
from ledgersync.store.orm import PushIntent
from ledgersync.sync import outbox
from ledgersync.sync.ports import Transactional

LABELS = {
    "pending": ("pending", "pending"),
    "in_flight": ("sending", "running"),
    "uncertain": ("checking Zoho", "running"),
    "waiting": ("waiting", "pending"),
    "done": ("synced", "succeeded"),
    "failed": ("failed", "failed"),
    "cancelled": ("not needed", "draft"),
}


@dataclass(frozen=True)
class SyncState:
    intent_id: str
    key: str
    kind: str
    state: str
    label: str
    badge: str
    zoho_id: str | None
    reason: str | None
    flags: tuple[str, ...]
    unused_credit: str | None
    step_ids: tuple[tuple[str, str], ...] = ()  # (step, Zoho id) of every recorded write: transfer, fees, …

    def step_id(self, step: str) -> str | None:
        return dict(self.step_ids).get(step)

    @property
    def retryable(self) -> bool:
        return self.state in ("failed", "waiting")


def _view(intent: PushIntent) -> SyncState:
    label, badge = LABELS.get(intent.state, (intent.state, "pending"))
    detail = intent.detail or {}
    unused = detail.get("unused_credit")
    reason = intent.last_error if intent.state in ("waiting", "failed", "cancelled", "pending", "uncertain") else None
    steps = IntentDetail.from_json(detail).steps
    return SyncState(intent.id, intent.key, intent.kind, intent.state, label, badge, intent.zoho_id, reason,
                     tuple(detail.get("flags") or ()), unused if unused not in (None, "0", "0.00") else None,
                     tuple((name, rec.zoho_id) for name, rec in steps.items() if rec.zoho_id))


def sync_states(container: Transactional, partner_id: str, keys: list[str]) -> dict[str, SyncState]:
    """The partner's intents among `keys`, by key (missing = nothing to push yet)."""
    if not keys:
        return {}
    with container.uow() as uow:
        rows = uow.session.scalars(select(PushIntent).where(PushIntent.partner_id == partner_id,
                                                            PushIntent.key.in_(keys))).all()
        return {r.key: _view(r) for r in rows}


def payment_states(container: Transactional, partner_id: str, payment_ids: list[str]) -> dict[str, dict[str, SyncState]]:
    """For each payment id: `{"push": SyncState?, "reversal": SyncState?}`."""
    keys = [outbox.payment_key(p) for p in payment_ids] + [outbox.reversal_key(p) for p in payment_ids]
    found = sync_states(container, partner_id, keys)
    out: dict[str, dict[str, SyncState]] = {}
    for pid in payment_ids:
        entry = {}
        if outbox.payment_key(pid) in found:
            entry["push"] = found[outbox.payment_key(pid)]
        if outbox.reversal_key(pid) in found:
            entry["reversal"] = found[outbox.reversal_key(pid)]
        out[pid] = entry
    return out


def payout_states(container: Transactional, partner_id: str, payout_ids: list[str]) -> dict[str, SyncState]:
    found = sync_states(container, partner_id, [outbox.payout_key(p) for p in payout_ids])
    return {pid: found[outbox.payout_key(pid)] for pid in payout_ids if outbox.payout_key(pid) in found}
