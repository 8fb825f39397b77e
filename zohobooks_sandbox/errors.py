"""Zoho's error answers: ONE table of (HTTP status, Zoho code, message) and the exceptions
the handlers raise.

| key              | HTTP | code | message (Zoho's wording where known)                         |
|------------------|------|------|--------------------------------------------------------------|
| invalid_token    | 401  | 14   | Invalid OAuth token. (expired, revoked, unknown token)        |
| no_auth          | 401  | 14   | Invalid OAuth token. (no Authorization header)               |
| not_authorized   | 401  | 57   | You are not authorized to perform this operation (scope, org of another user, wrong DC) |
| org_missing      | 400  | 6    | Invalid value passed for organization_id  (missing)          |
| org_invalid      | 401  | 6041 | This user is not associated with the CompanyID/CompanyName:… |
| not_found        | 404  | 1002 | "<Resource> does not exist."                                 |
| invalid_url      | 404  | 5    | Invalid URL Passed                                           |
| method_not_allowed | 405 | 37  | The HTTP method <m> is not allowed for the requested resource |
| invalid_value    | 400  | 2    | Invalid value passed for <field>                              |
| missing_field    | 400  | 4    | <field> is required / Please enter ... (field named)          |
| invalid_json     | 400  | 4    | Invalid value passed for JSONString                          |
| already_exists   | 400  | 1070 | "<thing> already exists."                                     |
| per_page_too_big | clamp | –   | per_page above 200 is clamped to 200 (Zoho answers 200 rows)  |
| rate_limited     | 429  | 44 / 45 | "You have made too many requests…" (sandbox-ops)          |
| contact_in_use   | 400  | 1040 | contact has transactions, cannot be deleted                  |
| invoice_paid     | 400  | 9007 | invoice with payments/credits cannot be deleted/voided       |
| over_applied     | 400  | 36023 | amount applied exceeds invoice balance                      |
| amount_too_small | 400  | 36022 | amount less than sum applied / invoice total below paid     |
| bad_state        | 400  | 1001 | operation not allowed in the record's current state           |

Code 14 was picked for expired/invalid tokens because Zoho answers "Invalid OAuth token"
with code 14 for both; 57 is kept for "authenticated but not allowed".
"""
from __future__ import annotations

from dataclasses import dataclass


class ConnectionDropped(Exception):
    """Raised by a guard/fault after the write is applied: the client gets no answer.

    ``SandboxTransport`` turns it into ``httpx.RemoteProtocolError``."""


class SimulatedTimeout(Exception):
    """Raised by a guard/fault to simulate a server that answers too late.

    ``SandboxTransport`` turns it into ``httpx.ReadTimeout``."""


@dataclass
class ZohoError(Exception):
    """An API failure with Zoho's HTTP status, numeric code and message."""

    status: int
    code: int
    message: str

    def __str__(self) -> str:
        return f"{self.status} code={self.code} {self.message}"

    def body(self) -> dict:
        return {"code": self.code, "message": self.message}


def invalid_token() -> ZohoError:
    return ZohoError(401, 14, "Invalid OAuth token.")


def not_authorized() -> ZohoError:
    return ZohoError(401, 57, "You are not authorized to perform this operation")


def org_missing() -> ZohoError:
    return ZohoError(400, 6, "Invalid value passed for organization_id")


def org_invalid(org_id: str) -> ZohoError:
    return ZohoError(401, 6041, f"This user is not associated with the CompanyID/CompanyName:{org_id}.")


def not_found(resource: str) -> ZohoError:
    return ZohoError(404, 1002, f"{resource} does not exist.")


def invalid_url() -> ZohoError:
    return ZohoError(404, 5, "Invalid URL Passed")


def method_not_allowed(method: str) -> ZohoError:
    return ZohoError(405, 37, f"The HTTP method {method} is not allowed for the requested resource")


def invalid_value(field: str) -> ZohoError:
    return ZohoError(400, 2, f"Invalid value passed for {field}")


def missing_field(field: str) -> ZohoError:
    return ZohoError(400, 4, f"{field} is required")


def invalid_json() -> ZohoError:
    return ZohoError(400, 4, "Invalid value passed for JSONString")


def already_exists(what: str) -> ZohoError:
    return ZohoError(400, 1070, f"{what} already exists.")


def contact_in_use() -> ZohoError:
    return ZohoError(400, 1040, "The contact cannot be deleted as there are transactions associated with it. "
                                "You can mark the contact as inactive instead.")


def invoice_has_payments(action: str = "deleted") -> ZohoError:
    return ZohoError(400, 9007, f"Invoices which have payments or credits applied cannot be {action}.")


def over_applied(invoice_number: str) -> ZohoError:
    return ZohoError(400, 36023, f"The amount applied to invoice {invoice_number} is greater than its balance due.")


def amount_too_small(message: str) -> ZohoError:
    return ZohoError(400, 36022, message)


def bad_state(message: str) -> ZohoError:
    return ZohoError(400, 1001, message)


def rate_limited(message: str, code: int = 44) -> ZohoError:
    return ZohoError(429, code, message)
