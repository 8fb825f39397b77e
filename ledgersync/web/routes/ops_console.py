"""The operator console: `/ops` (staff only) lists every connection, sortable and searchable,
with "Sync now" and "Retry failed pushes" per connection. Staff log in at `/ops/login` with an
account from `ledgersync create-staff`; the staff session is separate from partner sessions
(its own cookie key and table), so neither kind of login opens the other's pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from ledgersync.services import operator_console, staff
from ledgersync.web.deps import ContainerDep
from ledgersync.web.templating import flash, render

router = APIRouter(include_in_schema=False)

STAFF_KEY = "staff_sid"
COLUMNS = (("partner", "Partner"), ("status", "Status"), ("last_good_sync", "Last good sync"), ("lag_s", "Lag"),
           ("calls_used", "Calls used today"), ("calls_left", "Calls left today"), ("open_errors", "Open errors"),
           ("alerts_sent", "Alerts sent"), ("failed_pushes", "Failed pushes"))


def _staff(request: Request, container: ContainerDep) -> staff.Staff | None:
    return staff.staff_of(container, request.session.get(STAFF_KEY))


def _to_login() -> Response:
    return RedirectResponse("/ops/login", status_code=303)


@router.get("/ops/login")
def login_page(request: Request) -> Response:
    return render(request, "ops_login.html", {"error": None, "email": ""})


@router.post("/ops/login")
def login(request: Request, container: ContainerDep, email: Annotated[str, Form()],
          password: Annotated[str, Form()]) -> Response:
    token = staff.log_in(container, email[:320], password)
    if token is None:
        return render(request, "ops_login.html", {"error": "Email or password is not correct.", "email": email},
                      status_code=401)
    staff.log_out(container, request.session.get(STAFF_KEY))
    request.session[STAFF_KEY] = token
    return RedirectResponse("/ops", status_code=303)


@router.post("/ops/logout")
def logout(request: Request, container: ContainerDep) -> Response:
    staff.log_out(container, request.session.pop(STAFF_KEY, None))
    return _to_login()


@router.get("/ops")
def console(request: Request, container: ContainerDep, q: str = "", sort: str = "partner", desc: str = "") -> Response:
    who = _staff(request, container)
    if who is None:
        return _to_login()
    rows = operator_console.rows(container, q=q, sort=sort, descending=bool(desc))
    return render(request, "ops_console.html", {"rows": rows, "q": q, "sort": sort, "desc": bool(desc),
                                                "columns": COLUMNS, "staff": who})


@router.post("/ops/connections/{connection_id}/sync-now")
def sync_now(request: Request, container: ContainerDep, connection_id: str) -> Response:
    if _staff(request, container) is None:
        return _to_login()
    ok = operator_console.sync_now(container, connection_id)
    flash(request, "Sync queued." if ok else "That connection has no Zoho organisation.", "success" if ok else "error")
    return RedirectResponse("/ops", status_code=303)


@router.post("/ops/connections/{connection_id}/retry-failed")
def retry_failed(request: Request, container: ContainerDep, connection_id: str) -> Response:
    if _staff(request, container) is None:
        return _to_login()
    n = operator_console.retry_failed_pushes(container, connection_id)
    flash(request, f"{n} failed push{'es' if n != 1 else ''} queued again.", "success")
    return RedirectResponse("/ops", status_code=303)
