"""Learning from use (issue 15): the layout model retrained on the documents people confirmed, in the background.

    maybe_retrain     after INBOUND_RETRAIN_EVERY newly confirmed documents (or when an admin asks): a candidate
                      trained on them (pipeline.training.retrain, from the current model) is recorded, and promoted
                      only if it scores at least as well as the current model on every held-back set (a held-back
                      part of the confirmed documents, generated held-back families); else it is kept as rejected,
                      with its scores.  One at a time: a lock across threads and processes (a PostgreSQL advisory
                      lock; on SQLite, a file lock beside the models).
    Retrainer         the embedded default's daemon thread that calls it; with Celery the beat task
                      `inbound.retrain_layout_model` (pipeline/celery_app.py) calls it on a worker
    start_retrain     an admin's "retrain now" (POST /api/v1/models/retrain, the admin page)

Reading never waits for training: a retrain runs in its own thread (or worker child), at a lower priority where the
OS allows.  Retraining serves INBOUND_MODEL=auto only (a pinned folder or `none` is the operator's choice); without
torch it is skipped with one log line.  A confirmed document that cannot be labelled is skipped by the trainer and
counted in the candidate's metrics (`skipped`), beside documents whose file is gone.
"""

from __future__ import annotations

import copy
import fcntl
import importlib.util
import json
import os
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import structlog
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from models.db import transaction
from models.layout_models import ModelVersion, current_version, last_trained_on, promote, record_candidate, reject
from models.tables import Document
from pipeline.blobs import BlobMissing, BlobStore
from pipeline.config import Settings
from pipeline.layout_models import (CONFIRMED_STATES, Host, confirmed_count, log_once, model_problem,
                                    shipped_model_dir)

log = structlog.get_logger("inbound.retrain")
MAX_CONFIRMED = 1000          # the newest confirmed documents a retrain learns from (their bytes are in memory)
MIN_CONFIRMED = 2             # fewer leave nothing to hold back
POLL_S = 60.0                 # the embedded thread's check for newly confirmed documents
BEAT_S = 300.0                # the Celery beat's
SCORING_ALLOWANCE_S = 1800.0  # beyond the training minutes: export, scoring both models on the held-back sets
LOCK_KEY = 0x1B0A_5EED        # the PostgreSQL advisory lock of a retrain
WHO = "retrain"


@dataclass(frozen=True, slots=True)
class RetrainOutcome:
    status: str            # off | pinned | no_torch | not_due | busy | too_few | promoted | rejected | failed
    version: int | None = None
    detail: str = ""


def confirmed_training_docs(session: Session, blobs: BlobStore, *, limit: int = MAX_CONFIRMED):
    """The newest `limit` confirmed documents, oldest first, as TrainingDoc (the original bytes, the reviewed
    reading as truth), and how many were left out, by reason."""
    from pipeline.training.types import TrainingDoc
    rows = session.scalars(select(Document).where(Document.status.in_(CONFIRMED_STATES))
                           .order_by(Document.id.desc()).limit(limit))
    docs, skipped = [], {}
    for document in rows:
        extraction = (document.current or {}).get("extraction")
        if not extraction:
            skipped["no_reading"] = skipped.get("no_reading", 0) + 1
            continue
        try:
            data = blobs.get(document.sha256)
        except BlobMissing:
            skipped["file_missing"] = skipped.get("file_missing", 0) + 1
            continue
        docs.append(TrainingDoc(name=f"{document.id}-{document.filename}", data=data,
                                truth=copy.deepcopy(extraction), origin="confirmed"))
    return docs[::-1], skipped


