"""Money: exact Decimal amounts with a currency, never floats.

Zoho sends amounts as JSON numbers with two decimals; the product parses them as Decimal and
quantizes to the currency's minor unit. Rounding is banker's-free: ROUND_HALF_UP, as invoices do.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
ZERO = Decimal("0.00")

# What the database and Zoho accept, in one place (every entry point checks against these):
# money is BIGINT cents here and a 2-decimal amount in Zoho; 14 digits keep every sum of a
# partner's invoices far inside both, and quantity x rate never needs more than Decimal's
# 28-digit context.
MAX_AMOUNT = Decimal("999999999999.99")  # 14 digits, 2 decimals
MAX_QUANTITY = Decimal("1000000000")  # 1e9 units
MAX_RATE = Decimal("1000000000000")  # 1e12 per unit
MAX_UNIT_DECIMALS = 6  # places of a quantity or a rate


def iso_currency(code: object) -> str | None:
    """The upper-cased ISO 4217 code if `code` is one (pycountry's list), else None."""
    import pycountry

    if not isinstance(code, str) or len(code.strip()) != 3:
        return None
    upper = code.strip().upper()
    return upper if pycountry.currencies.get(alpha_3=upper) is not None else None


def bounded_decimal(value: Decimal, *, maximum: Decimal, places: int, minimum: Decimal = Decimal(0),
                    strictly_positive: bool = False) -> str | None:
    """Why `value` is out of bounds (a phrase for a message), or None when it fits.

    Checks finiteness first, and magnitude before any quantize, so a huge input ("1e30") is a
    refusal and never an `InvalidOperation` from Decimal's context.
    """
    if not value.is_finite():
        return "must be a finite number"
    if value > maximum:
        return f"must be at most {maximum}"
    if strictly_positive and value <= 0:
        return "must be greater than zero"
    if value < minimum:
        return f"must be at least {minimum}"
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -places and value != round(value, places):
        return f"can have at most {places} decimals"
    return None


def to_decimal(value: object) -> Decimal:
    """Parse an amount (str, int, Decimal; floats refused) into a 2-dp Decimal."""
    if isinstance(value, float):
        raise TypeError("amounts must not be floats; pass str or Decimal")
    if isinstance(value, Decimal):
        d = value
    else:
        try:
            d = Decimal(str(value).strip())
        except InvalidOperation as exc:
            raise ValueError(f"not an amount: {value!r}") from exc
    if not d.is_finite():
        raise ValueError(f"not an amount: {value!r}")
    return d.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in one currency. Arithmetic across currencies is an error."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", to_decimal(self.amount))
        object.__setattr__(self, "currency", self.currency.upper())

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"currency mismatch: {self.currency} vs {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __str__(self) -> str:
        return f"{self.amount:,.2f} {self.currency}"
