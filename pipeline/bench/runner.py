"""Run the pure extraction stages on files, with a per-document time limit and progress.

The time limit uses a POSIX interval timer in the main thread (the CLI's case); elsewhere (worker
threads) it is the caller's job, e.g. Celery's task time limit.
"""

from __future__ import annotations

import logging
import signal
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from extractors.errors import ReadTimeout
from extractors.extract import extract_or_fail
from extractors.options import ReadOptions
from extractors.result import Extraction, Issue, Severity, failed_extraction
from pipeline.bench.evaluate import DocScore, Report, documents_in, load_truth, score_document
from pipeline.bench.families import Holdout, family_of

log = logging.getLogger("inbound.runner")


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise ReadTimeout in the main thread after `seconds`; a no-op in other threads."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    fired = []

    def expire(signum, frame):  # noqa: ARG001
        fired.append(True)
        raise ReadTimeout(f"Reading this document took longer than {seconds:g} s and was stopped.")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    if fired:       # the alarm went off in code that made another error of it (a C extension's import failing)
        raise ReadTimeout(f"Reading this document took longer than {seconds:g} s and was stopped.")


def extract_file(path: Path, options: ReadOptions) -> Extraction:
    """Extract one file; bad input and time-outs become a failed Extraction, never an exception."""
    data = path.read_bytes()
    try:
        with time_limit(options.timeout_s):
            return extract_or_fail(data, source=path.name, options=options)
    except ReadTimeout as exc:
        import hashlib
        issue = Issue(exc.code, Severity.ERROR, exc.message)
        return failed_extraction(source=path.name, sha256=hashlib.sha256(data).hexdigest(), issue=issue)


def evaluate_folder(folder: Path, options: ReadOptions, holdout: Holdout | None = None,
                    only: bool | None = None) -> Report:
    """Read and score every document of `folder`. Each gets its family (families.py) and whether `holdout`
    holds it back; `only=True` evaluates just the held-back families, `only=False` just the others (the
    family is told before reading, so a skipped document is never read)."""
    from rich.progress import Progress
    from rich.console import Console
    holdout = holdout or Holdout()
    todo, families = [], set()
    for doc_path, gt_path in documents_in(folder):
        truth = load_truth(gt_path)
        family = family_of(doc_path.name, truth, doc_path)
        families.add(family)
        if only is None or holdout.holds(family) == only:
            todo.append((doc_path, truth, family))
    for pattern in holdout.unmatched(families):
        log.warning("--holdout %r holds back no family in %s", pattern, folder)
    docs: list[DocScore] = []
    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(f"eval {folder.name}", total=len(todo))
        for doc_path, truth, family in todo:
            extraction = extract_file(doc_path, options)
            score = score_document(doc_path.name, truth, extraction)
            score.family, score.held_back = family, holdout.holds(family)
            if extraction.reader == "none" and extraction.issues:
                score.error = f"{extraction.issues[0].code}: {extraction.issues[0].message}"
            docs.append(score)
            progress.advance(task)
    return Report(docs, holdout.patterns)
