"""Reading a queued document: the body of the Celery task and of the in-process runner alike.

    run_document(services, run_id):
        claim the run (once: a redelivered task finds it taken or done and returns)
        load the original from the blob store and the master snapshot
        stages.process(...)  -> Draft                                  (pure; pipeline/stages.py)
        store the reading, the supplier, the status, the timings; queue `document.extracted`
    bad input -> the document is `failed` with the reason and `document.failed` is queued; the bytes stay.

Transient failures (blob store or database unreachable) put the run back to `queued` and re-raise, so the
task's retry (with backoff) finds it again.  `reprocess` queues a new run for a document already read; the
new reading replaces the document's, each run keeps the reading it made, and the history says so.

Issue 18, nothing stuck and nothing endless:
- `dispatch` hands runs to the dispatcher after commit and marks them sent; with the broker down they stay
  unsent (the document and its original are kept, the upload answers 202 `queued`) and `sweep` sends them when
  it is back (on start and every minute: the Celery beat, the worker's start, `inbound serve`'s sweeper thread);
  `sweep` also takes back runs `running` past the time limit (their worker died, or a hard time limit ended it).
- Attempt cap: each claim is an attempt; a run claimed more than INBOUND_MAX_ATTEMPTS times (a document that
  kills its worker, or keeps timing out) fails `too_many_attempts`, original kept.
- A result or a failure is stored only by the attempt that holds the run (`models.runs.holds`).
- In the embedded default each pipeline thread reads in a child process with the time and memory limits
  (`runtime.thread_reader`, pipeline/isolation.py).
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from extractors.errors import InboundError, InputError
from models.company import company_settings
from models.db import transaction
from models.documents import StoredDocuments, record_status, reviewable, set_reading, store_reading_keys
from models.errors import StateError
from models.runs import (ProcessingRun, claim_run, finish_run, holds, mark_sent, queue_run, run_state, runs_to_send,
                         stale_runs)
from models.tables import Document, DocumentHistory
from models.types import utcnow
from models.webhooks import record_event
from pipeline.blobs import StoreUnavailable
from pipeline.isolation import ChildUnavailable, out_of_memory
from pipeline.log_context import bind_document, run_context
from pipeline.review import rate_issue
from pipeline.runtime import Services, thread_reader
from pipeline.stages import Draft, process, reading_json

log = logging.getLogger("inbound.pipeline")
TRANSIENT = (StoreUnavailable, OperationalError)
WHO = "pipeline"
SETTLE_S = 30.0          # a run this young and unsent is still being sent by its intake: the sweep leaves it


def run_document(services: Services, run_id: int, *, take_over: bool = False, holder: str | None = None) -> str:
    """Read the run's document; returns what happened: done, failed, skipped (finished or gone), busy (another
    attempt has it and is not known dead: the caller may try again later).  take_over: the caller knows the
    earlier attempt is dead (the broker redelivered its task); holder: the Celery task id (the same task found
    holding the run is a dead attempt: see models.runs.claim_run)."""
    with run_context(run_id):
        return _run_document(services, run_id, take_over, holder)


def _run_document(services: Services, run_id: int, take_over: bool, holder: str | None = None) -> str:
    claimed = _claim(services, run_id, take_over, holder)
    if isinstance(claimed, str):
        return claimed
    attempt, document_id, filename, sha, hinted, master = claimed
    context = {"document": document_id, "sha256": sha}
    try:
        data = services.blobs.get(sha)
        draft = _read(services, data, source=filename, sha256=sha, master=master, document_id=str(document_id),
                      supplier_hint=hinted)
    except TRANSIENT:
        _release(services, run_id, attempt)
        raise
    except InputError as exc:
        log.warning("document failed: %s", exc.code, extra=context)
        reason = "timeout" if _timed_out(exc) else "too_large" if out_of_memory(exc) else exc.code
        return _fail(services, run_id, attempt, reason=reason, message=exc.message)
    except Exception as exc:  # a bug of ours on this file, or a time limit: the document fails, the bytes stay
        log.exception("document failed: internal error", extra=context)
        if _timed_out(exc):     # Celery's per-document time limit, even where a reader wrapped it
            return _fail(services, run_id, attempt, reason="timeout", message="Reading this document took longer "
                         f"than {services.settings.task_time_limit_s:g} s and was stopped; it has been kept for "
                         "review.")
        if out_of_memory(exc):   # the memory limit of a Celery worker child (pipeline/isolation.py)
            return _fail(services, run_id, attempt, reason="too_large", message="Reading this document needed "
                         f"more than {services.settings.task_memory_mb} MB of memory and was stopped; it has been "
                         "kept for review.")
        code = getattr(exc, "code", "read_error") if isinstance(exc, InboundError) else "read_error"
        return _fail(services, run_id, attempt, reason=code, message="This document could not be read because of "
                     "an internal error; it has been kept for review.")
    if not _store(services, run_id, draft, attempt):
        log.warning("run %s attempt %s was taken over; its reading is not stored", run_id, attempt, extra=context)
        return "skipped"
    log.info("document extracted", extra={**context, "stage": "draft"})
    return "done"


def _claim(services: Services, run_id: int, take_over: bool, holder: str | None):
    """Take the run: (attempt, document id, filename, sha256, supplier hint, master), or the outcome when there
    is nothing to read (skipped, busy, or failed `too_many_attempts`: the attempts before all ended without one)."""
    with transaction(services.factory) as session:
        run = session.get(ProcessingRun, run_id)
        if run is None:
            return "skipped"
        attempt = claim_run(session, run_id, stale_after_s=stale_after_s(services), take_over=take_over,
                            holder=holder)
        if not attempt:
            return "busy" if run_state(session, run_id) == "running" else "skipped"
        session.refresh(run)
        document = session.get(Document, run.document_id)
        if document is None or document.sha256 != run.sha256:
            finish_run(session, run, status="failed", timings_ms={}, error="document gone or replaced")
            return "skipped"
        over = attempt - (run.released or 0) > services.settings.max_attempts
        if over:
            _fail_in(session, run, document, reason="too_many_attempts", message=_too_many(attempt - 1))
        else:
            record_status(session, document, "processing", who=WHO, why=f"run {run_id}")
            bind_document(document.id, document.sha256)
            # hint: an e-mail sender's supplier, or an earlier reading's
            claimed = (attempt, document.id, document.filename, document.sha256, str(document.supplier_id or ""),
                       services.master.get(session))
    if over:
        services.wake_webhooks()
        log.warning("run %s failed too_many_attempts", run_id)
        return "failed"
    return claimed


def _read(services: Services, data: bytes, **kwargs) -> Draft:
    """The reading itself: in this pipeline thread's child process in the embedded default (time and memory
    limits, pipeline/isolation.py), else here (a Celery worker child is the isolation already)."""
    reader = thread_reader(services.settings)
    if reader is not None:
        try:
            return reader.read(data, options=services.options, **kwargs)
        except ChildUnavailable as exc:
            log.warning("no child process for reading (%s); reading in this thread", exc)
    return process(data, options=services.options, known_documents=known_documents(services), **kwargs)


def _too_many(attempts: int) -> str:
    return (f"This document was tried {attempts} times and each time its reader was stopped or lost (the file may "
            "be damaged or built to harm); it has been kept for review and will not be tried again.")


def _timed_out(exc: BaseException | None) -> bool:
    """Whether Celery's soft time limit is behind this exception (raised inside a reader that wrapped it in
    its own error, e.g. OCR's ReadError, it sits in the cause/context chain)."""
    for _ in range(10):
        if exc is None:
            return False
        if type(exc).__name__ == "SoftTimeLimitExceeded":
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def stale_after_s(services: Services) -> float:
    """A run running longer than this has lost its worker (the hard time limit would have ended it)."""
    return services.settings.task_time_limit_s + 60


