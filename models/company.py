"""The company's settings an admin edits on the review screen (issue 17), kept in `company_settings`; a key not
stored there falls back to its environment default (pipeline.config: INBOUND_BASE_CURRENCY, INBOUND_TIMEZONE,
INBOUND_NEAR_EXPIRY_DAYS), which the caller passes in as `Defaults`.

    base_currency      ISO 4217 code the stock value is kept in (default CNY); it cannot change once anything
                       has been posted (the values already kept would silently mean another currency)
    timezone           IANA zone the screens show times in (default Asia/Shanghai); storage stays UTC
    near_expiry_days   {"": default days, category: days}: a batch is near expiry (临期) when its expiry date is
                       at most that many days away (default 30 for every category)
    exchange_rates     {currency: rate}: standing rates (base currency per 1 unit), used for a document in that
                       currency that neither prints nor is given its own rate (default none: such a document is
                       refused until the clerk enters the rate)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.errors import InboundError
from models.tables import CompanySetting, Posting
from models.types import utcnow

DEFAULT_CURRENCY = "CNY"
DEFAULT_TIMEZONE = "Asia/Shanghai"
DEFAULT_NEAR_EXPIRY_DAYS = 30
_CURRENCY = re.compile(r"^[A-Z]{3}$")


class BadSetting(InboundError, ValueError):
    """A setting that cannot be stored; `kind` says which rule (currency, timezone, days, locked) for screens
    that word it in their own language."""
    code = "bad_setting"

    def __init__(self, message: str, *, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True, slots=True)
class Defaults:
    """The environment's values, used for every key not stored in the database."""
    base_currency: str = DEFAULT_CURRENCY
    timezone: str = DEFAULT_TIMEZONE
    near_expiry_days: dict[str, int] = field(default_factory=lambda: {"": DEFAULT_NEAR_EXPIRY_DAYS})
    exchange_rates: dict[str, Decimal] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings) -> "Defaults":
        """From a pipeline.config.Settings (or anything with the same attributes; missing ones keep the default)."""
        days = parse_days(getattr(settings, "near_expiry_days", "") or "")
        return cls(currency_code(getattr(settings, "base_currency", "") or DEFAULT_CURRENCY),
                   getattr(settings, "timezone", "") or DEFAULT_TIMEZONE, days,
                   parse_rates(getattr(settings, "exchange_rates", "") or ""))


@dataclass(frozen=True, slots=True)
class CompanySettings:
    base_currency: str
    timezone: str
    near_expiry_days: dict[str, int]     # "" -> the default for categories not named
    exchange_rates: dict[str, Decimal] = field(default_factory=dict)   # standing rates, base per 1 unit

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def days_for(self, category: str | None) -> int:
        return self.near_expiry_days.get(category or "", self.near_expiry_days.get("", DEFAULT_NEAR_EXPIRY_DAYS))


def currency_code(text: str) -> str:
    code = (text or "").strip().upper()
    if code == "RMB":                     # printed on Chinese documents for the yuan
        code = "CNY"
    if not _CURRENCY.match(code):
        raise BadSetting(f"{text!r} is not a currency code (three letters, e.g. CNY, GBP).", kind="currency")
    return code


def check_zone(name: str) -> str:
    name = (name or "").strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise BadSetting(f"{name!r} is not a time zone (e.g. Asia/Shanghai, Europe/London, UTC).",
                         kind="timezone") from exc
    return name


def parse_days(text: str) -> dict[str, int]:
    """ "30; 乳制品=7; 冷冻食品=60" -> {"": 30, "乳制品": 7, "冷冻食品": 60} (a bare number is the default)."""
    out: dict[str, int] = {"": DEFAULT_NEAR_EXPIRY_DAYS}
    for part in re.split(r"[;\n,，；]+", text or ""):
        part = part.strip()
        if not part:
            continue
        category, _, days = part.rpartition("=")
        try:
            number = int(days.strip())
        except ValueError as exc:
            raise BadSetting(f"{part!r}: give days as a whole number (category=days).", kind="days") from exc
        if number < 0:
            raise BadSetting(f"{part!r}: days cannot be negative.", kind="days")
        out[category.strip()] = number
    return out


def parse_rates(text: str) -> dict[str, Decimal]:
    """ "GBP=9.2; EUR=7.85" -> {"GBP": Decimal("9.2"), "EUR": Decimal("7.85")} (rates > 0, at most 6 places)."""
    out: dict[str, Decimal] = {}
    for part in re.split(r"[;\n,，；]+", text or ""):
        part = part.strip()
        if not part:
            continue
        code, _, rate = part.partition("=")
        try:
            number = Decimal(rate.strip())
        except InvalidOperation:
            number = Decimal(0)
        if not number.is_finite() or number <= 0 or number != number.quantize(Decimal("0.000001")):
            raise BadSetting(f"{part!r}: give a rate above 0 with at most 6 decimal places (GBP=9.2).", kind="rates")
        out[currency_code(code)] = number
    return out