def maybe_retrain(host: Host, *, force: bool = False, who: str = WHO) -> RetrainOutcome:
    """Retrain when due (or `force`: an admin asked), record the candidate, promote or reject it by its scores."""
    settings = host.settings
    if settings.retrain_every <= 0 and not force:
        return RetrainOutcome("off")
    if settings.model.strip().lower() not in ("", "auto"):
        return RetrainOutcome("pinned", detail=f"INBOUND_MODEL={settings.model}: the operator chose the model")
    if importlib.util.find_spec("torch") is None:
        log_once(("no_torch",), "layout_model_retrain_skipped", reason="torch is not installed")
        return RetrainOutcome("no_torch", detail="torch is not installed")
    due = _due(host, force=force)
    if isinstance(due, RetrainOutcome):
        return due
    with training_lock(host.engine, settings.home) as got:
        if not got:
            return RetrainOutcome("busy", detail="a retrain is running")
        due = _due(host, force=force)          # again: another process may have trained meanwhile
        if isinstance(due, RetrainOutcome):
            return due
        outcome = _retrain(host, confirmed=due, who=who)
    if outcome.status == "failed":              # wait for as many new documents before the next try
        _failed_at[str(host.engine.url)] = due
    return outcome


_failed_at: dict[str, int] = {}     # database -> confirmed documents when a retrain last failed, in this process


def _due(host: Host, *, force: bool) -> int | RetrainOutcome:
    """The confirmed documents there are now when it is time to train, else why not."""
    with host.factory() as session:
        confirmed, trained_on = confirmed_count(session), last_trained_on(session)
    since = confirmed - max(trained_on, _failed_at.get(str(host.engine.url), 0))
    if not force and since < host.settings.retrain_every:
        return RetrainOutcome("not_due", detail=f"{max(0, since)} of {host.settings.retrain_every}")
    return confirmed


def _retrain(host: Host, *, confirmed: int, who: str) -> RetrainOutcome:
    from pipeline.training import retrain
    settings = host.settings
    with host.factory() as session:
        docs, skipped = confirmed_training_docs(session, host.blobs)
        current = current_version(session)
    if len(docs) < MIN_CONFIRMED:
        return RetrainOutcome("too_few", detail=f"{len(docs)} confirmed document(s) with their files")
    base = _base_model(current)
    log.info("layout_model_retrain_started", documents=len(docs), skipped=skipped, base=base and str(base), who=who)
    started = time.monotonic()
    try:
        result = retrain(docs, settings.home.resolve() / "models", base_model=base,
                         minutes=settings.retrain_minutes, seed=0)
    except Exception as exc:  # a training failure must not take the service down; a later check tries again
        log.exception("layout_model_retrain_failed", error=f"{type(exc).__name__}: {exc}")
        return RetrainOutcome("failed", detail=f"{type(exc).__name__}: {exc}")
    candidate = result.candidate
    metrics = _json_safe({**candidate.metrics, "skipped": {**skipped, **candidate.skipped},
                          "retrain_seconds": round(time.monotonic() - started, 1), "base_model": base and str(base)})
    with transaction(host.factory) as session:
        recorded = record_candidate(session, path=str(Path(candidate.model_dir).resolve()),
                                    data_version=candidate.data_version, code_version=candidate.code_version,
                                    trained_on=confirmed, metrics=metrics, scores=_json_safe(result.scores), who=who)
    refusal = _refusal(result, recorded.path)
    with transaction(host.factory) as session:
        if refusal is None:
            promote(session, recorded.version, by=who,
                    reason=f"at least as good on every held-back set: {_scores_text(result.scores)}")
        else:
            reject(session, recorded.version, by=who, reason=refusal)
    if host.layout is not None:
        host.layout.refresh()
    status = "promoted" if refusal is None else "rejected"
    log.info("layout_model_retrained", version=recorded.version, status=status, scores=result.scores)
    return RetrainOutcome(status, recorded.version, refusal or "")


def _base_model(current: ModelVersion | None) -> Path | None:
    """What the candidate starts from and is scored against: the promoted version, else the shipped model, when
    it loads; else nothing (the candidate is scored against the rules alone)."""
    for folder in (current.path if current else None, shipped_model_dir()):
        if folder is not None and model_problem(folder) is None:
            return Path(folder)
    return None


