"""The database commands from the outside: `inbound db`, `inbound master`, `inbound export receipts`,
`inbound check`, on the embedded SQLite default and on PostgreSQL via INBOUND_DATABASE_URL."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from conftest import INBOUND, ROOT
from db_support import drop_pg_database, empty_pg_database

FOOD = ROOT / "fixtures" / "master" / "food"


def _head() -> str:
    from pipeline.cli.store import _head as head
    return head()


def inbound(home: Path, *args: str, url: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INBOUND_")}
    env["INBOUND_HOME"] = str(home)
    if url:
        env["INBOUND_DATABASE_URL"] = url
    return subprocess.run([INBOUND, *args], capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)


def test_embedded_database_from_upgrade_to_export(tmp_path):
    assert f"revision {_head()}" in inbound(tmp_path, "db", "upgrade").stdout
    assert (tmp_path / "inbound.db").is_file()
    done = inbound(tmp_path, "master", "import", str(FOOD))
    assert done.returncode == 0, done.stderr
    assert "products.csv: products, 10 rows, 10 created" in done.stdout
    exported = inbound(tmp_path, "master", "export", "products", "-o", str(tmp_path / "p.xlsx"))
    assert exported.returncode == 0 and (tmp_path / "p.xlsx").read_bytes()[:2] == b"PK"
    kingdee = inbound(tmp_path, "export", "receipts", "--format", "kingdee")
    assert kingdee.returncode == 0 and kingdee.stdout.lstrip("\ufeff").startswith("单据编号,")
    assert json.loads(inbound(tmp_path, "export", "receipts", "--format", "json").stdout) == {"items": [], "total": 0}
    assert "0 problem(s)" in inbound(tmp_path, "check").stdout


def test_bad_input_is_one_line_and_exit_2(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("sku,name,unit,tax_rate\nA1,,kg,x\n", encoding="utf-8")
    done = inbound(tmp_path, "master", "import", str(bad), "--json")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert json.loads(done.stdout)["bad.csv"]["errors"][0] == {"row": 2, "column": "name", "reason": "required, but empty"}
    for args in (("master", "import", str(tmp_path / "missing.csv")), ("master", "export", "widgets"),
                 ("export", "receipts", "--format", "sap")):
        done = inbound(tmp_path, *args)
        assert done.returncode == 2 and done.stderr.startswith("error: ") and "Traceback" not in done.stderr
    assert "Products" not in inbound(tmp_path, "master", "export", "products").stdout   # nothing was imported


def test_upgrade_and_downgrade_on_postgresql(tmp_path):
    url, name = empty_pg_database()
    try:
        assert f"revision {_head()}" in inbound(tmp_path, "db", "upgrade", url=url).stdout
        assert inbound(tmp_path, "master", "import", str(FOOD / "suppliers.csv"), url=url).returncode == 0
        assert inbound(tmp_path, "db", "current", url=url).stdout.strip() == _head()
        assert "revision None" in inbound(tmp_path, "db", "downgrade", "base", url=url).stdout
    finally:
        drop_pg_database(name)


def test_unreachable_database_and_unknown_revision_are_clear_errors(tmp_path):
    nowhere = "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2"
    for args in (("master", "export", "products"), ("db", "upgrade")):
        done = inbound(tmp_path, *args, url=nowhere)
        assert done.returncode == 2 and done.stderr.startswith("error: cannot open the database"), done.stderr
    done = inbound(tmp_path, "db", "downgrade", "nonsense")
    assert done.returncode == 2 and "nonsense" in done.stderr and "Traceback" not in done.stderr


def test_ledger_bench_runs_at_a_small_size():
    from db_support import require_pg
    from pipeline.bench.ledger import Sizes, run
    require_pg()
    figures = run(Sizes(receipts=20, moves=2_000, rounds=3))
    assert figures["posting"]["receipts"] == 20 and figures["posting"]["receipts_per_s"] > 0
    assert figures["background_moves"]["moves_total"] == 2_000 + 24 * 5
    assert set(figures["queries_ms"]) >= {"one_product_on_hand_and_value", "warehouse_on_hand_and_value"}
    assert figures["cache_equals_moves"] is True


def test_an_admin_lists_and_forgets_learned_facts(tmp_path):
    from models.db import make_engine, session_factory, transaction, upgrade
    from models.learned import learn
    url = f"sqlite:///{tmp_path / 'inbound.db'}"
    upgrade(url)
    with transaction(session_factory(make_engine(url))) as session:
        alias = learn(session, kind="product_alias", key="text:可乐330", created_by="clerk1", target_id=7)
        learn(session, kind="layout_hint", key="po_label", created_by="clerk1", payload={"value": "订单号"})
    listed = inbound(tmp_path, "learned", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(r["kind"], r["key"]) for r in rows] == [("product_alias", "text:可乐330"), ("layout_hint", "po_label")]
    assert inbound(tmp_path, "learned", "forget", str(alias.id)).returncode == 0
    left = inbound(tmp_path, "learned", "list", "--kind", "product_alias", "--json").stdout
    assert left.strip() == ""
    gone = inbound(tmp_path, "learned", "forget", "999")
    assert gone.returncode == 2 and "999" in gone.stderr
