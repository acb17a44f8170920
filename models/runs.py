"""Processing runs (issue 7): one row each time the pipeline is asked to read a document.

A run is created `queued` in the same transaction as the document (or the reprocess request) and handed to a
worker by id after commit.  `claim_run` makes it `running` only once: a second delivery of the same task
(acks_late redelivers after a worker died) finds it running or done and leaves it, unless the first attempt
is older than the stale limit (that worker is gone).  `finish_run` keeps the stage timings, and for a reprocess
the reading it produced, so earlier readings stay in the runs after the document takes the newest one.

Issue 18: `attempts` is also the attempt's token: `claim_run` answers the attempt number it took, and a result or
a failure is stored only while the run is still `running` under that number (`holds`), so an attempt that was
taken over (its worker presumed dead) cannot overwrite the newer one.  `sent_at` is the outbox: NULL while the
run was never handed to the broker (it was down at intake); `runs_to_send` and `stale_runs` are what the sweep
sends again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, Integer, String, Text, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.tables import Base, Json
from models.types import UtcDateTime, utcnow

RUN_STATES = ("queued", "running", "done", "failed")


class ProcessingRun(Base):
    __tablename__ = "processing_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(64))           # intake | reprocess
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    queued_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    timings_ms: Mapped[dict] = mapped_column(Json, default=dict)   # stage -> milliseconds
    reading: Mapped[dict | None] = mapped_column(Json)             # {"extraction", "matches"} this run produced
    error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)   # handed to the dispatcher; NULL: not yet
    holder: Mapped[str | None] = mapped_column(String(64))          # the Celery task id of the running attempt
    released: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # attempts given back (transient)


def queue_run(session: Session, *, document_id: int, sha256: str, reason: str) -> ProcessingRun:
    run = ProcessingRun(document_id=document_id, sha256=sha256, reason=reason, status="queued", attempts=0,
                        queued_at=utcnow(), timings_ms={})
    session.add(run)
    session.flush()
    return run


def claim_run(session: Session, run_id: int, *, stale_after_s: float, take_over: bool = False,
              holder: str | None = None) -> int:
    """Mark the run running if it is queued (or running but stale, or running and `take_over`: the broker
    redelivered the task because the worker that had it is gone); answers the attempt number taken (1, 2, ...),
    0 when another attempt has it or it is finished.  One UPDATE, so two workers cannot both win.
    holder: this attempt's Celery task id; a run running under the same id is taken over (a message is delivered
    to one consumer at a time, so the one that had it is gone: its child was killed and the task requeued)."""
    now = utcnow()
    stale = now - timedelta(seconds=0 if take_over else stale_after_s)
    dead = (ProcessingRun.started_at <= stale)
    if holder is not None:
        dead = dead | (ProcessingRun.holder == holder)
    result = session.execute(
        update(ProcessingRun)
        .where(ProcessingRun.id == run_id,
               (ProcessingRun.status == "queued") | ((ProcessingRun.status == "running") & dead))
        .values(status="running", started_at=now, attempts=ProcessingRun.attempts + 1, holder=holder)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        return 0
    return int(session.scalar(select(ProcessingRun.attempts).where(ProcessingRun.id == run_id)) or 0)


def holds(run: ProcessingRun | None, attempt: int | None) -> bool:
    """Whether `attempt` still holds the run (it is running under that attempt number); attempt None: any."""
    return run is not None and run.status == "running" and (attempt is None or run.attempts == attempt)


def mark_sent(session: Session, run_ids: list[int]) -> None:
    if run_ids:
        session.execute(update(ProcessingRun).where(ProcessingRun.id.in_(run_ids)).values(sent_at=utcnow())
                        .execution_options(synchronize_session=False))


def runs_to_send(session: Session, *, settle_s: float, resend_after_s: float) -> list[int]:
    """Queued runs never handed to the broker (older than `settle_s`: intake sends its own right after commit),
    and queued runs sent longer than `resend_after_s` ago that nobody took (a message the broker lost)."""
    now = utcnow()
    never = (ProcessingRun.sent_at.is_(None)) & (ProcessingRun.queued_at <= now - timedelta(seconds=settle_s))
    lost = ProcessingRun.sent_at <= now - timedelta(seconds=resend_after_s)
    return list(session.scalars(select(ProcessingRun.id).where(ProcessingRun.status == "queued", never | lost)
                                .order_by(ProcessingRun.id)))


def stale_runs(session: Session, *, stale_after_s: float) -> list[ProcessingRun]:
    """Runs `running` past the time limit: their worker is gone (or the hard limit ended it unseen)."""
    stale = utcnow() - timedelta(seconds=stale_after_s)
    return list(session.scalars(select(ProcessingRun).where(ProcessingRun.status == "running",
                                                            ProcessingRun.started_at <= stale)
                                .order_by(ProcessingRun.id)))


def run_state(session: Session, run_id: int) -> str | None:
    return session.scalar(select(ProcessingRun.status).where(ProcessingRun.id == run_id))


def finish_run(session: Session, run: ProcessingRun, *, status: str, timings_ms: dict,
               reading: dict | None = None, error: str | None = None) -> None:
    run.status, run.timings_ms, run.reading, run.error = status, timings_ms, reading, error
    run.finished_at = utcnow()


def runs_of(session: Session, document_id: int) -> list[ProcessingRun]:
    return list(session.scalars(select(ProcessingRun).where(ProcessingRun.document_id == document_id)
                                .order_by(ProcessingRun.id)))


def unfinished_runs(session: Session) -> list[ProcessingRun]:
    """Runs queued or running: what a restarted in-process runner must pick up again."""
    return list(session.scalars(select(ProcessingRun).where(ProcessingRun.status.in_(("queued", "running")))
                                .order_by(ProcessingRun.id)))
