"""FastAPI dependencies every dashboard route uses.

- `ContainerDep`: the process's `Container` (from `app.state.container`).
- `UowDep`: an entered unit of work for the request (rolled back unless the route commits).
- `CurrentPartner` / `CurrentUser`: the logged-in partner and user; when nobody is logged in
  the request is redirected to `/login?next=...` (HTML pages) — the REST API under `/api/v1`
  authenticates with API keys instead and does not use these.

The cookie (signed by Starlette's SessionMiddleware) holds only a random session token
(`SESSION_KEY`); the session itself lives in the database (`ledgersync.services.logins`), so
logout, a password change and the idle/absolute lifetimes end every copy of the cookie. The
user is re-checked on every request (a deactivated user is logged out) and returned detached:
its loaded columns are readable after the request's session has closed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request

from ledgersync.bootstrap import Container
from ledgersync.services import logins
from ledgersync.store.orm import Partner, User
from ledgersync.store.uow import SqlAlchemyUnitOfWork

SESSION_KEY = "sid"


class LoginRequired(Exception):
    """Raised by `CurrentPartner` when nobody is logged in; the app turns it into a redirect."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def get_container(request: Request) -> Container:
    return request.app.state.container


ContainerDep = Annotated[Container, Depends(get_container)]


def get_uow(container: ContainerDep) -> Iterator[SqlAlchemyUnitOfWork]:
    with container.uow() as uow:
        yield uow


UowDep = Annotated[SqlAlchemyUnitOfWork, Depends(get_uow)]


def get_current_user(request: Request, container: ContainerDep) -> User:
    live = logins.session_user(container, request.session.get(SESSION_KEY))
    if live is not None:
        with container.uow() as uow:
            user = uow.session.get(User, live.user_id)
            if user is not None and user.is_active:
                partner = uow.session.get(Partner, user.partner_id)
                uow.session.expunge_all()  # leaving the unit of work rolls back; keep loaded columns
                request.state.user = user
                request.state.partner = partner
                return user
        request.session.clear()
    next_path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    raise LoginRequired(next_path)


CurrentUser = Annotated[User, Depends(get_current_user)]


def get_current_partner(request: Request, user: CurrentUser) -> Partner:
    return request.state.partner


CurrentPartner = Annotated[Partner, Depends(get_current_partner)]
