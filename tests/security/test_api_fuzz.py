"""Schema-driven fuzzing of `/api/v1` from the app's own OpenAPI (schemathesis).

Every operation gets generated requests, valid and invalid by its schema, against the real app
with a real partner's API key and real ids substituted into some of them (so the business rules
are reached, not only the validators). Checked on every answer: no 5xx, the status is one the
OpenAPI documents, the body matches that status's schema, the content type and headers match.
Deterministic (`derandomize`) and small (`MAX_EXAMPLES` per operation), so it runs in every
`make test`; raise `LEDGERSYNC_FUZZ_EXAMPLES` to hunt further.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from cryptography.fernet import Fernet
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ledgersync.bootstrap import Container
from ledgersync.services import api_keys, customers, invoices, partners, payments
from ledgersync.services.invoices import LineItemInput
from ledgersync.settings import Settings

MAX_EXAMPLES = int(os.environ.get("LEDGERSYNC_FUZZ_EXAMPLES", "15"))
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance, content_type_conformance,
          response_headers_conformance, negative_data_rejection]


class World:
    """A container with one partner, its key and a few real ids, built once for the module."""

    def __init__(self, tmp: Path) -> None:
        settings_ = Settings(_env_file=None, env="test", database_url=f"sqlite:///{tmp / 'fuzz.db'}",  # type: ignore[call-arg]
                             token_encryption_key=Fernet.generate_key().decode(), scheduler="off")
        self.container = Container(settings_)
        partner = partners.create_partner(self.container, name="Fuzz MSP", email="fuzz@msp.test",
                                          password="fuzz-password-1").partner
        self.key = api_keys.create_api_key(self.container, partner.id).plain
        customer = customers.create_customer(self.container, partner.id, name="Fuzz customer", currency="USD")
        invoice = invoices.create_invoice(self.container, partner.id, customer_id=customer.id,
                                          line_items=[LineItemInput("Service", invoices.Decimal("3"),
                                                                    invoices.Decimal("1000.00"))])
        payment = payments.pay_invoices(self.container, partner.id,
                                        allocations=[payments.AllocationInput(invoice.id, invoices.Decimal("10.00"))])
        self.ids = {"customer_id": customer.id, "invoice_id": invoice.id, "payment_id": payment.id,
                    "payout_id": "0" * 32}

    def substitute(self, case: Any) -> None:
        """Real ids in place of generated ones for about half of the cases (chosen from the data).

        Only in cases generated to be valid: a negative case must stay invalid (an id that was
        too long, say), or the check that invalid requests are refused would be misled.
        """
        meta = getattr(case, "meta", None)
        if meta is not None and meta.generation.mode.is_negative:
            return
        for name in list(case.path_parameters or {}):
            if name in self.ids and len(str(case.path_parameters[name])) % 2 == 0:
                case.path_parameters[name] = self.ids[name]
        body = case.body
        if isinstance(body, dict):
            if isinstance(body.get("customer_id"), str):
                body["customer_id"] = self.ids["customer_id"]
            for alloc in body.get("allocations") or []:
                if isinstance(alloc, dict) and isinstance(alloc.get("invoice_id"), str):
                    alloc["invoice_id"] = self.ids["invoice_id"]
            if isinstance(body.get("payment_ids"), list):
                body["payment_ids"] = [self.ids["payment_id"] for _ in body["payment_ids"]][:3]


@pytest.fixture(scope="module")
def fuzz_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    w = World(tmp_path_factory.mktemp("fuzz"))
    yield w
    w.container.close()


def _openapi() -> dict[str, Any]:
    """The app's OpenAPI document (built on an unmigrated in-memory database: nothing is queried)."""
    from ledgersync.web.app import create_app

    container = Container(Settings(_env_file=None, env="test", database_url="sqlite://"),  # type: ignore[call-arg]
                          run_migrations=False)
    try:
        return create_app(container).openapi()
    finally:
        container.close()


class _LateApp:
    """The ASGI app the requests go to, in process; the real one is plugged in by a fixture."""

    real: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.real(scope, receive, send)


LATE_APP = _LateApp()
schema = schemathesis.openapi.from_dict(_openapi())
schema.app, schema.location = LATE_APP, "/openapi.json"


@pytest.fixture(scope="module", autouse=True)
def _serve_the_real_app(fuzz_world: World) -> None:
    """Requests go in process to the real app on the world's database."""
    from ledgersync.web.app import create_app

    LATE_APP.real = create_app(fuzz_world.container)


@schema.include(path_regex="^/api/v1").parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
def test_api_answers_only_documented_statuses_and_bodies(case: Any, fuzz_world: World) -> None:
    fuzz_world.substitute(case)
    case.call_and_validate(headers={"Authorization": f"Bearer {fuzz_world.key}"}, checks=CHECKS)
