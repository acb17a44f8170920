"""Starting and stopping the service: database at the newest schema, the bootstrap key, the demo, the
dispatcher and the webhook sender.  The order of start-up, as code:

    services = build_services(settings)             engine, session factory, blob store
    check_settings(settings)                        no start with a guessable bootstrap key (outside the demo)
    upgrade(settings.db_url)                        Alembic, before anything reads a table
    ensure the INBOUND_BOOTSTRAP_API_KEY admin key; seal webhook secrets still stored in the clear
    dispatcher: in-process threads, or Celery when INBOUND_BROKER_URL is set
    resume runs left queued or running by a previous process (in-process only; Celery redelivers its own)
    the layout model's retrain thread (in-process only; with Celery the beat sends the retrain task)
    demo (INBOUND_DEMO=1 and an empty database): master data, a login, a key, the demo documents
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select

from models.auth import User, create_user, ensure_api_key
from models.company import Defaults, company_settings, install_defaults, save_settings
from models.db import transaction, upgrade
from models.runs import unfinished_runs
from models.tables import Document, Product
from models.webhooks import seal_plain_secrets
from pipeline.config import Settings
from pipeline.processing import run_document
from pipeline.retrain import Retrainer
from pipeline.runtime import InProcessDispatcher, Services, build_services
from pipeline.webhooks import WebhookSender

log = logging.getLogger("inbound.service")
ROOT = Path(__file__).resolve().parents[1]
DEMO_MASTER = (ROOT / "fixtures" / "master" / "electronics", ROOT / "fixtures" / "master" / "food")
DEMO_DOCUMENTS = ROOT / "fixtures" / "demo"
DEMO_USER, DEMO_PASSWORD = "demo", "demo"
MASTER_ORDER = ("suppliers", "products", "supplier_products", "purchase_orders")


@dataclass(frozen=True, slots=True)
class Demo:
    username: str
    password: str
    api_key: str
    documents: int


class InsecureSettings(RuntimeError):
    """Start-up refused: a setting would let strangers in (issue 18)."""


# bootstrap keys nobody may start a real (non-demo) service with: short, or a default anyone can guess
KNOWN_DEFAULT_KEYS = frozenset({"change-me", "changeme", "change_me", "changeit", "secret", "admin", "password",
                                "letmein", "test", "default", "inbound", "api-key", "apikey", "bootstrap",
                                "your-key-here", "replace-me", "xxx"})
MIN_BOOTSTRAP_KEY = 24


def check_settings(settings: Settings) -> None:
    """InsecureSettings when a bootstrap key is set that is too short or a known default, outside the demo."""
    key = settings.bootstrap_api_key
    if not key or settings.demo:
        return
    folded = key.strip().lower()
    if folded in KNOWN_DEFAULT_KEYS or any(folded.startswith(d) and len(set(folded[len(d):])) <= 1
                                           for d in KNOWN_DEFAULT_KEYS):
        raise InsecureSettings("INBOUND_BOOTSTRAP_API_KEY is a known default; set a long random key "
                               f"(at least {MIN_BOOTSTRAP_KEY} characters, e.g. `openssl rand -hex 24`).")
    if len(key) < MIN_BOOTSTRAP_KEY:
        raise InsecureSettings(f"INBOUND_BOOTSTRAP_API_KEY is {len(key)} characters; it must be at least "
                               f"{MIN_BOOTSTRAP_KEY} (a long random key, e.g. `openssl rand -hex 24`).")


def start_service(settings: Settings, *, threads: int | None = None) -> Services:
    """Everything `inbound serve` needs, running; stop it with `stop_service`.  InsecureSettings: refused."""
    check_settings(settings)
    upgrade(settings.db_url)
    services = build_services(settings)
    with transaction(services.factory) as session:     # base currency, time zone, near-expiry days (issue 17)
        for warning in install_defaults(session, Defaults.from_settings(settings)):
            log.warning(warning)
    if settings.bootstrap_api_key:
        with transaction(services.factory) as session:
            ensure_api_key(session, secret=settings.bootstrap_api_key, name="bootstrap", role="admin")
    with transaction(services.factory) as session:     # webhook secrets stored in the clear before issue 18
        sealed = seal_plain_secrets(session)
    if sealed:
        log.warning("encrypted %d webhook secret(s) that were stored in the clear", sealed)
    if settings.broker_url:
        from pipeline.celery_app import CeleryDispatcher   # Celery is loaded only where a broker is used
        services.dispatcher = CeleryDispatcher(settings)
        services.sender = None
    else:
        sender = WebhookSender(services.factory, attempts=settings.webhook_attempts,
                               backoff_s=settings.webhook_backoff_s)
        services.sender = sender
        services.dispatcher = InProcessDispatcher(lambda run_id: run_document(services, run_id),
                                                  threads=threads or settings.workers, webhooks=sender.wake)
        _resume(services)
        services.retrainer = Retrainer(services)
        services.retrainer.start()
    services.intakes = _start_intakes(services)
    if settings.broker_url:     # issue 18: runs left unsent while the broker was down, runs stuck running
        from pipeline.celery_app import Sweeper
        services.intakes.append(Sweeper(services).start())
    return services


def _start_intakes(services: Services) -> list:
    """The SMTP drop box, the IMAP poller and the watched folder, when configured."""
    settings, started = services.settings, []
    if settings.smtp_port:
        from pipeline.intake_email import SmtpDropBox
        box = SmtpDropBox(services, host=settings.smtp_host, port=settings.smtp_port)
        box.start()
        started.append(box)
    if settings.imap_host:
        from pipeline.intake_email import ImapPoller
        poller = ImapPoller(services)
        poller.start()
        started.append(poller)
    if settings.watch_dir is not None:
        from pipeline.intake_folder import FolderWatcher
        watcher = FolderWatcher(services, settings.watch_dir)
        watcher.start()
        started.append(watcher)
    return started


def stop_service(services: Services) -> None:
    for intake in services.intakes:
        intake.stop()
    dispatcher = services.dispatcher
    if isinstance(dispatcher, InProcessDispatcher):
        dispatcher.close()
    if getattr(services, "sender", None) is not None:
        services.sender.close()
    if services.retrainer is not None:
        services.retrainer.stop()
    services.engine.dispose()


def _resume(services: Services) -> None:
    """Hand the runs an earlier process left unfinished to this one's threads (nobody else has them)."""
    with transaction(services.factory) as session:
        runs = unfinished_runs(session)
        for run in runs:
            run.status = "queued"
        ids = [run.id for run in runs]
    for run_id in ids:
        services.submit(run_id)
    if ids:
        log.warning("resumed %d unfinished run(s)", len(ids))


