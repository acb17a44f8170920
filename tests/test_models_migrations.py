"""Alembic: every revision up and down on an empty SQLite file and an empty PostgreSQL database; the head
schema is exactly what models/tables.py declares."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from db_support import drop_pg_database, empty_pg_database
from models.db import current_revision, downgrade, upgrade
from models.tables import Base


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    url, name = empty_pg_database()
    yield url
    drop_pg_database(name)


def _diff(url: str) -> list:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_all_migrations_up_down_and_up_again(empty_url):
    upgrade(empty_url)
    assert current_revision(empty_url) is not None
    assert _tables(empty_url) == set(Base.metadata.tables)
    assert _diff(empty_url) == []
    downgrade(empty_url, "base")
    assert current_revision(empty_url) is None
    assert _tables(empty_url) == set()
    upgrade(empty_url)
    assert _diff(empty_url) == []


def test_each_revision_steps_up_and_down_on_its_own(empty_url):
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from models.db import MIGRATIONS
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    revisions = [r.revision for r in reversed(list(ScriptDirectory.from_config(config).walk_revisions()))]
    assert len(revisions) >= 2
    for revision in revisions:
        upgrade(empty_url, "+1")
        assert current_revision(empty_url) == revision
    for revision in reversed(revisions[:-1]):
        downgrade(empty_url, "-1")
        assert current_revision(empty_url) == revision
    downgrade(empty_url, "-1")
    assert current_revision(empty_url) is None


def test_the_default_location_exists_after_upgrade(empty_url):
    from models.db import make_engine, session_factory, transaction
    from models.ledger import default_location_id
    upgrade(empty_url)
    engine = make_engine(empty_url)
    with transaction(session_factory(engine)) as session:
        assert default_location_id(session) > 0
    engine.dispose()
