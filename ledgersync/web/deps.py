"""FastAPI dependencies every dashboard route uses.

- `ContainerDep`: the process's `Container` (from `app.state.container`).
- `UowDep`: an entered unit of work for the request (rolled back unless the route commits).
- `CurrentPartner` / `CurrentUser`: the logged-in partner and user; when nobody is logged in
  the request is redirected to `/login?next=...` (HTML pages) — the REST API under `/api/v1`
  authenticates with API keys instead and does not use these.

The partner is read from the session (`user_id`), re-checked against the database on every
request (a deactivated user is logged out), and returned detached: its loaded columns are
readable after the request's session has closed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request

from ledgersync.bootstrap import Container
from ledgersync.store.orm import Partner, User
from ledgersync.store.uow import SqlAlchemyUnitOfWork


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
    user_id = request.session.get("user_id")
    if user_id:
        with container.uow() as uow:
            user = uow.session.get(User, user_id)
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
