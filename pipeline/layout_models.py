"""The learned layout model in the service (issue 15): which model the pipeline reads with, and its versions.

    ModelResolver     the folder for ReadOptions.model.  INBOUND_MODEL=auto: the promoted version, else the model
                      shipped in the package; none: the rules alone; else that folder.  A folder that `load_model`
                      refuses is logged once and the pipeline reads with the rules alone (`state()` says why,
                      /healthz shows it): a bad model file never stops reading.
    promote_version   an admin's rollback or roll forward; the folder must load first
    models_overview   the versions, their scores, the one read with, the retrain's progress (API, admin page)

Learning from use (retraining after confirmed documents, in the background) is pipeline/retrain.py.  A promotion
in another process (a Celery worker's retrain) reaches this process's readers within REFRESH_S.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import structlog
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from extractors.errors import InboundError
from models.db import transaction
from models.errors import StateError
from models.layout_models import (SHIPPED, ModelVersion, all_versions, current_version, get_version,
                                  last_trained_on, model_events, promote)
from models.tables import Document
from pipeline.blobs import BlobStore
from pipeline.config import Settings

log = structlog.get_logger("inbound.layout_models")
CONFIRMED_STATES = ("confirmed", "posted")   # a person confirmed the reading (posted, or waiting for an approver)
REFRESH_S = 30.0              # how stale the resolved model may be


class ModelUnusable(InboundError):
    """A model folder that cannot be loaded was to be promoted."""
    code = "model_unavailable"


@dataclass(frozen=True, slots=True)
class ModelState:
    status: str                   # ok | rules_only | unavailable (a folder was named but does not load)
    path: str | None              # the folder read with (ok), or the one that failed (unavailable)
    version: int | None           # the promoted version; 0: the shipped model; None: INBOUND_MODEL names it, or none
    reason: str                   # why the rules read alone; "" when ok
    source: str                   # promoted | shipped | setting | none

    @property
    def reading_path(self) -> str | None:
        """What ReadOptions.model gets: the folder when it loads, else None (the rules alone)."""
        return self.path if self.status == "ok" else None

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "version": self.version, "path": self.path, "reason": self.reason or None,
                "source": self.source}


class Background(Protocol):
    """The embedded default's retrain thread (pipeline.retrain.Retrainer)."""

    @property
    def busy(self) -> bool: ...

    def wake(self, *, force: bool = False, who: str = "retrain") -> bool: ...

    def stop(self, timeout_s: float = 5.0) -> None: ...


class Host(Protocol):
    """What the model's service parts need of pipeline.runtime.Services (which satisfies it)."""
    settings: Settings
    engine: Engine
    factory: sessionmaker[Session]
    blobs: BlobStore
    layout: ModelResolver | None
    retrainer: Background | None
    dispatcher: object | None


def shipped_model_dir() -> Path | None:
    """The model folder shipped in the package, or None while the reader is not installed."""
    try:
        from extractors.layout_model import DEFAULT_MODEL_DIR
    except ImportError:
        return None
    return Path(DEFAULT_MODEL_DIR)


def model_problem(path: str | Path) -> str | None:
    """Why the model folder cannot be read with (a sentence), or None when it loads."""
    try:
        from extractors.layout_model import ModelError, load_model
    except ImportError as exc:
        return f"the layout model reader is not installed ({exc})"
    try:
        load_model(Path(path))
    except ModelError as exc:
        return str(exc) or type(exc).__name__
    except Exception as exc:  # a file that breaks the loader another way is as unusable; reading must go on
        return f"{type(exc).__name__}: {exc}"
    return None


