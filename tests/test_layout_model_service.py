"""The learned layout model in the service (issue 15, item 5 and "Bad input"): the versions' registry (promote,
roll back, history, one promoted at most), the REST routes and who may use them, the admin page, /healthz with a
corrupt model (the documents are still read, with the rules), and one real retrain after confirmed documents.

Real SQLite and PostgreSQL (db_support), a real app (TestClient), real models: a tiny network trained here in a few
seconds stands in for a trained version; the end-to-end retrain runs the real training for 0.3 minutes.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from db_support import db_url, factory  # noqa: F401
from service_support import auth, running_app, upload, wait_for, wait_read
from sqlalchemy.exc import IntegrityError

from models.db import transaction
from models.errors import NotFound, StateError
from models.layout_models import (SHIPPED, LayoutModelVersion, all_versions, current_version, model_events, promote,
                                  record_candidate, reject)

pytest.importorskip("torch")


def _made(count: int, *, start: int = 0, held_back: bool = False):
    from fixtures.grammar import families, make
    fams = families(held_back=held_back)
    return [make(fams[(start + i) % len(fams)], 11, i) for i in range(count)]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    """A real, tiny model folder (12 generated documents, a one-layer network, a few seconds of training)."""
    from pipeline.training import TrainingDoc
    from pipeline.training.train import train_model
    home = tmp_path_factory.mktemp("tiny-home")
    docs = [TrainingDoc(m.name, m.pdf, m.truth, "generated") for m in _made(12)]
    result = train_model(docs, home=home, out_dir=home / "models" / "tiny", minutes=0.05, seed=3, progress=False,
                         validation_share=0.25, size={"hidden": 32, "layers": 1, "heads": 2, "intermediate": 64})
    return result.model_dir


def _copy(model: Path, to: Path) -> str:
    shutil.copytree(model, to)
    return str(to)


def _broken(model: Path, to: Path) -> str:
    """A model folder whose model.onnx is garbage (the other files are fine)."""
    _copy(model, to)
    (to / "model.onnx").write_bytes(b"\x00garbage, not an ONNX graph" * 40)
    return str(to)


def _candidate(session, path: str, n: int = 0):
    return record_candidate(session, path=path, data_version=f"d{n}", code_version="c1", trained_on=10 * n,
                            metrics={"validation": {"fields_f1": 0.9}},
                            scores={"generated_held_back": {"candidate": 0.9, "base": 0.8}}, who="test")


# -- the registry ---------------------------------------------------------------------------------------------

def test_promote_roll_back_and_history(factory):  # noqa: F811
    with transaction(factory) as session:
        v1, v2, v3 = (_candidate(session, f"/models/m{n}", n) for n in (1, 2, 3))
        assert [v1.version, v2.version, v3.version] == [1, 2, 3] and v1.status == "candidate"
        assert current_version(session) is None                          # none promoted: the shipped model
        assert promote(session, 1, by="ada").status == "promoted"
        assert promote(session, 2, by="retrain", reason="better").status == "promoted"
        reject(session, 3, by="retrain", reason="below the current model")
        with pytest.raises(StateError):
            reject(session, 1, by="ada", reason="only candidates")
        assert promote(session, 2, by="ada").version == 2                  # again: nothing changes
        assert promote(session, 1, by="ada", reason="roll back").version == 1
        with pytest.raises(NotFound):
            promote(session, 99, by="ada")
    with transaction(factory) as session:
        assert {v.version: v.status for v in all_versions(session)} == {3: "rejected", 2: "retired", 1: "promoted"}
        assert current_version(session).promoted_by == "ada"
        assert promote(session, SHIPPED, by="ada") is None
        assert current_version(session) is None
        history = [(e.version, e.action, e.who) for e in reversed(model_events(session))]
    assert history == [(1, "trained", "test"), (2, "trained", "test"), (3, "trained", "test"),
                       (1, "promoted", "ada"), (1, "retired", "retrain"), (2, "promoted", "retrain"),
                       (3, "rejected", "retrain"), (2, "retired", "ada"), (1, "promoted", "ada"),
                       (1, "retired", "ada"), (0, "promoted", "ada")]


def test_the_database_allows_one_promoted_version_at_most(factory):  # noqa: F811
    with transaction(factory) as session:
        for n in (1, 2):
            _candidate(session, f"/models/m{n}", n)
        promote(session, 1, by="ada")
    with pytest.raises(IntegrityError):
        with transaction(factory) as session:
            session.query(LayoutModelVersion).filter_by(version=2).one().status = "promoted"
    with transaction(factory) as session:
        assert [v.version for v in all_versions(session) if v.status == "promoted"] == [1]


# -- the REST routes -----------------------------------------------------------------------------------------

def test_models_routes_roles_and_rollback(db_url, tmp_path, tiny_model):  # noqa: F811
    with running_app(db_url, tmp_path) as client:
        services = client.app.state.services
        with transaction(services.factory) as session:
            for n in (1, 2):
                _candidate(session, _copy(tiny_model, tmp_path / f"m{n}"), n)
            _candidate(session, _broken(tiny_model, tmp_path / "m3"), 3)
        clerk = client.post("/api/v1/api-keys", headers=auth(), json={"name": "desk", "role": "clerk"}).json()["key"]
        assert client.get("/api/v1/models").status_code == 401
        assert client.post("/api/v1/models/1/promote").status_code == 401
        assert client.post("/api/v1/models/retrain").status_code == 401
        listed = client.get("/api/v1/models", headers=auth(clerk))
        assert listed.status_code == 200 and listed.json()["total"] == 3 and listed.json()["current"] is None
        assert client.post("/api/v1/models/1/promote", headers=auth(clerk)).status_code == 403
        assert client.post("/api/v1/models/retrain", headers=auth(clerk)).status_code == 403

        first = client.post("/api/v1/models/1/promote", headers=auth(), json={"reason": "first"})
        assert first.status_code == 200, first.text
        assert first.json()["promoted"]["status"] == "promoted"
        assert first.json()["layout_model"] == {"status": "ok", "version": 1, "path": str(tmp_path / "m1"),
                                                "reason": None, "source": "promoted"}
        assert client.get("/healthz").json()["layout_model"]["version"] == 1
        assert services.options.model == str(tmp_path / "m1")              # what the readers get
        assert client.post("/api/v1/models/2/promote", headers=auth()).status_code == 200
        back = client.post("/api/v1/models/1/promote", headers=auth(), json={"reason": "roll back"}).json()
        assert back["promoted"]["version"] == 1 and back["promoted"]["reason"] == "roll back"

        refused = client.post("/api/v1/models/3/promote", headers=auth())
        assert refused.status_code == 409 and refused.json()["code"] == "model_unavailable"
        assert "cannot be loaded" in refused.json()["detail"]
        assert client.post("/api/v1/models/99/promote", headers=auth()).status_code == 404
        body = client.get("/api/v1/models", headers=auth()).json()
        assert body["current"] == 1 and [v["status"] for v in body["items"]] == ["candidate", "retired", "promoted"]
        assert [v["current"] for v in body["items"]] == [False, False, True]
        assert body["items"][2]["scores"] == {"generated_held_back": {"candidate": 0.9, "base": 0.8}}
        assert body["shipped_default_in_use"] is False
        assert [(e["version"], e["action"]) for e in body["events"][:3]] == [(1, "promoted"), (2, "retired"),
                                                                             (2, "promoted")]
        shipped = client.post("/api/v1/models/0/promote", headers=auth()).json()
        assert shipped["promoted"] is None and shipped["layout_model"]["source"] == "shipped"

        started = client.post("/api/v1/models/retrain", headers=auth())      # nothing confirmed: too few
        assert started.status_code == 202 and started.json()["status"] in ("started", "running")
        assert wait_for(lambda: services.retrainer.last).status == "too_few"
        assert client.get("/api/v1/models", headers=auth()).json()["total"] == 3


# -- the admin page --------------------------------------------------------------------------------------------

def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def _login(client, username: str, role: str) -> str:
    client.post("/api/v1/users", headers=auth(), json={"username": username, "password": f"pw-{username}-123",
                                                       "role": role})
    page = client.get("/review/login")
    answer = client.post("/review/login", data={"csrf": _csrf(page.text), "username": username,
                                                "password": f"pw-{username}-123"})
    return _csrf(answer.text)


def test_admin_page_shows_versions_and_rolls_back(tmp_path, tiny_model):
    with running_app(f"sqlite:///{tmp_path / 'inbound.db'}", tmp_path) as client:
        services = client.app.state.services
        with transaction(services.factory) as session:
            for n in (1, 2):
                _candidate(session, _copy(tiny_model, tmp_path / f"m{n}"), n)
            promote(session, 2, by="retrain")
        token = _login(client, "ada", "admin")
        page = client.get("/review/admin/models")
        assert page.status_code == 200 and "<h1>Layout model</h1>" in page.text
        assert re.search(r'data-version="2">\s*<td>2 <strong class="current">● current', page.text)
        assert "generated_held_back: 0.900 / 0.800" in page.text
        assert 'action="/review/admin/models/1/promote"' in page.text and "Roll back" in page.text
        assert 'action="/review/admin/models/2/promote"' not in page.text    # the current one has no button
        assert "Use the shipped model" in page.text

        assert client.post("/review/admin/models/1/promote", data={}).status_code == 403     # no CSRF token
        done = client.post("/review/admin/models/1/promote", data={"csrf": token})
        assert done.status_code == 200 and "Model promoted" in done.text
        assert re.search(r'data-version="1">\s*<td>1 <strong class="current">', done.text)
        assert services.layout.state().version == 1
        chinese = client.post("/review/lang", data={"csrf": token, "lang": "zh", "back": "/review/admin/models"})
        assert "<h1>版式模型</h1>" in chinese.text and "回滚" not in chinese.text and "启用" in chinese.text

        other = client.__class__(client.app)
        _login(other, "cleo", "clerk")
        assert other.get("/review/admin/models").status_code == 403
        assert other.post("/review/admin/models/2/promote", data={"csrf": token}).status_code == 403


# -- bad input: a corrupt model ----------------------------------------------------------------------------------

def test_a_corrupt_model_shows_in_healthz_and_documents_are_read_with_the_rules(db_url, tmp_path,  # noqa: F811
                                                                                 tiny_model):
    broken = _broken(tiny_model, tmp_path / "broken")
    with running_app(db_url, tmp_path, model=broken) as client:
        health = client.get("/healthz")
        assert health.status_code == 200 and health.json()["status"] == "ok"
        model = health.json()["layout_model"]
        assert model["status"] == "unavailable" and model["path"] == broken and "cannot be loaded" in model["reason"]
        assert client.app.state.services.options.model is None             # the readers get the rules alone
        made = _made(1, held_back=True)[0]
        doc_id = upload(client, "g.pdf", made.pdf).json()["id"]
        wait_read(client)
        doc = client.get(f"/api/v1/documents/{doc_id}", headers=auth()).json()
        assert doc["status"] in ("needs_review", "ready") and doc["extraction"]["fields"]
        assert client.get("/healthz").json()["layout_model"]["status"] == "unavailable"
    with running_app(db_url, tmp_path, model=str(tmp_path / "nowhere")) as client:
        assert "lacks" in client.get("/healthz").json()["layout_model"]["reason"]
    with running_app(db_url, tmp_path, model="none") as client:
        assert client.get("/healthz").json()["layout_model"] == {"status": "rules_only", "version": None,
                                                                  "path": None, "reason": "INBOUND_MODEL=none: "
                                                                  "the rules read alone"}


# -- learning from use: one real retrain ---------------------------------------------------------------------------

def _small_generated_sets(home: Path) -> None:
    """The retrain's generated training share and held-back families, made small here so that the test keeps to
    its time (the full sets take minutes to draw); same folders and generator as pipeline.training.dataset."""
    from fixtures.grammar import Options, generate
    from pipeline.training.dataset import GENERATED_SEED
    sets = ((f"generated-{GENERATED_SEED}-1200", Options(count=16, seed=GENERATED_SEED, workers=2, progress=False)),
            (f"held-back-{GENERATED_SEED}-60", Options(count=6, seed=GENERATED_SEED + 1, held_back=True,
                                                           workers=2, progress=False)))
    for name, options in sets:
        folder = home / "data" / name
        folder.mkdir(parents=True)
        generate(options, folder)
        (folder / "COMPLETE").write_text("ok\n")


def test_a_retrain_after_confirmed_documents_records_and_judges_a_candidate(tmp_path):
    from pipeline.review import request_approval
    home = tmp_path / "home"
    _small_generated_sets(home)
    with running_app(f"sqlite:///{tmp_path / 'inbound.db'}", home, retrain_every=3, retrain_minutes=0.3) as client:
        services = client.app.state.services
        ids = [upload(client, f"{m.name}.pdf", m.pdf).json()["id"] for m in _made(4, start=2)]
        wait_read(client)
        with transaction(services.factory) as session:
            for doc_id in ids[:2]:
                request_approval(session, doc_id, who="cleo", reason="test")     # a clerk's confirm
        services.retrainer.wake()
        assert wait_for(lambda: services.retrainer.last).status == "not_due"  # 2 of 3
        with transaction(services.factory) as session:
            for doc_id in ids[2:]:
                request_approval(session, doc_id, who="cleo", reason="test")
        services.retrainer.last = None
        services.retrainer.wake()
        outcome = wait_for(lambda: services.retrainer.last, timeout_s=240, step_s=0.5)
        assert outcome.status in ("promoted", "rejected"), outcome
        body = client.get("/api/v1/models", headers=auth()).json()
        assert body["total"] == 1 and body["retrain"]["since_last"] == 0
        version = body["items"][0]
        assert version["trained_on"] == 4 and Path(version["path"]).is_dir()
        assert version["scores"] and all({"candidate", "base"} <= set(s) for s in version["scores"].values())
        better = all(s["candidate"] >= s["base"] for s in version["scores"].values())
        assert version["status"] == ("promoted" if better else "rejected") == outcome.status
        assert [e["action"] for e in reversed(body["events"])] == ["trained", outcome.status]
        if better:
            assert client.get("/healthz").json()["layout_model"]["version"] == version["version"]
        services.retrainer.last = None
        services.retrainer.wake()
        assert wait_for(lambda: services.retrainer.last).status == "not_due"


def test_celery_retrains_on_the_beat_with_its_own_time_limit(tmp_path):
    from pipeline.celery_app import make_celery
    from service_support import settings_for
    settings = settings_for(f"sqlite:///{tmp_path / 'inbound.db'}", tmp_path, broker_url="memory://",
                            retrain_minutes=5)
    app = make_celery(settings)
    task = app.tasks["inbound.retrain_layout_model"]
    assert task.soft_time_limit >= 5 * 60 + 600 and task.acks_late is False
    assert app.conf.beat_schedule["layout_model"]["task"] == "inbound.retrain_layout_model"
    never = make_celery(settings_for(f"sqlite:///{tmp_path / 'inbound.db'}", tmp_path, broker_url="memory://",
                                     retrain_every=0))
    assert "layout_model" not in never.conf.beat_schedule
