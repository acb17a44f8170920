"""Settings: one pydantic-settings object, read once from the environment (prefix INBOUND_), passed down.

    INBOUND_HOME                  where embedded state lives (default ./var): the SQLite file, blobs
    INBOUND_DATABASE_URL          SQLAlchemy URL; default sqlite:///$INBOUND_HOME/inbound.db
                                  PostgreSQL: postgresql+psycopg://user@host:5432/dbname
    INBOUND_OVER_RECEIPT_TOLERANCE  share of a PO line that may be received beyond its ordered quantity
                                  before an approver must sign (default 0.05 = 5 %)

Callers get the object from `get_settings()` once (at the edge: CLI command, app start-up) and pass it or
its values down; nothing below reads the environment itself.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="INBOUND_", extra="ignore")

    home: Path = Path("./var")
    database_url: str = ""
    over_receipt_tolerance: Decimal = Decimal("0.05")

    @property
    def db_url(self) -> str:
        """The database to use: INBOUND_DATABASE_URL, else a SQLite file under INBOUND_HOME (never empty)."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'inbound.db').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read from the environment on first use."""
    return Settings()
