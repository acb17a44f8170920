"""Column types that keep their meaning on both SQLite and PostgreSQL.

`Exact(scale)`: a `Decimal` column that round-trips exactly.  PostgreSQL stores NUMERIC(38, scale); SQLite,
which has no decimal type (SQLAlchemy's Numeric goes through float there), stores the fixed-point text.
Values are quantized to `scale` places on the way in; a value that would lose digits is refused
(`ValueError`), never rounded silently.  Both backends hand back `Decimal` with exactly `scale` places.
Arithmetic in SQL (SUM) is only done on PostgreSQL; on SQLite sums are taken in Python.

`UtcDateTime`: timezone-aware UTC datetimes in, the same out (SQLite keeps naive text; we re-attach UTC).
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation

from sqlalchemy import DateTime, Numeric, String
from sqlalchemy.types import TypeDecorator

QTY_SCALE = 6      # quantities in base units, unit costs, prices, factors
VALUE_SCALE = 12   # money values = quantity x cost, exact


def to_decimal(value: object, *, scale: int) -> Decimal:
    """`value` as a Decimal with exactly `scale` places; ValueError when it is not a number or has more digits."""
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"not a decimal number: {value!r}") from exc
    if not number.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    try:
        quantized = number.quantize(Decimal(1).scaleb(-scale))
    except InvalidOperation as exc:     # more digits than any column holds (1e22 at 6 places)
        raise ValueError(f"{value} is too large") from exc
    if quantized != number:
        raise ValueError(f"{value} has more than {scale} decimal places")
    return quantized


class Exact(TypeDecorator):
    impl = Numeric
    cache_ok = True

    def __init__(self, scale: int = QTY_SCALE) -> None:
        super().__init__(precision=38, scale=scale, asdecimal=True)
        self.scale = scale

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(48))
        return dialect.type_descriptor(Numeric(38, self.scale, asdecimal=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        number = to_decimal(value, scale=self.scale)
        return format(number, "f") if dialect.name == "sqlite" else number

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return to_decimal(value, scale=self.scale)


class UtcDateTime(TypeDecorator):
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: timestamps are UTC and timezone-aware")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
