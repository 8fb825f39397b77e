"""Parsing what a partner types into dashboard forms, with messages a person understands.

Money typed by hand arrives as "1,250.5", "$99", " 12.345" or "abc"; the services want an exact
Decimal with at most two places. Refusing here, with the reason, keeps a typo from ever reaching
the database layer (where a third decimal used to surface as a 500).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from ledgersync.domain.money import MAX_AMOUNT
from ledgersync.services.errors import InvalidInput, NotFound, ServiceError


class FormError(ValueError):
    """A form value the partner must correct; `str(exc)` is the message to show."""


def parse_money(text: str, *, field: str = "Amount") -> Decimal | None:
    """`""` → None (use the default); `"1,250.50"`/`"$1250.5"` → `Decimal("1250.50")`; else FormError."""
    raw = (text or "").strip().replace(",", "").replace("$", "").replace("€", "").replace("£", "").strip()
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise FormError(f"{field} must be a number like 125.00 (you typed {text.strip()!r}).") from None
    if not value.is_finite():
        raise FormError(f"{field} must be a number like 125.00 (you typed {text.strip()!r}).")
    if value > MAX_AMOUNT:  # before any quantize: "1e30" must be a sentence, not an InvalidOperation
        raise FormError(f"{field} must be at most {MAX_AMOUNT:,} (you typed {text.strip()!r}).")
    if value <= 0:
        raise FormError(f"{field} must be greater than zero.")
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2 and value != value.quantize(Decimal("0.01")):
        raise FormError(f"{field} can have at most two decimals (cents): {text.strip()!r}.")
    return value.quantize(Decimal("0.01"))


def service_message(exc: ServiceError) -> str:
    """A service refusal as a sentence: `InvalidInput("amount", "must be > 0")` → "Amount must be > 0"."""
    if isinstance(exc, InvalidInput):
        field = exc.field.split(".")[-1].split("[")[0].replace("_", " ")
        sentence = f"{field[:1].upper()}{field[1:]} {exc.message}"
        return sentence if sentence.endswith(".") else sentence + "."
    if isinstance(exc, NotFound):
        return "That record no longer exists; the page has been refreshed."
    message = getattr(exc, "message", None) or str(exc)
    return message[:1].upper() + message[1:]