def format_rates(rates: dict[str, Decimal]) -> str:
    return "; ".join(f"{code}={format(rate.normalize(), 'f')}" for code, rate in sorted(rates.items()))


def format_days(days: dict[str, int]) -> str:
    rest = [f"{c}={d}" for c, d in sorted(days.items()) if c]
    return "; ".join([str(days.get("", DEFAULT_NEAR_EXPIRY_DAYS)), *rest])


def company_settings(session: Session, defaults: Defaults | None = None) -> CompanySettings:
    defaults = defaults or Defaults()
    stored = {row.key: row.value for row in session.scalars(select(CompanySetting))}
    days = dict(defaults.near_expiry_days)
    if isinstance(stored.get("near_expiry_days"), dict):
        days = {str(k): int(v) for k, v in stored["near_expiry_days"].items()}
    rates = dict(defaults.exchange_rates)
    if isinstance(stored.get("exchange_rates"), dict):
        rates = {str(k): Decimal(str(v)) for k, v in stored["exchange_rates"].items()}
    return CompanySettings(stored.get("base_currency") or defaults.base_currency,
                           stored.get("timezone") or defaults.timezone, days, rates)


def save_settings(session: Session, *, who: str, base_currency: str | None = None, timezone: str | None = None,
                  near_expiry_days: dict[str, int] | None = None, exchange_rates: dict[str, Decimal] | None = None,
                  defaults: Defaults | None = None) -> CompanySettings:
    """Store the given settings (in the caller's transaction); the base currency is refused once anything posted."""
    current = company_settings(session, defaults)
    values: dict[str, object] = {}
    if base_currency is not None:
        code = currency_code(base_currency)
        if code != current.base_currency:
            if session.scalar(select(Posting.id).limit(1)) is not None:
                raise BadSetting(f"Stock is already kept in {current.base_currency}; the base currency cannot change "
                                 "once receipts are posted.", kind="locked")
            values["base_currency"] = code
    if timezone is not None:
        values["timezone"] = check_zone(timezone)
    if near_expiry_days is not None:
        if any(d < 0 for d in near_expiry_days.values()):
            raise BadSetting("Days cannot be negative.", kind="days")
        values["near_expiry_days"] = {"": DEFAULT_NEAR_EXPIRY_DAYS, **near_expiry_days}
    if exchange_rates is not None:
        values["exchange_rates"] = _stored_rates(exchange_rates)
    for key, value in values.items():
        row = session.get(CompanySetting, key)
        if row is None:
            session.add(CompanySetting(key=key, value=value, updated_by=who, updated_at=utcnow()))
        else:
            row.value, row.updated_by, row.updated_at = value, who, utcnow()
    session.flush()
    return company_settings(session, defaults)


ENVIRONMENT = "environment"   # updated_by of the rows written from INBOUND_ values at start-up


def install_defaults(session: Session, defaults: Defaults) -> list[str]:
    """At start-up: store the environment's values for every key an admin has not set (rows written by an admin
    win; rows written from the environment follow it on each start).  The base currency is not changed once
    anything is posted.  Returns warnings for what was kept against the environment."""
    warnings: list[str] = []
    wanted = {"base_currency": defaults.base_currency, "timezone": check_zone(defaults.timezone),
              "near_expiry_days": dict(defaults.near_expiry_days),
              "exchange_rates": _stored_rates(defaults.exchange_rates)}
    for key, value in wanted.items():
        row = session.get(CompanySetting, key)
        if row is not None and (row.updated_by != ENVIRONMENT or row.value == value):
            continue
        if key == "base_currency" and row is not None and session.scalar(select(Posting.id).limit(1)) is not None:
            warnings.append(f"INBOUND_BASE_CURRENCY={value} ignored: stock is already kept in {row.value}.")
            continue
        if row is None:
            session.add(CompanySetting(key=key, value=value, updated_by=ENVIRONMENT, updated_at=utcnow()))
        else:
            row.value, row.updated_at = value, utcnow()
    session.flush()
    return warnings


def _stored_rates(rates: dict[str, Decimal]) -> dict[str, str]:
    return {currency_code(code): format(Decimal(rate).normalize(), "f") for code, rate in rates.items()}
