"""Settings: one pydantic-settings object, read once from the environment (prefix INBOUND_), passed down.

    INBOUND_HOME                  where embedded state lives (default ./var): the SQLite file, blobs
    INBOUND_DATABASE_URL          SQLAlchemy URL; default sqlite:///$INBOUND_HOME/inbound.db
                                  PostgreSQL: postgresql+psycopg://user@host:5432/dbname
    INBOUND_OVER_RECEIPT_TOLERANCE  share of a PO line that may be received beyond its ordered quantity
                                  before an approver must sign (default 0.05 = 5 %)
    INBOUND_PRICE_TOLERANCE       a receipt line's cost may differ this much from its PO line's price before an
                                  approver must sign (default 0.02 = 2 %; the matcher flags po_price_variance alike)
    INBOUND_DEMO                  1 (default): `inbound serve` loads the demo master data and documents; 0: empty
    INBOUND_BOOTSTRAP_API_KEY     an admin API key with this secret exists after start-up (for automation); outside
                                  INBOUND_DEMO=1 start-up refuses one shorter than 24 characters or a known default
    INBOUND_SECRET_KEY            the key webhook secrets are encrypted with at rest (any long random string; unset:
                                  one is made in $INBOUND_HOME/secret-key; set it alike on every API/worker machine)
    INBOUND_LOGIN_MAX_FAILURES    wrong passwords per user name within INBOUND_LOGIN_WINDOW_S (default 5, 900 s)
                                  before further log-ins are refused until the window passes (429 / a message);
                                  INBOUND_LOGIN_MAX_FAILURES_PER_ADDRESS (default 20) the same per client address
    INBOUND_LOGIN_KEY_HOURS       API keys minted by POST /api/v1/auth/login expire after this (default 12)
    INBOUND_SESSION_HOURS         a review-screen session ends after this (default 12); logout ends it at once
    INBOUND_BROKER_URL            Celery broker (redis://..., amqp://...); unset: the pipeline runs in-process
    INBOUND_QUEUE                 the Celery queue (default inbound)
    INBOUND_S3_ENDPOINT, _ACCESS_KEY, _SECRET_KEY, _BUCKET, _SECURE   blobs in S3/MinIO; unset: $INBOUND_HOME/blobs
    INBOUND_SMTP_PORT             also run the SMTP drop box on 127.0.0.1:PORT (SMTP_HOST to change the address)
    INBOUND_WATCH_DIR             also watch this folder for documents
    INBOUND_IMAP_HOST, _PORT (993), _SSL (1), _USER, _PASSWORD, _FOLDER (INBOX), _MOVE_TO, _POLL_S (60)
                                  also poll that mailbox (messages are flagged seen, or moved, once stored)
    INBOUND_MAX_UPLOAD_MB         the largest file accepted (default 50)
    INBOUND_WORKERS               in-process pipeline threads (default 1); INBOUND_TASK_TIME_LIMIT_S (300),
                                  INBOUND_TASK_MEMORY_MB (1500, per Celery worker child, and per document
                                  in the embedded default's child process: INBOUND_ISOLATE, default 1)
    INBOUND_MAX_ATTEMPTS          tries of one document whose worker died or was stopped before it fails
                                  `too_many_attempts` (default 3; the original is kept)
    INBOUND_MODEL                 the learned layout model the pipeline reads with: auto (default: the promoted
                                  version, else the model shipped in the package), none (the rules alone), or a
                                  model folder; a folder that cannot be loaded means the rules alone (/healthz)
    INBOUND_RETRAIN_EVERY         retrain the model after every N newly confirmed documents (default 50; 0 never);
                                  a candidate is promoted only if it scores at least as well as the current one
    INBOUND_RETRAIN_MINUTES       training time of one retrain (default 5)
    INBOUND_BASE_CURRENCY         the currency stock values are kept in (default CNY); a document in another
                                  currency posts only with its exchange rate (read or entered by the clerk)
    INBOUND_TIMEZONE              the time zone the review screens show times in (default Asia/Shanghai)
    INBOUND_NEAR_EXPIRY_DAYS      near-expiry (临期) threshold in days: "30" or "30; 乳制品=7; 冷冻食品=60"
                                  (a bare number: every category not named; default 30)
    INBOUND_EXCHANGE_RATES        standing rates for documents that give none: "GBP=9.2; EUR=7.85" (base currency
                                  per 1 unit; default none: such a document waits for the clerk to enter its rate)
                                  These four are defaults: an admin's values on /review/settings win.

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
    price_tolerance: Decimal = Decimal("0.02")
    demo: bool = True
    bootstrap_api_key: str = ""
    secret_key: str = ""
    login_max_failures: int = 5
    login_max_failures_per_address: int = 20
    login_window_s: float = 900.0
    login_key_hours: float = 12.0
    session_hours: float = 12.0
    broker_url: str = ""
    queue: str = "inbound"
    s3_endpoint: str = ""
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_bucket: str = "inbound"
    s3_secure: bool = False
    smtp_port: int = 0
    smtp_host: str = "127.0.0.1"
    imap_host: str = ""
    imap_port: int = 993
    imap_ssl: bool = True
    imap_user: str = ""
    imap_password: str = ""
    imap_folder: str = "INBOX"
    imap_move_to: str = ""
    imap_poll_s: float = 60.0
    watch_dir: Path | None = None
    max_upload_mb: float = 50.0
    workers: int = 1
    task_time_limit_s: float = 300.0
    task_memory_mb: int = 1500
    max_attempts: int = 3                 # INBOUND_MAX_ATTEMPTS: tries of one run before it fails too_many_attempts
    isolate: bool = True                  # INBOUND_ISOLATE: the embedded default reads each document in a child process
    webhook_attempts: int = 8
    webhook_backoff_s: float = 2.0
    model: str = "auto"
    retrain_every: int = 50
    retrain_minutes: float = 5.0
    base_currency: str = "CNY"
    timezone: str = "Asia/Shanghai"
    near_expiry_days: str = "30"
    exchange_rates: str = ""
    max_request_mb: float = 100.0         # INBOUND_MAX_REQUEST_MB: all files of one upload request together
    max_import_mb: float = 20.0           # INBOUND_MAX_IMPORT_MB: one master-data CSV import
    email_max_attachments: int = 20       # INBOUND_EMAIL_MAX_ATTACHMENTS: documents taken from one message
    email_max_per_sender_hour: int = 60   # INBOUND_EMAIL_MAX_PER_SENDER_HOUR: messages per sender per hour (0: no cap)
    email_allowed_domains: str = ""       # INBOUND_EMAIL_ALLOWED_DOMAINS: comma-separated sender domains; empty: any
    email_max_mime_depth: int = 10        # INBOUND_EMAIL_MAX_MIME_DEPTH: nesting of multipart parts

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def max_request_bytes(self) -> int:
        return int(self.max_request_mb * 1024 * 1024)

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
