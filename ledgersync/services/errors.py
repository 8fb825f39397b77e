"""Errors the service layer raises; the REST API and the dashboard map them to responses.

`NotFound` is also what a partner gets for another partner's id: existence is not disclosed.
"""

from __future__ import annotations


class ServiceError(Exception):
    """Base of every refusal of a use case."""


class NotFound(ServiceError):
    def __init__(self, entity: str, entity_id: str) -> None:
        super().__init__(f"{entity} {entity_id} not found")
        self.entity = entity
        self.entity_id = entity_id


class InvalidInput(ServiceError):
    """Bad input for a use case; `field` names the offending field (dotted path)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class Conflict(ServiceError):
    """The request is well-formed but the current state forbids it (e.g. settle twice)."""


class AuthenticationFailed(ServiceError):
    """Wrong email/password or unknown/revoked API key (never says which)."""
