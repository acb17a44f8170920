"""Processing runs (issue 7): one row each time the pipeline is asked to read a document.

A run is created `queued` in the same transaction as the document (or the reprocess request) and handed to a
worker by id after commit.  `claim_run` makes it `running` only once: a second delivery of the same task
(acks_late redelivers after a worker died) finds it running or done and leaves it, unless the first attempt
is older than the stale limit (that worker is gone).  `finish_run` keeps the stage timings, and for a reprocess
the reading it produced, so earlier readings stay in the runs after the document takes the newest one.
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


def queue_run(session: Session, *, document_id: int, sha256: str, reason: str) -> ProcessingRun:
    run = ProcessingRun(document_id=document_id, sha256=sha256, reason=reason, status="queued", attempts=0,
                        queued_at=utcnow(), timings_ms={})
    session.add(run)
    session.flush()
    return run


def claim_run(session: Session, run_id: int, *, stale_after_s: float, take_over: bool = False) -> bool:
    """Mark the run running if it is queued (or running but stale, or running and `take_over`: the broker
    redelivered the task because the worker that had it is gone); False when another attempt has it or it is
    finished.  One UPDATE, so two workers cannot both win."""
    now = utcnow()
    stale = now - timedelta(seconds=0 if take_over else stale_after_s)
    result = session.execute(
        update(ProcessingRun)
        .where(ProcessingRun.id == run_id,
               (ProcessingRun.status == "queued")
               | ((ProcessingRun.status == "running") & (ProcessingRun.started_at <= stale)))
        .values(status="running", started_at=now, attempts=ProcessingRun.attempts + 1)
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


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
