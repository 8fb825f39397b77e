"""Zoho Books API v3 modules. Each module registers its routes in ``ROUTES`` via ``route``.

A handler receives a ``Ctx`` and returns ``(http_status, body_dict)`` or a Starlette
``Response`` (PDF); it raises ``errors.ZohoError`` for Zoho's error answers.
"""
from __future__ import annotations

from .registry import ROUTES, Ctx, Route, route  # noqa: F401


def load_all() -> None:
    """Import every module so its routes register (idempotent)."""
    from . import (  # noqa: F401
        accountstate,
        bankaccounts,
        banktransactions,
        chartofaccounts,
        contacts,
        creditnotes,
        customerpayments,
        invoicecredits,
        invoices,
        organizations,
        unsupported,  # noqa: F401  (last: documented operations the sandbox does not emulate)
    )
