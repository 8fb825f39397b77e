"""Authentication and error mapping of the REST API.

Clients authenticate with a partner API key, as `Authorization: Bearer <key>` or `X-API-Key:
<key>`. Service errors become JSON responses: `InvalidInput` → 422 in FastAPI's own error shape
(`detail[].loc` names the field), `NotFound` → 404 (also for other partners' ids, so existence
is never disclosed), `Conflict` → 409, bad key → 401.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any, Literal

from fastapi import Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from ledgersync.bootstrap import Container
from ledgersync.services import api_keys
from ledgersync.services.errors import AuthenticationFailed, Conflict, InvalidInput, NotFound

_bearer = HTTPBearer(auto_error=False, description="Partner API key `ls_live_...`")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="Partner API key `ls_live_...`")


class ErrorOut(BaseModel):
    """Every error of `/api/v1` but 422: what went wrong, in a sentence."""

    detail: str


#: Documented on every `/api/v1` operation (the router's `responses`), so each answer a client can
#: get is in the OpenAPI with its body: 422 (validation, FastAPI's shape) is added by FastAPI.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "The body is not parseable (not JSON, or not the declared encoding)."},
    401: {"model": ErrorOut, "description": "Missing or invalid API key."},
    404: {"model": ErrorOut, "description": "No such object for this partner (another partner's ids included)."},
    409: {"model": ErrorOut, "description": "The object's state does not allow this (e.g. already settled)."},
}


class ApiAuthError(Exception):
    """No or a wrong API key."""


def get_container(request: Request) -> Container:
    return request.app.state.container


ApiContainer = Annotated[Container, Depends(get_container)]


def api_partner_id(
    container: ApiContainer,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    header_key: Annotated[str | None, Depends(_header)],
) -> str:
    """The id of the partner whose API key authenticated this request."""
    key = bearer.credentials if bearer is not None else header_key
    if not key:
        raise ApiAuthError("missing API key")
    try:
        return api_keys.partner_for_key(container, key)
    except AuthenticationFailed as err:
        raise ApiAuthError("invalid API key") from err


ApiPartner = Annotated[str, Depends(api_partner_id)]

#: one `archived` filter for every resource that can be archived (customers and invoices)
Archived = Annotated[Literal["false", "true", "all"], Query(
    description="false: active only (default); true: archived only; all: both")]
ARCHIVED: dict[str, bool | None] = {"false": False, "true": True, "all": None}


def error_response(exc: Exception, body_prefix: str = "body") -> JSONResponse | None:
    """The JSON response for a known error, None for anything else (a real 500)."""
    if isinstance(exc, ApiAuthError):
        return JSONResponse({"detail": str(exc)}, status_code=401, headers={"WWW-Authenticate": "Bearer"})
    if isinstance(exc, InvalidInput):
        parts = [body_prefix, *exc.field.replace("[", ".").replace("]", "").split(".")]
        loc: list[int | str] = [int(p) if p.isdigit() else p for p in parts]
        detail = [{"type": "value_error", "loc": loc, "msg": exc.message, "field": exc.field}]
        return JSONResponse({"detail": detail}, status_code=422)
    if isinstance(exc, NotFound):
        return JSONResponse({"detail": str(exc)}, status_code=404)
    if isinstance(exc, Conflict):
        return JSONResponse({"detail": str(exc)}, status_code=409)
    return None


class ApiRoute(APIRoute):
    """Route class that maps service errors to responses (routers cannot own exception handlers)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        body_prefix = "query" if self.methods and self.methods <= {"GET", "HEAD"} else "body"

        async def mapped(request: Request) -> Response:
            try:
                return await handler(request)
            except (ApiAuthError, InvalidInput, NotFound, Conflict) as exc:
                response = error_response(exc, body_prefix)
                assert response is not None
                return response

        return mapped
