"""Incidents of a connection, stored once and told once: a banner on the dashboard and an
e-mail when one opens, one "resolved" e-mail when it closes (rules: `domain/alerts.py`).

`evaluate(container, connection_id)` runs after every sync run (and after a status change):
it opens the incidents that became true, resolves those that are no longer true, then sends
the e-mails not sent yet. Each e-mail is claimed first (compare-and-set on its timestamp), so
two workers evaluating at once send it once; a failed send is released and retried at the
next evaluation.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any, Protocol

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ledgersync.domain.alerts import TEXTS, AlertKind, active_kinds
from ledgersync.settings import Settings
from ledgersync.store.orm import Connection, ConnectionAlert, SyncError, User
from ledgersync.sync.mail import send_mail
from ledgersync.sync.ports import Transactional

log = logging.getLogger(__name__)


class AlertsHost(Transactional, Protocol):
    """What this module needs of the composition root: units of work and the settings (SMTP, base URL)."""

    @property
    def settings(self) -> Settings: ...


def _now() -> datetime:
    return datetime.now(timezone.utc)


def open_alerts(session: Session, partner_id: str) -> list[ConnectionAlert]:
    """The partner's open incidents, oldest first (the dashboard's banners)."""
    return list(session.execute(
        select(ConnectionAlert).where(ConnectionAlert.partner_id == partner_id, ConnectionAlert.resolved_at.is_(None))
        .order_by(ConnectionAlert.opened_at)
    ).scalars())


def banners(session: Session, partner_id: str) -> list[dict[str, Any]]:
    return [{"kind": a.kind, "title": TEXTS[AlertKind(a.kind)].title, "action": TEXTS[AlertKind(a.kind)].action,
             "path": TEXTS[AlertKind(a.kind)].path, "detail": a.detail, "opened_at": a.opened_at}
            for a in open_alerts(session, partner_id)]


def evaluate(container: AlertsHost, connection_id: str) -> None:
    """Open / resolve the connection's incidents, then send what is due. Never raises."""
    try:
        _update_incidents(container, connection_id)
        _send_due(container, connection_id)
    except Exception:  # an alert must never break a sync
        log.exception("alerts.evaluate_failed connection=%s", connection_id)


def _update_incidents(container: AlertsHost, connection_id: str) -> None:
    with container.uow() as uow:
        s = uow.session
        conn = s.get(Connection, connection_id)
        if conn is None:
            return
        oldest = s.execute(select(func.min(SyncError.created_at)).where(
            SyncError.connection_id == connection_id, SyncError.resolved_at.is_(None))).scalar_one()
        now = _now()
        age = now - oldest if oldest is not None else None
        wanted = active_kinds(conn.status, age)
        current = {a.kind: a for a in s.execute(select(ConnectionAlert).where(
            ConnectionAlert.connection_id == connection_id, ConnectionAlert.resolved_at.is_(None))).scalars()}
        for kind in wanted:
            if kind.value not in current:
                s.add(ConnectionAlert(connection_id=connection_id, partner_id=conn.partner_id, kind=kind.value,
                                      detail=conn.status_detail if kind is not AlertKind.STALE_ERRORS else None,
                                      opened_at=now))
        for kind_value, alert in current.items():
            if AlertKind(kind_value) not in wanted:
                alert.resolved_at = now
        uow.commit()


def _recipients(session: Session, partner_id: str) -> list[str]:
    return list(session.execute(select(User.email).where(User.partner_id == partner_id, User.is_active.is_(True))
                                .order_by(User.email)).scalars())


def _send_due(container: AlertsHost, connection_id: str) -> None:
    settings = container.settings
    if not settings.smtp_url:
        return
    with container.uow() as uow:
        due = uow.session.execute(select(ConnectionAlert).where(
            ConnectionAlert.connection_id == connection_id,
            (ConnectionAlert.notified_at.is_(None)) | (ConnectionAlert.resolved_at.is_not(None)
                                                       & ConnectionAlert.resolved_notified_at.is_(None)))
        ).scalars().all()
        recipients = _recipients(uow.session, due[0].partner_id) if due else []
        jobs = [(a.id, a.kind, a.detail, a.notified_at is None, a.resolved_at is not None) for a in due]
    for alert_id, kind, detail, opening, resolved in jobs:
        if opening:
            _send_one(container, alert_id, "notified_at", recipients, _opened_mail(settings, kind, detail))
        if resolved:
            _send_one(container, alert_id, "resolved_notified_at", recipients, _resolved_mail(settings, kind))


def _send_one(container: AlertsHost, alert_id: int, column: str, recipients: list[str],
              mail: tuple[str, str]) -> None:
    field = getattr(ConnectionAlert, column)
    with container.uow() as uow:  # claim it: only one worker sends
        claimed = uow.session.execute(update(ConnectionAlert).where(ConnectionAlert.id == alert_id, field.is_(None))
                                      .values({column: _now()}).execution_options(synchronize_session=False))
        uow.commit()
    if claimed.rowcount != 1:  # type: ignore[attr-defined]  # an UPDATE's result
        return
    settings = container.settings
    if send_mail(settings.smtp_url, settings.mail_from, recipients, *mail):
        return
    with container.uow() as uow:  # not sent: release the claim, the next evaluation retries
        uow.session.execute(update(ConnectionAlert).where(ConnectionAlert.id == alert_id)
                            .values({column: None}).execution_options(synchronize_session=False))
        uow.commit()


def _link(settings: Settings, path: str) -> str:
    return settings.base_url.rstrip("/") + path


def _opened_mail(settings: Settings, kind: str, detail: str | None) -> tuple[str, str]:
    text = TEXTS[AlertKind(kind)]
    lines = [text.action]
    if detail:
        lines += ["", f"What we saw: {detail}"]
    lines += ["", f"Open: {_link(settings, text.path)}", "",
              "You get one message when this starts and one when it is resolved."]
    return f"[ledgersync] {text.title}", "\n".join(lines)


def _resolved_mail(settings: Settings, kind: str) -> tuple[str, str]:
    text = TEXTS[AlertKind(kind)]
    return (f"[ledgersync] Resolved: {text.title}",
            f"This is resolved: syncing with Zoho Books is back to normal.\n\nOpen: {_link(settings, text.path)}\n")