def _refusal(result, path: str) -> str | None:
    """Why the candidate is not promoted, or None: it must have been scored, score at least as well, and load."""
    if not result.scores:
        return "no held-back scores: nothing shows that it is at least as good"
    if not result.better_or_equal:
        return f"below the current model on a held-back set: {_scores_text(result.scores)}"
    problem = model_problem(path)
    return None if problem is None else f"the candidate does not load: {problem}"


def _scores_text(scores: dict) -> str:
    return "; ".join(f"{name} {s['candidate']:.3f} vs {s['base']:.3f}" for name, s in sorted(scores.items()))


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


# -- one at a time, in the background ---------------------------------------------------------------------------

_thread_locks: dict[str, threading.Lock] = {}


@contextmanager
def training_lock(engine: Engine, home: Path) -> Iterator[bool]:
    """True while this caller holds the retrain lock of this database, False (at once) when another has it."""
    local = _thread_locks.setdefault(str(engine.url), threading.Lock())
    if not local.acquire(blocking=False):
        yield False
        return
    try:
        if engine.dialect.name == "postgresql":
            with _advisory_lock(engine) as got:
                yield got
        else:
            with _file_lock(home / "models" / ".retrain.lock") as got:
                yield got
    finally:
        local.release()


@contextmanager
def _advisory_lock(engine: Engine) -> Iterator[bool]:
    with engine.connect() as connection:
        got = bool(connection.execute(text("select pg_try_advisory_lock(:key)"), {"key": LOCK_KEY}).scalar())
        connection.commit()
        try:
            yield got
        finally:
            if got:
                connection.execute(text("select pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
                connection.commit()


@contextmanager
def _file_lock(path: Path) -> Iterator[bool]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class Retrainer:
    """The embedded default's retrain: a daemon thread that checks every `poll_s` (never when INBOUND_RETRAIN_EVERY
    is 0) and when woken; `stop()` does not wait for a training under way (the thread ends with the process)."""

    def __init__(self, host: Host, *, poll_s: float = POLL_S) -> None:
        self._host, self._poll_s = host, poll_s
        self._wake, self._busy = threading.Event(), threading.Event()
        self._force, self._who, self._stopping = False, WHO, False
        self.last: RetrainOutcome | None = None
        self._thread = threading.Thread(target=self._loop, name="inbound-retrain", daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def busy(self) -> bool:
        return self._busy.is_set()

    def wake(self, *, force: bool = False, who: str = WHO) -> bool:
        """Check now (`force`: retrain even if not due); False when a retrain is already running."""
        if self.busy:
            return False
        self._force, self._who = self._force or force, who
        self._wake.set()
        return True

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stopping = True
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def _loop(self) -> None:
        _lower_priority()
        every = self._host.settings.retrain_every > 0
        while True:
            self._wake.wait(self._poll_s if every else None)
            if self._stopping:
                return
            self._wake.clear()
            self._busy.set()
            force, who, self._force = self._force, self._who, False
            try:
                self.last = maybe_retrain(self._host, force=force, who=who)
            except Exception:  # a bug or the database away: try again at the next check
                log.exception("layout_model_retrain_check_failed")
            finally:
                self._busy.clear()


def _lower_priority() -> None:
    """Training yields the CPU to reading: on Linux a thread's nice value is its own (threads it starts inherit it)."""
    if sys.platform.startswith("linux"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        except OSError:
            pass


def start_retrain(host: Host, *, who: str) -> str:
    """An admin's "retrain now": started (this process's thread), queued (a Celery task), or running already."""
    if host.retrainer is not None:
        return "started" if host.retrainer.wake(force=True, who=who) else "running"
    send = getattr(host.dispatcher, "send_retrain", None)
    if send is not None:
        send(who=who)
        return "queued"
    threading.Thread(target=maybe_retrain, args=(host,), kwargs={"force": True, "who": who},
                     name="inbound-retrain-once", daemon=True).start()
    return "started"


def retrain_time_limit_s(settings: Settings) -> float:
    """The Celery task's soft time limit: the training minutes and the scoring after them."""
    return settings.retrain_minutes * 60 + SCORING_ALLOWANCE_S
