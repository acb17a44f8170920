"""The watched folder: documents dropped into a folder are stored, then moved to `processed/` (or `failed/` when
refused: empty, too large, not a document type), with source `folder`.

A file is taken only once it has stopped growing (the same size and mtime on two looks `settle_s` apart), so a
scanner or a copy still writing it is left alone.  It is moved only after it is stored: a crash in between means
the next look stores it again, which finds the same sha256 and adds nothing, then moves it; a restart looks at
everything in the folder, so nothing is missed or stored twice.  watchdog wakes the look at once when the folder
changes (inotify, or its polling observer where inotify is unavailable); a look also runs every `poll_s`.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from pathlib import Path

from extractors.errors import InputError
from pipeline.intake import receive, supported
from pipeline.runtime import Services

log = logging.getLogger("inbound.folder")
PROCESSED, FAILED = "processed", "failed"


class FolderWatcher:
    def __init__(self, services: Services, folder: Path, *, settle_s: float = 1.0, poll_s: float = 2.0) -> None:
        self.services, self.folder, self.settle_s, self.poll_s = services, folder, settle_s, poll_s
        self._seen: dict[Path, tuple[int, int, float]] = {}     # path -> (size, mtime_ns, first seen stable)
        self._wake, self._stop = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._loop, name="inbound-folder", daemon=True)
        self._observer = None

    def start(self) -> None:
        for name in ("", PROCESSED, FAILED):
            (self.folder / name).mkdir(parents=True, exist_ok=True)
        self._observer = _observer(self.folder, self._wake.set)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=30)
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.look()
            except Exception:  # a failing look (database down) is retried at the next one
                log.exception("watched folder look failed")
            self._wake.wait(self.settle_s if self._seen else self.poll_s)
            self._wake.clear()

    def look(self) -> int:
        """Store and move every file that has settled; returns how many were handled."""
        handled, now = 0, time.monotonic()
        present = set()
        for path in sorted(p for p in self.folder.iterdir() if p.is_file() and not p.name.startswith(".")):
            present.add(path)
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            key = (stat.st_size, stat.st_mtime_ns)
            previous = self._seen.get(path)
            if previous is None or previous[:2] != key:
                self._seen[path] = (*key, now)
                continue
            if now - previous[2] < self.settle_s:
                continue
            self._take(path)
            self._seen.pop(path, None)
            handled += 1
        for gone in set(self._seen) - present:
            self._seen.pop(gone, None)
        return handled

    def _take(self, path: Path) -> None:
        if not supported(path.name):
            _move(path, self.folder / FAILED)
            log.warning("%s is not a document type; moved to failed/", path.name)
            return
        try:
            received = receive(self.services, path.read_bytes(), filename=path.name, source="folder",
                               who="folder")
        except InputError as exc:
            _move(path, self.folder / FAILED)
            log.warning("%s refused: %s; moved to failed/", path.name, exc.message)
            return
        _move(path, self.folder / PROCESSED)
        log.info("stored from folder", extra={"document": received.document_id, "sha256": received.sha256})


def _move(path: Path, folder: Path) -> None:
    target = folder / path.name
    if target.exists():
        target = folder / f"{path.stem}-{time.strftime('%Y%m%d%H%M%S')}-{time.monotonic_ns() % 10**6}{path.suffix}"
    shutil.move(str(path), target)


def _observer(folder: Path, wake) -> object | None:
    """A watchdog observer that wakes the look on any change; the polling observer when inotify fails."""
    from watchdog.events import FileSystemEventHandler
    from watchdog.observers import Observer
    from watchdog.observers.polling import PollingObserver

    class Wake(FileSystemEventHandler):
        def on_any_event(self, event):
            wake()

    for kind in (Observer, PollingObserver):
        observer = kind()
        try:
            observer.schedule(Wake(), str(folder), recursive=False)
            observer.start()
            return observer
        except OSError as exc:
            log.warning("%s unavailable (%s); trying the next", kind.__name__, exc)
    return None
