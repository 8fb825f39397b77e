"""QA: the sandbox admin page answers a typo with a sentence (was `[<class 'decimal.ConversionSyntax'>]`,
`invalid literal for int()`), and refuses values that make no sense (negative limits, a 4-letter currency)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from zohobooks_sandbox import SandboxConfig, create_app

ORG = "700000001"


@pytest.fixture(scope="module")
def web() -> Any:
    with TestClient(create_app(SandboxConfig(demo=True))) as c:
        yield c


def _message(web: TestClient, data: dict[str, str]) -> str:
    page = web.post("/_sandbox/ui", data=data).text
    return page.split('class="msg', 1)[1].split("</div>", 1)[0]


@pytest.mark.parametrize(("data", "expected"), [
    ({"action": "edit_invoice", "invoice_id": "x", "amount": "abc"}, "amount must be a number like 125.00"),
    ({"action": "payment", "invoice_id": "x", "amount": "NaN"}, "amount must be a number"),
    ({"action": "generate", "customers": "abc"}, "customers must be a whole number"),
    ({"action": "limits", "per_minute": "-1"}, "per_minute must be at least 1"),
    ({"action": "create_org", "name": "X", "currency_code": "ZZZZ"}, "3-letter ISO code"),
])
def test_bad_input_is_explained(web: TestClient, data: dict[str, str], expected: str) -> None:
    msg = _message(web, {"org_id": ORG, **data})
    assert msg.startswith(' err">Invalid input:'), msg
    assert expected in msg
    assert "decimal." not in msg and "literal" not in msg


def test_unknown_organisation_is_shown_as_an_error(web: TestClient) -> None:
    assert _message(web, {"action": "payment", "org_id": "999", "invoice_id": "1"}).startswith(' err">')


def test_limits_still_update(web: TestClient) -> None:
    assert "Limits updated" in _message(web, {"action": "limits", "org_id": ORG, "per_minute": "90"})
    web.post("/_sandbox/ui", data={"action": "limits", "org_id": ORG, "per_minute": "100"})
