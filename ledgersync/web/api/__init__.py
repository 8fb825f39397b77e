"""The JSON REST API under `/api/v1`, authenticated by partner API keys.

`router` is included by `ledgersync.web.app.create_app`; the app's `/openapi.json` documents it.
Money is sent as decimal strings (see `schemas`). Errors: 401 bad/missing key, 404 unknown id
(including another partner's), 409 state conflict, 422 invalid input naming the field.
"""

from __future__ import annotations

from fastapi import APIRouter

from ledgersync.web.api import customers, integration, invoices, payments, payouts
from ledgersync.web.api.deps import ERROR_RESPONSES

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)
for _module in (customers, invoices, payments, payouts, integration):
    router.include_router(_module.router)

__all__ = ["router"]
