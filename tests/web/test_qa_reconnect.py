"""QA: pushes waiting on a broken connection go out as soon as the partner fixes it.

Walking the demo: the Zoho user revoked the app's tokens, a payment made meanwhile showed
"waiting — reconnect Zoho Books"; after Reconnect (or Set Up Accounts) it still waited for the
scheduled safety-net drain. Now both wake the dispatcher for the partner's connection.
"""

from __future__ import annotations

from typing import Any

from ledgersync.bootstrap import Container
from ledgersync.services import integration
from ledgersync.store import orm
from ledgersync.sync.ports import NullDispatcher
from tests.plugins.zoho_fixtures import connect_partner


class RecordingDispatcher:
    def __init__(self) -> None:
        self.pushes: list[str] = []

    def push_requested(self, connection_id: str) -> None:
        self.pushes.append(connection_id)

    def pull_requested(self, connection_id: str, stream: str | None, trigger: str) -> None: ...

    def notify(self, partner_id: str) -> None: ...


def test_reconnect_and_set_up_accounts_wake_waiting_pushes(container: Container, partner: orm.Partner,
                                                           sandbox_app: Any, zoho_rate_limiter: Any) -> None:
    dispatcher = RecordingDispatcher()
    container.dispatcher = dispatcher
    try:
        conn = connect_partner(container, partner.id, setup_accounts=False)
        dispatcher.pushes.clear()
        connect_partner(container, partner.id, setup_accounts=False)  # Reconnect (same organisation)
        assert dispatcher.pushes == [conn.id]
        choices = integration.account_choices(container, partner.id)
        integration.save_accounts(container, partner.id, undeposited_account_id=choices.selected_undeposited,
                                  bank_account_id=choices.bank[0].account_id, fees_account_id=choices.selected_fees)
        assert dispatcher.pushes == [conn.id, conn.id]
    finally:
        container.dispatcher = NullDispatcher()
