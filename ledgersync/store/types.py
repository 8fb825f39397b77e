"""Column types that keep money exact on every database.

SQLite has no exact decimal type (SQLAlchemy's Numeric goes through float there), so money is
stored as integer minor units (`MoneyType`, BIGINT cents) on every dialect: sums in SQL stay
exact and the Python side always sees `Decimal` with two places. Quantities and rates, which
Zoho gives with more places and which are never summed in SQL, are stored as their decimal
text (`ExactDecimal`).
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import BigInteger, DateTime, String
from sqlalchemy.types import TypeDecorator

_CENT = Decimal("0.01")


class MoneyType(TypeDecorator[Decimal]):
    """A 2-dp Decimal stored as integer cents. Refuses sub-cent values rather than rounding."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | int | str | None, dialect: object) -> int | None:
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("money must not be a float")
        d = Decimal(str(value)) if not isinstance(value, Decimal) else value
        cents = d * 100
        if cents != cents.to_integral_value():
            raise ValueError(f"amount {d} has more than two decimals")
        return int(cents)

    def process_result_value(self, value: int | Decimal | None, dialect: object) -> Decimal | None:
        if value is None:
            return None
        return (Decimal(int(value)) / 100).quantize(_CENT)


class ExactDecimal(TypeDecorator[Decimal]):
    """A Decimal of any scale stored as text (quantities, rates, exchange rates)."""

    impl = String(48)
    cache_ok = True

    def process_bind_param(self, value: Decimal | int | str | None, dialect: object) -> str | None:
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("exact decimals must not be floats")
        return str(Decimal(str(value)))

    def process_result_value(self, value: str | None, dialect: object) -> Decimal | None:
        return None if value is None else Decimal(value)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every dialect (SQLite drops tzinfo otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; use UTC-aware datetimes")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)
