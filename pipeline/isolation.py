"""Reading a document in a child process (issue 18): the embedded default's equivalent of a Celery worker child.

    reader = ChildReader(settings)
    draft = reader.read(data, source=..., sha256=..., master=..., options=..., document_id=..., supplier_hint=...)

One child per pipeline thread, started on its first document (from a fork server that has the readers imported
already) and reused for the next ones.  In the child the address space may grow INBOUND_TASK_MEMORY_MB beyond
what it needed to start (RLIMIT_AS): a bigger allocation raises MemoryError there and the document fails
`too_large`.  The parent waits INBOUND_TASK_TIME_LIMIT_S (plus a few seconds, so the reader's own limits speak
first), then kills the child: the document fails `timeout`.  A child that dies (a crash in a native reader, the
kernel's OOM killer) fails it `reader_crashed`.  Either way a fresh child takes the next document and the service
goes on.  The child opens its own database engine for the duplicate check (`StoredDocuments`).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import resource
import threading

from extractors.errors import InboundError, InputError

log = logging.getLogger("inbound.isolation")
GRACE_S = 5.0
PRELOAD = ["pipeline.stages", "pipeline.isolation", "PIL.Image", "numpy", "cv2", "pypdfium2", "models.documents"]
_context_lock = threading.Lock()
_context = None


class ReadTimeout(InputError):
    code = "timeout"


class ReadTooLarge(InputError):
    code = "too_large"


class ReaderCrashed(InputError):
    code = "reader_crashed"


class ChildUnavailable(Exception):
    """The child could not be started (the caller reads in its own thread instead)."""


class ChildFailed(Exception):
    """A bug of ours in the child (not the document's fault as far as we can tell): read_error."""


def _mp_context():
    global _context
    with _context_lock:
        if _context is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(PRELOAD)
            _context = context
        return _context


def preload() -> None:
    """Import what the readers load lazily, before the memory limit is set (a Celery worker child)."""
    import importlib
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            pass


class ChildReader:
    """A reused child process that reads one document at a time under the time and memory limits."""

    def __init__(self, settings) -> None:
        self.db_url = settings.db_url
        self.time_limit_s = float(settings.task_time_limit_s)
        self.memory_mb = int(settings.task_memory_mb)
        self._process = None
        self._conn = None
        self._master_sent = None
        self.started = 0        # children started (tests)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def _start(self) -> None:
        context = _mp_context()
        parent, child = context.Pipe()
        process = context.Process(target=_child_main, args=(child, self.db_url, self.memory_mb),
                                  name="inbound-reader", daemon=True)
        try:
            process.start()
        except Exception as exc:  # no fork server here (a frozen or odd __main__): read in the thread
            parent.close()
            child.close()
            raise ChildUnavailable(f"{type(exc).__name__}: {exc}") from exc
        child.close()
        self._process, self._conn, self._master_sent = process, parent, None
        self.started += 1

    def read(self, data: bytes, *, master, **kwargs):
        if self._process is None or not self._process.is_alive():
            self.close()
            self._start()
        payload = None if master is self._master_sent else master
        try:
            self._conn.send(("read", data, payload, kwargs))
        except (BrokenPipeError, OSError):
            self.close()
            raise ReaderCrashed("The reader stopped before it got this document; it has been kept for review.") from None
        self._master_sent = master
        if not self._conn.poll(self.time_limit_s + GRACE_S):
            self.close()
            raise ReadTimeout(f"Reading this document took longer than {self.time_limit_s:g} s and was stopped; "
                              "it has been kept for review.")
        try:
            kind, value = self._conn.recv()
        except (EOFError, OSError):
            code = self._process.exitcode if self._process is not None else None
            self.close()
            log.warning("reader child died (exit %s)", code)
            raise ReaderCrashed("The reader stopped while reading this document (it may be damaged or built to "
                                "harm); it has been kept for review.") from None
        if kind == "ok":
            return value
        if kind == "input":
            code, message, bad_input = value
            error = (InputError if bad_input else InboundError)(message)
            error.code = code
            raise error
        if kind == "memory":
            self.close()              # a child that ran out of memory may be in a poor state: start afresh
            raise ReadTooLarge(f"Reading this document needed more than {self.memory_mb} MB of memory and was "
                               "stopped; it has been kept for review.")
        if kind == "transient":
            from sqlalchemy.exc import OperationalError
            raise OperationalError("child reader", {}, Exception(value))
        raise ChildFailed(value)

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except OSError:
                pass
        if self._process is not None:
            if self._process.is_alive():
                self._process.kill()
            self._process.join(5)
        self._process = self._conn = self._master_sent = None


def limit_memory(memory_mb: int) -> int:
    """Address space: what the child holds now (interpreter, readers, models loaded by earlier documents) plus
    the document's allowance; set before each document (the soft limit only, so it can be set again).  Answers
    the soft limit it replaced (for `restore_memory`)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            size_kb = next(int(line.split()[1]) for line in status if line.startswith("VmSize:"))
    except (OSError, StopIteration, ValueError):
        size_kb = 0
    limit = size_kb * 1024 + memory_mb * 1024 * 1024
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))
    except (ValueError, OSError):
        log.warning("could not limit the reader's memory")
    return soft


def restore_memory(soft: int) -> None:
    try:
        resource.setrlimit(resource.RLIMIT_AS, (soft, resource.getrlimit(resource.RLIMIT_AS)[1]))
    except (ValueError, OSError):
        log.warning("could not restore the memory limit")


def out_of_memory(exc: BaseException | None) -> bool:
    for _ in range(10):
        if exc is None:
            return False
        text = str(exc).lower()
        if isinstance(exc, MemoryError) or "cannot allocate memory" in text or "failed to map segment" in text:
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _child_main(conn, db_url: str, memory_mb: int) -> None:
    from sqlalchemy.exc import OperationalError

    from models.db import make_engine, session_factory
    from models.documents import StoredDocuments
    from pipeline.blobs import StoreUnavailable
    from pipeline.stages import process
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    factory = session_factory(make_engine(db_url, pool_size=1))
    master = None
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        _, data, sent_master, kwargs = message
        if sent_master is not None:
            master = sent_master
        limit_memory(memory_mb)
        try:
            draft = process(data, master=master, known_documents=StoredDocuments(factory), **kwargs)
            answer = ("ok", draft)
        except MemoryError:
            answer = ("memory", "")
        except (OperationalError, StoreUnavailable) as exc:
            answer = ("transient", str(exc)[:500])
        except InboundError as exc:     # a reader that wrapped the MemoryError in its own error
            answer = (("memory", "") if out_of_memory(exc) else
                      ("input", (exc.code, exc.message, isinstance(exc, InputError))))
        except Exception as exc:  # a bug of ours on this file
            answer = ("error", f"{type(exc).__name__}: {exc}"[:2000])
        del data
        try:
            conn.send(answer)
        except MemoryError:
            conn.send(("memory", ""))
        except Exception as exc:  # a result that does not pickle: a bug of ours
            conn.send(("error", f"result not sent: {type(exc).__name__}: {exc}"[:2000]))