def reprocess(services: Services, document_id: int, *, who: str) -> int:
    """Queue a new reading of a document (after a model or rule update); returns the run id."""
    with transaction(services.factory) as session:
        document = session.get(Document, document_id)
        if document is None:
            from models.errors import NotFound
            raise NotFound(f"No document {document_id}.")
        waiting = _unsent_run(session, document.id) if document.status in ("received", "processing") else None
        if waiting is not None:         # stuck behind a broker that was down: send it now, no new run
            run_id = waiting
        elif document.status not in ("needs_review", "ready", "failed"):
            raise StateError(f"A {document.status} document cannot be read again.")
        else:
            record_status(session, document, "processing", who=who, why="reprocess")
            run_id = queue_run(session, document_id=document.id, sha256=document.sha256, reason="reprocess").id
    dispatch(services, [run_id])        # the broker down: the sweep sends it when it is back
    return run_id


def _unsent_run(session, document_id: int) -> int | None:
    return session.scalar(select(ProcessingRun.id).where(ProcessingRun.document_id == document_id,
                                                         ProcessingRun.status == "queued",
                                                         ProcessingRun.sent_at.is_(None)).limit(1))


def dispatch(services: Services, run_ids: list[int]) -> bool:
    """Hand committed runs to the dispatcher and mark them sent; False (nothing raised) when the dispatcher
    could not take them (the broker is down): they stay unsent for the sweep."""
    sent: list[int] = []
    ok = True
    for run_id in run_ids:
        try:
            services.submit(run_id)
        except Exception as exc:  # the broker unreachable (kombu/amqp/redis errors): the run waits for the sweep
            log.warning("run %s not sent (%s: %s); the sweep sends it when the broker is back", run_id,
                        type(exc).__name__, exc)
            ok = False
            break
        sent.append(run_id)
    if sent:
        try:
            with transaction(services.factory) as session:
                mark_sent(session, sent)
        except OperationalError:
            log.warning("runs %s sent but not marked; the sweep may send them again (harmless)", sent)
    return ok


