"""Handing ORM rows out of a unit of work.

Leaving a unit of work rolls back, and a rollback expires every loaded row; callers (API,
dashboard) read rows after the block, so read paths detach what they return first. Everything a
caller may touch (line items, allocations) is loaded eagerly by the query.
"""

from __future__ import annotations

from typing import TypeVar

from ledgersync.sync.ports import UnitOfWork

T = TypeVar("T")


def detached(uow: UnitOfWork, value: T) -> T:
    """`value` (rows, lists of rows) with every loaded row detached from the session."""
    uow.session.expunge_all()
    return value