# standing exchange rates for the demo's foreign-currency invoices (an admin changes them on the settings page)
DEMO_RATES = {"GBP": Decimal("9.20"), "EUR": Decimal("7.80"), "USD": Decimal("7.10")}


def load_demo(services: Services) -> Demo:
    """Demo master data and documents into an empty database; a demo login and a demo key either way."""
    from models.master_io import import_master
    from pipeline.intake import receive
    with transaction(services.factory) as session:
        if not session.scalar(select(func.count()).select_from(Product)):
            for folder in DEMO_MASTER:
                for kind in MASTER_ORDER:
                    path = folder / f"{kind}.csv"
                    if path.exists():
                        report = import_master(session, path.read_bytes(), kind=kind)
                        if not report.ok:
                            log.warning("demo master %s: %s", path, report.errors[:3])
        if session.scalar(select(User.id).where(User.username == DEMO_USER)) is None:
            create_user(session, username=DEMO_USER, password=DEMO_PASSWORD, role="admin")
        key = _demo_key(services.settings.home)
        ensure_api_key(session, secret=key, name="demo", role="admin")
        if not company_settings(session).exchange_rates:      # the demo's GBP and EUR invoices post at these
            save_settings(session, who="demo", exchange_rates=DEMO_RATES)
        empty = not session.scalar(select(func.count()).select_from(Document))
    count = 0
    if empty:
        for path in sorted(DEMO_DOCUMENTS.iterdir()):
            if path.suffix.lower() in (".pdf", ".jpg", ".png"):
                receive(services, path.read_bytes(), filename=path.name, source="upload", who="demo")
                count += 1
    return Demo(DEMO_USER, DEMO_PASSWORD, key, count)


def _demo_key(home: Path) -> str:
    """The demo's API key, kept in $INBOUND_HOME/demo-api-key so it stays the same across restarts."""
    path = home / "demo-api-key"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    home.mkdir(parents=True, exist_ok=True)
    key = "inb_demo_" + secrets.token_urlsafe(24)
    path.write_text(key + "\n", encoding="utf-8")
    path.chmod(0o600)
    return key
