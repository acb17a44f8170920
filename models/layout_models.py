"""The learned layout model's versions (issue 15): one row per trained model, and an append-only log of what
happened to each.

    candidate -> promoted -> retired     a later promotion (or a rollback to another version) retires it
    candidate -> rejected                it scored below the current model on a held-back set

At most one version is `promoted` at a time (a partial UNIQUE index, on both backends); none promoted means the
model shipped in the package.  `promote` can bring back any version: a rollback, a retired one, or a rejected
candidate an admin wants anyway; version 0 (`SHIPPED`) stands for the shipped model (every version retired).
Each change is a row in `layout_model_events` with who, when (UTC) and why.  Rows are never deleted.

Callers own the transaction; `promote` takes the promoted row's lock first (PostgreSQL), so that two admins
promoting at once queue instead of tripping over the index.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, func, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.errors import NotFound, StateError
from models.tables import Base, Json
from models.types import UtcDateTime, utcnow

STATES = ("candidate", "promoted", "rejected", "retired")
ACTIONS = ("trained", "promoted", "rejected", "retired")
SHIPPED = 0                  # the version number that means "the model shipped in the package"


class LayoutModelVersion(Base):
    """One trained model folder with what it was trained on and how it scored; `status` is its place now."""
    __tablename__ = "layout_models"
    __table_args__ = (Index("uq_layout_models_one_promoted", "status", unique=True,
                            sqlite_where=text("status = 'promoted'"), postgresql_where=text("status = 'promoted'")),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)     # 1, 2, ... in the order trained
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    path: Mapped[str] = mapped_column(String(1024))                # the model folder
    data_version: Mapped[str] = mapped_column(String(128))
    code_version: Mapped[str] = mapped_column(String(128))
    trained_on: Mapped[int] = mapped_column(Integer, default=0)    # confirmed documents known when it was trained
    metrics: Mapped[dict] = mapped_column(Json, default=dict)      # the training's own validation figures
    scores: Mapped[dict] = mapped_column(Json, default=dict)       # held-back set -> {"candidate", "base"} fields F1
    status: Mapped[str] = mapped_column(String(16), default="candidate", index=True)
    promoted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)   # the latest promotion
    promoted_by: Mapped[str | None] = mapped_column(String(255))
    reason: Mapped[str | None] = mapped_column(Text)               # why it has its status


class LayoutModelEvent(Base):
    """Append-only: trained, promoted, rejected, retired; version 0 is the shipped model."""
    __tablename__ = "layout_model_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int | None] = mapped_column(ForeignKey("layout_models.id"), index=True)   # None: shipped
    version: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    who: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str | None] = mapped_column(Text)


@dataclass(frozen=True, slots=True)
class ModelVersion:
    id: int
    version: int
    created_at: datetime
    path: str
    data_version: str
    code_version: str
    trained_on: int
    metrics: dict[str, Any]
    scores: dict[str, Any]
    status: str
    promoted_at: datetime | None
    promoted_by: str | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class ModelEvent:
    version: int                 # 0: the shipped model
    action: str
    at: datetime
    who: str
    reason: str | None


def _version(row: LayoutModelVersion) -> ModelVersion:
    return ModelVersion(row.id, row.version, row.created_at, row.path, row.data_version, row.code_version,
                        row.trained_on, dict(row.metrics or {}), dict(row.scores or {}), row.status, row.promoted_at,
                        row.promoted_by, row.reason)


def record_candidate(session: Session, *, path: str, data_version: str, code_version: str, trained_on: int,
                     metrics: dict, scores: dict, who: str) -> ModelVersion:
    """A newly trained model, numbered after the last one; `candidate` until promoted or rejected."""
    number = (session.scalar(select(func.max(LayoutModelVersion.version))) or 0) + 1
    row = LayoutModelVersion(version=number, created_at=utcnow(), path=path, data_version=data_version,
                             code_version=code_version, trained_on=trained_on, metrics=metrics, scores=scores,
                             status="candidate")
    session.add(row)
    session.flush()
    _event(session, row, "trained", who=who, reason=f"trained on {trained_on} confirmed document(s)")
    return _version(row)


def promote(session: Session, version: int, *, by: str, reason: str | None = None) -> ModelVersion | None:
    """Make `version` the one the pipeline reads with (the current one is retired); `SHIPPED` retires every
    version, so that the shipped model is used.  Promoting the current version again changes nothing.
    Returns the promoted version, None for the shipped model."""
    current_row = session.scalars(select(LayoutModelVersion).where(LayoutModelVersion.status == "promoted")
                                  .with_for_update()).first()
    row = None if version == SHIPPED else _row(session, version)
    if row is not None and current_row is not None and row.id == current_row.id:
        return _version(row)
    if current_row is not None:
        current_row.status, current_row.reason = "retired", f"replaced by {_name(version)}"
        _event(session, current_row, "retired", who=by, reason=current_row.reason)
        session.flush()              # the index allows one promoted row: retire before promoting
    if row is None:
        if current_row is not None:
            _event(session, None, "promoted", who=by, reason=reason or "back to the shipped model")
        return None
    row.status, row.promoted_at, row.promoted_by = "promoted", utcnow(), by
    row.reason = reason or "promoted"
    _event(session, row, "promoted", who=by, reason=row.reason)
    session.flush()
    return _version(row)


def reject(session: Session, version: int, *, by: str, reason: str) -> ModelVersion:
    """A candidate that did not score well enough: kept with its scores, never read with unless promoted."""
    row = _row(session, version)
    if row.status != "candidate":
        raise StateError(f"Model version {version} is {row.status}; only a candidate can be rejected.")
    row.status, row.reason = "rejected", reason
    _event(session, row, "rejected", who=by, reason=reason)
    session.flush()
    return _version(row)


def current_version(session: Session) -> ModelVersion | None:
    """The promoted version, or None (the shipped model is used)."""
    row = session.scalars(select(LayoutModelVersion).where(LayoutModelVersion.status == "promoted")).first()
    return None if row is None else _version(row)


def get_version(session: Session, version: int) -> ModelVersion:
    return _version(_row(session, version))


def all_versions(session: Session) -> list[ModelVersion]:
    """Every version, newest first."""
    return [_version(r) for r in session.scalars(select(LayoutModelVersion)
                                                 .order_by(LayoutModelVersion.version.desc()))]


def model_events(session: Session, *, limit: int = 100) -> list[ModelEvent]:
    """The newest `limit` events, newest first."""
    rows = session.scalars(select(LayoutModelEvent).order_by(LayoutModelEvent.id.desc()).limit(limit))
    return [ModelEvent(r.version, r.action, r.at, r.who, r.reason) for r in rows]


def last_trained_on(session: Session) -> int:
    """How many confirmed documents there were when the newest version was trained (0: never trained)."""
    return session.scalar(select(LayoutModelVersion.trained_on).order_by(LayoutModelVersion.version.desc())
                          .limit(1)) or 0


def _row(session: Session, version: int) -> LayoutModelVersion:
    row = session.scalars(select(LayoutModelVersion).where(LayoutModelVersion.version == version)).first()
    if row is None:
        raise NotFound(f"No model version {version}.")
    return row


def _name(version: int) -> str:
    return "the shipped model" if version == SHIPPED else f"version {version}"


def _event(session: Session, row: LayoutModelVersion | None, action: str, *, who: str, reason: str | None) -> None:
    session.add(LayoutModelEvent(model_id=None if row is None else row.id, version=SHIPPED if row is None else
                                 row.version, action=action, at=utcnow(), who=who, reason=reason))