def sweep(services: Services, *, settle_s: float = SETTLE_S) -> dict:
    """Send what is stuck: runs `running` past the time limit go back to the queue (or fail `too_many_attempts`
    after the last attempt), and queued runs never sent (or sent and lost) are sent.  Idempotent: a run sent twice
    is claimed once.  Answers the counts."""
    limit = stale_after_s(services)
    failed, requeued = 0, []
    with transaction(services.factory) as session:
        for run in stale_runs(session, stale_after_s=limit):
            if run.attempts - (run.released or 0) >= services.settings.max_attempts:
                document = session.get(Document, run.document_id)
                _fail_in(session, run, document, reason="too_many_attempts", message=_too_many(run.attempts))
                failed += 1
            else:
                run.status, run.sent_at = "queued", None
                requeued.append(run.id)
                log.warning("run %s was running past its time limit; queued again", run.id)
    with transaction(services.factory) as session:
        ids = sorted(set(requeued) | set(runs_to_send(session, settle_s=settle_s, resend_after_s=limit)))
    ok = dispatch(services, ids) if ids else True
    if failed:
        services.wake_webhooks()
    if ids or failed:
        log.info("sweep: %d run(s) sent, %d failed too_many_attempts%s", len(ids), failed,
                 "" if ok else " (broker unreachable)")
    return {"sent": len(ids) if ok else 0, "failed": failed, "broker_ok": ok}


def fail_stopped(services: Services, run_id: int, *, reason: str, message: str) -> str:
    """A run whose attempt was ended from outside (Celery's hard time limit killed its child): fail it now
    rather than leave it `running`."""
    return _fail(services, run_id, None, reason=reason, message=message)


def known_documents(services: Services) -> StoredDocuments:
    """The documents already read, for the duplicate check: matching asks for one document's candidates once it
    knows the supplier and number (one indexed query, in its own short transaction since `process` runs outside
    ours; the keys are the columns `set_reading` / `_replace_reading` keep from the machine reading)."""
    return StoredDocuments(services.factory)