class ModelResolver:
    """The model the pipeline reads with, re-resolved at most every `refresh_s` (one small query); a folder's
    check is remembered until its files change."""

    def __init__(self, settings: Settings, factory: sessionmaker[Session], *, refresh_s: float = REFRESH_S) -> None:
        self._settings, self._factory, self._refresh_s = settings, factory, refresh_s
        self._lock = threading.Lock()
        self._state: ModelState | None = None
        self._at = 0.0
        self._checked: dict[tuple, str | None] = {}

    def state(self) -> ModelState:
        with self._lock:
            if self._state is None or time.monotonic() - self._at >= self._refresh_s:
                self._state, self._at = self._resolve(), time.monotonic()
            return self._state

    def refresh(self) -> ModelState:
        """Resolve now (after a promotion in this process)."""
        with self._lock:
            self._state = None
        return self.state()

    def reading_path(self) -> str | None:
        return self.state().reading_path

    def _resolve(self) -> ModelState:
        choice = self._settings.model.strip()
        if choice.lower() == "none":
            return ModelState("rules_only", None, None, "INBOUND_MODEL=none: the rules read alone", "none")
        if choice.lower() not in ("", "auto"):
            return self._checked_state(choice, None, "setting")
        try:
            with self._factory() as session:
                current = current_version(session)
        except SQLAlchemyError:       # the database is away for a moment: keep what we had
            if self._state is not None:
                return self._state
            raise
        if current is not None:
            return self._checked_state(current.path, current.version, "promoted")
        shipped = shipped_model_dir()
        if shipped is None:
            return self._unavailable(None, SHIPPED, "shipped", "the layout model reader is not installed")
        return self._checked_state(str(shipped), SHIPPED, "shipped")

    def _checked_state(self, path: str, version: int | None, source: str) -> ModelState:
        key = (path, _fingerprint(Path(path)))
        if key not in self._checked:
            self._checked[key] = model_problem(path)
        problem = self._checked[key]
        if problem is not None:
            return self._unavailable(path, version, source, problem)
        return ModelState("ok", path, version, "", source)

    def _unavailable(self, path: str | None, version: int | None, source: str, reason: str) -> ModelState:
        log_once(("unavailable", path, reason), "layout_model_unavailable", path=path, version=version,
                 reason=reason, reading="rules alone")
        return ModelState("unavailable", path, version, reason, source)


def _fingerprint(folder: Path) -> tuple:
    """The folder's files as (name, size, mtime): a replaced model file is checked again."""
    try:
        return tuple(sorted((p.name, s.st_size, s.st_mtime_ns) for p in folder.iterdir() if p.is_file()
                            for s in (p.stat(),)))
    except OSError:
        return ()


_logged: set[tuple] = set()
_logged_lock = threading.Lock()


def log_once(key: tuple, event: str, **values: Any) -> None:
    """One warning per process for the same problem (the resolver asks again every REFRESH_S)."""
    with _logged_lock:
        if key in _logged:
            return
        _logged.add(key)
    log.warning(event, **values)


def confirmed_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Document)
                          .where(Document.status.in_(CONFIRMED_STATES))) or 0


def promote_version(host: Host, version: int, *, by: str, reason: str | None = None) -> ModelVersion | None:
    """An admin's promotion (a rollback, or forward); version 0 goes back to the shipped model.  The folder must
    load, so that a promotion never leaves the pipeline on the rules alone."""
    if version != SHIPPED:
        with host.factory() as session:
            path = get_version(session, version).path
        problem = model_problem(path)
        if problem is not None:
            raise ModelUnusable(f"Model version {version} cannot be loaded ({problem}); it was not promoted.")
    try:
        with transaction(host.factory) as session:
            promoted = promote(session, version, by=by, reason=reason or f"promoted by {by}")
    except IntegrityError as exc:      # another promotion won the race (the one-promoted index)
        raise StateError("Another model version was promoted at the same moment; look again and retry.") from exc
    log.info("layout_model_promoted", version=version, by=by)
    if host.layout is not None:
        host.layout.refresh()
    return promoted


def models_overview(host: Host) -> dict[str, Any]:
    """GET /api/v1/models and the admin page: every version, the one read with, the retrain's progress."""
    state = host.layout.state() if host.layout is not None else ModelResolver(host.settings, host.factory).state()
    with host.factory() as session:
        versions = all_versions(session)
        events = model_events(session, limit=50)
        confirmed, trained_on = confirmed_count(session), last_trained_on(session)
    current = next((v.version for v in versions if v.status == "promoted"), None)
    return {"items": [version_json(v) for v in versions], "total": len(versions), "current": current,
            "shipped_default_in_use": state.source == "shipped" and state.status == "ok",
            "layout_model": state.to_json(),
            "retrain": {"every": host.settings.retrain_every, "minutes": host.settings.retrain_minutes,
                        "confirmed": confirmed, "since_last": max(0, confirmed - trained_on),
                        "running": host.retrainer.busy if host.retrainer is not None else None},
            "events": [{"version": e.version, "action": e.action, "at": e.at.isoformat(), "who": e.who,
                        "reason": e.reason} for e in events]}


def version_json(v: ModelVersion) -> dict[str, Any]:
    return {"version": v.version, "status": v.status, "current": v.status == "promoted", "path": v.path,
            "created_at": v.created_at.isoformat(), "promoted_at": v.promoted_at.isoformat() if v.promoted_at else None,
            "promoted_by": v.promoted_by, "data_version": v.data_version, "code_version": v.code_version,
            "trained_on": v.trained_on, "metrics": v.metrics, "scores": v.scores, "reason": v.reason}