def _store(services: Services, run_id: int, draft: Draft, attempt: int | None = None) -> bool:
    """Store the reading if `attempt` still holds the run; False (nothing stored) when it was taken over."""
    extraction, matches = reading_json(draft)
    supplier = draft.match.supplier.id
    with transaction(services.factory) as session:
        run = session.get(ProcessingRun, run_id, with_for_update=True)
        if not holds(run, attempt):
            return False
        document = session.get(Document, run.document_id)
        status = draft.status
        if status == "ready" and rate_issue(draft.extraction, company_settings(session)) is not None:
            status = "needs_review"           # another currency and no rate known: the clerk enters one first
        if document.extraction is None:
            set_reading(session, document.id, extraction=extraction, matches=matches, who=WHO, status=status)
        else:
            _replace_reading(session, document, extraction, matches, run_id=run_id, status=status)
        if supplier:
            document.supplier_id = int(supplier)
        elif document.supplier_id is not None:    # the door's hint (an email's sender) where matching found none
            _hinted_supplier(session, document)
        finish_run(session, run, status="done", timings_ms=draft.timings_ms,
                   reading={"extraction": reviewable(extraction), "matches": matches})
        record_event(session, "document.extracted", {"id": document.id, "sha256": document.sha256,
                                                     "status": document.status,
                                                     "document_type": document.document_type,
                                                     "supplier_id": document.supplier_id})
    services.wake_webhooks()
    return True


def _hinted_supplier(session, document: Document) -> None:
    """Show the hinted supplier as the reviewer's first candidate (method `email_sender`, not auto-accepted)."""
    import copy
    from models.tables import Supplier
    supplier = session.get(Supplier, document.supplier_id)
    if supplier is None:
        document.supplier_id = None
        return
    current = copy.deepcopy(document.current)
    candidate = {"id": str(supplier.id), "name": supplier.name, "score": 0.5}
    before = current["matches"].get("supplier_match") or {}
    current["matches"]["supplier_match"] = {**before, **candidate, "method": "email_sender", "auto_accepted": False,
                                            "candidates": [candidate, *before.get("candidates", [])][:5]}
    document.current = current


def _replace_reading(session, document: Document, extraction: dict, matches: dict, *, run_id: int,
                     status: str) -> None:
    """A reprocess: the document takes the new reading; the old one stays in its run; history says so."""
    import copy
    document.extraction, document.matches = extraction, matches
    document.current = {"extraction": reviewable(extraction), "matches": copy.deepcopy(matches)}
    document.document_type = extraction.get("document_type")
    store_reading_keys(document, extraction)       # the duplicate check's keys follow the new machine reading
    session.add(DocumentHistory(document_id=document.id, at=utcnow(), who=WHO, path="extraction",
                                before="previous reading", after="machine reading", why=f"reprocessed (run {run_id})"))
    record_status(session, document, status, who=WHO)


def _fail(services: Services, run_id: int, attempt: int | None, *, reason: str, message: str) -> str:
    """Fail the document if `attempt` still holds the run (None: whichever attempt); else "skipped"."""
    with transaction(services.factory) as session:
        run = session.get(ProcessingRun, run_id, with_for_update=True)
        if not holds(run, attempt):
            return "skipped"
        document = session.get(Document, run.document_id)
        _fail_in(session, run, document, reason=reason, message=message)
    services.wake_webhooks()
    return "failed"


def _fail_in(session, run: ProcessingRun, document: Document | None, *, reason: str, message: str) -> None:
    finish_run(session, run, status="failed", timings_ms={}, error=f"{reason}: {message}")
    if document is None or document.status not in ("received", "processing"):
        return              # the document moved on (read by another run, reviewed): only the run ends
    record_status(session, document, "failed", who=WHO, reason=reason, why=message)
    record_event(session, "document.failed", {"id": document.id, "sha256": document.sha256, "reason": reason,
                                              "message": message})


def _release(services: Services, run_id: int, attempt: int | None = None) -> None:
    """Give a claimed run back (a transient failure, not the document's fault: the attempt does not count); the
    retry will claim it again."""
    try:
        with transaction(services.factory) as session:
            run = session.get(ProcessingRun, run_id)
            if holds(run, attempt):
                run.status = "queued"
                run.released = (run.released or 0) + 1
    except OperationalError:
        log.warning("could not release run %s; it will be taken again when stale", run_id)
