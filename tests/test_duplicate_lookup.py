"""The duplicate check without loading every reading (issue 13), on SQLite and PostgreSQL: migration 0004
fills the key columns from stored readings (and goes down again); the indexed candidate lookup gives the same
duplicate as the former full scan for every key tried; the lookup is one indexed query whose rows read do not
grow with the store; and end to end, through the service, copies are flagged from the columns."""

from __future__ import annotations

import hashlib
import itertools
from decimal import Decimal as D, InvalidOperation

import pytest
import sqlalchemy as sa
from sqlalchemy import event, inspect, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from db_support import db_url, drop_pg_database, empty_pg_database, factory
from matching import DocumentKey, KnownDocuments, find_duplicate, fold_code, number_key
from models.db import downgrade, make_engine, session_factory, transaction, upgrade
from models.documents import (StoredDocuments, candidates_query, create_document, reading_keys, record_status,
                              set_reading)
from models.tables import Document, Supplier
from models.types import UtcDateTime, utcnow

FIXTURES = (db_url, factory)    # pytest's, from db_support
LONG = "L" * 300      # numbers longer than number_key keeps: the index pre-filters, find_duplicate decides


def sha(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def reading(number: str | None, total: str | None) -> dict:
    fields = {}
    if number is not None:
        fields["document_number"] = {"value": number, "raw": number, "confidence": 0.9}
    if total is not None:
        fields["total_amount"] = {"value": total, "raw": total, "confidence": 0.9}
    return {"document_type": "invoice", "fields": fields, "lines": []}


# name, supplier ("A", "B" or None), document number, total; reading None: received, not read yet
CORPUS = [
    ("a1", "A", "INV-001", "10.00"),
    ("a2", "A", "INV-0O1", "10.0"),       # folds like INV-001; the same total, written otherwise
    ("a3", "A", "No. 0012", None),        # folds to N00012, not to 0012
    ("a4", "A", "0012", "5.00"),
    ("b1", "B", "INV-001", "10.00"),      # another supplier
    ("n1", None, "INV-001", "10.00"),     # no supplier: only its bytes can repeat
    ("x1", "A", None, "3"),               # no number
    ("x2", "A", "INV-002", "abc"),        # a total that is not a number: unknown
    ("h1", "A", "\u1100-\u1161", None),   # Hangul jamo around a hyphen: fold_code composes them only once
    ("h2", "A", "\uac00", None),
    ("l1", "A", LONG + "1", "7"),
    ("l2", "A", LONG + "2", "7"),         # the same number_key as l1, another number
    ("e1", "A", "E-100", "1E+2"),         # exponent notation: the same Decimal as 100
    ("r0", "A", "INV-001", "10.00"),      # received, never read: not known (below: no reading stored)
]
UNREAD = {"r0"}


def full_scan(session) -> list[DocumentKey]:
    """The former pipeline.processing.known_documents, verbatim: every reading loaded, oldest first."""
    def value(extraction, name):
        field = (extraction.get("fields") or {}).get(name)
        return field.get("value") if isinstance(field, dict) else None

    def decimal(text_):
        try:
            return D(text_) if text_ else None
        except InvalidOperation:
            return None

    rows = session.execute(select(Document.id, Document.sha256, Document.supplier_id, Document.extraction)
                           .where(Document.extraction.is_not(None)).order_by(Document.id))
    return [DocumentKey(str(i), sha_, str(supplier or ""), value(ex, "document_number") or "",
                        decimal(value(ex, "total_amount"))) for i, sha_, supplier, ex in rows]


def _store_corpus(factory) -> tuple[dict[str, int], dict[str, str]]:
    """The corpus through the pipeline's writer (create_document + set_reading); (document ids, supplier ids)."""
    with transaction(factory) as session:
        suppliers = {}
        for code in ("A", "B"):
            supplier = Supplier(name=f"supplier {code}")
            session.add(supplier)
            session.flush()
            suppliers[code] = str(supplier.id)
        ids = {}
        for name, supplier, number, total in CORPUS:
            document, _ = create_document(session, sha256=sha(name), filename=f"{name}.pdf")
            ids[name] = document.id
            if name in UNREAD:
                continue
            record_status(session, document, "processing", who="test")
            set_reading(session, document.id, extraction=reading(number, total), matches={}, who="test",
                        status="needs_review")
            document.supplier_id = int(suppliers[supplier]) if supplier else None
    return ids, suppliers


def _query_keys(ids: dict[str, int], suppliers: dict[str, str]):
    """Keys to look up: the corpus' numbers and neighbours, its suppliers and non-ids, totals equal, unequal,
    unknown; bytes new, known, unread; as a new document and as a known one (skipped itself)."""
    numbers = ["INV-001", "INV-0O1", "1NV001", "No. 0012", "0012", "N0 0012", "INV-002", "\uac00", "\u1100-\u1161",
               LONG + "1", LONG + "3", "E-100", "", "INV-999"]
    totals = [None, D("10.00"), D("10"), D("11.00"), D("5"), D("100"), D("7")]
    supplier_ids = [suppliers["A"], suppliers["B"], "", f"0{suppliers['A']}", "S1"]
    shas = ["", sha("fresh"), sha("a1"), sha("a2"), sha("r0"), sha("b1")]
    document_ids = ["999999", str(ids["a1"]), str(ids["a2"]), str(ids["l1"])]
    for number, total, supplier, sha_, document_id in itertools.product(numbers, totals, supplier_ids, shas,
                                                                        document_ids):
        yield DocumentKey(document_id, sha_, supplier, number, total)


def test_reading_keys_are_what_the_full_scan_read():
    assert reading_keys(reading("No. 0012", "10.50")) == {"document_number": "No. 0012", "number_key": "N00012",
                                                          "total_amount": "10.50"}
    assert reading_keys(reading("", "abc")) == {"document_number": None, "number_key": None, "total_amount": None}
    assert reading_keys(reading(None, "1E+2"))["total_amount"] == "1E+2"
    assert reading_keys({"fields": {"total_amount": {"value": 12}}})["total_amount"] == "12"
    assert reading_keys({"document_type": "invoice"}) == {"document_number": None, "number_key": None,
                                                          "total_amount": None}
    assert reading_keys(reading(LONG + "1", None))["number_key"] == number_key(LONG + "1") == fold_code(LONG)[:255]


def test_the_lookup_finds_what_the_full_scan_found(factory):
    ids, suppliers = _store_corpus(factory)
    with transaction(factory) as session:
        everything = full_scan(session)
    in_memory = KnownDocuments(everything)
    stored = StoredDocuments(factory)
    tried = found = 0
    for key in _query_keys(ids, suppliers):
        expected = find_duplicate(key, everything)
        assert find_duplicate(key, stored) == expected, key
        assert find_duplicate(key, in_memory) == expected, key
        tried += 1
        found += expected is not None
    assert tried > 10000 and 0 < found < tried

    def dup(supplier="A", number="", total=None, sha_="", document_id="999999"):
        got = find_duplicate(DocumentKey(document_id, sha_, suppliers.get(supplier, supplier), number, total), stored)
        return None if got is None else (next(n for n, i in ids.items() if str(i) == got.first_id), got.reason)

    assert dup(sha_=sha("a2")) == ("a2", "same_file")
    assert dup(sha_=sha("a2"), number="INV-001") == ("a1", "same_number")        # the oldest wins, whatever why
    assert dup(number="INV-001", total=D("10")) == ("a1", "same_number")          # the oldest of a1, a2
    assert dup(number="INV-001") == ("a1", "same_number")                          # total unknown
    assert dup(number="INV-001", total=D("11")) is None                            # another total
    assert dup(number="INV-001", document_id=str(ids["a1"])) == ("a2", "same_number")   # itself skipped
    assert dup(sha_=sha("a1"), document_id=str(ids["a1"])) is None
    assert dup(supplier="B", number="INV-0O1") == ("b1", "same_number")
    assert dup(supplier="", number="INV-001") is None                              # no supplier, no number match
    assert dup(number="0012") == ("a4", "same_number")                             # not No. 0012 ...
    assert dup(number="N0 0012", total=D("1")) == ("a3", "same_number")            # ... which folds to N00012
    assert dup(number="INV-002", total=D("99")) == ("x2", "same_number")           # its total was unknown
    assert dup(number=LONG + "2") == ("l2", "same_number")                         # past l1, same number_key
    assert dup(number="E-100", total=D("100.0")) == ("e1", "same_number")
    assert dup(sha_=sha("r0")) is None                                             # never read: not known


def test_the_keys_follow_a_new_reading_and_the_supplier(factory):
    from pipeline.processing import _replace_reading
    ids, suppliers = _store_corpus(factory)
    key = DocumentKey("999999", "", suppliers["A"], "INV-777")
    stored = StoredDocuments(factory)
    assert find_duplicate(key, stored) is None
    with transaction(factory) as session:
        document = session.get(Document, ids["x1"])
        record_status(session, document, "processing", who="test")
        _replace_reading(session, document, reading("INV-777", "8"), {}, run_id=1, status="ready")
    assert (find_duplicate(key, StoredDocuments(factory)).first_id, document.total_amount) == (str(ids["x1"]), "8")
    with transaction(factory) as session:
        session.get(Document, ids["x1"]).supplier_id = int(suppliers["B"])
    assert find_duplicate(key, StoredDocuments(factory)) is None
    with transaction(factory) as session:
        assert [k for k in full_scan(session) if k.document_id == str(ids["x1"])] == \
               [DocumentKey(str(ids["x1"]), sha("x1"), suppliers["B"], "INV-777", D("8"))]


def _statements(factory) -> list[str]:
    seen: list[str] = []
    event.listen(factory.kw["bind"], "before_cursor_execute",
                 lambda conn, cursor, statement, *args: seen.append(statement))
    return seen


def test_one_query_and_the_rows_read_do_not_grow_with_the_store(factory):
    """500 documents read one after the other, as the pipeline does (look up, then store the reading); every 50th
    repeats the number of the one 40 before.  The full scan read every reading so far (0 rows for the 1st,
    499 for the 500th); the lookup reads the candidates only."""
    with transaction(factory) as session:
        supplier = Supplier(name="supplier A")
        session.add(supplier)
        session.flush()
        supplier_id = supplier.id
    statements = _statements(factory)
    read, scanned, queries = [], [], []
    for n in range(1, 501):
        number = f"INV-{n - 40 if n % 50 == 0 else n:05d}"
        with transaction(factory) as session:
            document, _ = create_document(session, sha256=sha(f"doc {n}"), filename=f"{n}.pdf")
            record_status(session, document, "processing", who="test")
            document_id = document.id
            scanned.append(len(full_scan(session)))
        lookup = StoredDocuments(factory)
        before = len(statements)
        found = find_duplicate(DocumentKey(str(document_id), sha(f"doc {n}"), str(supplier_id), number,
                                           D("10.00")), lookup)
        queries.append([s for s in statements[before:] if s.lstrip().upper().startswith("SELECT")])
        read.append(lookup.rows_read)
        assert (found is not None) == (n % 50 == 0)
        with transaction(factory) as session:
            set_reading(session, document_id, extraction=reading(number, "10.00"), matches={}, who="test",
                        status="needs_review")
            session.get(Document, document_id).supplier_id = supplier_id
    assert (scanned[0], scanned[-1]) == (0, 499)
    assert (read[0], read[-1]) == (0, 1) and max(read) == 1 and sum(read) == 10
    assert all(len(q) == 1 for q in queries)
    assert "documents.number_key" in queries[-1][0] and "documents.extraction" not in queries[-1][0].split("WHERE")[0]


def _explain(factory, key: DocumentKey) -> str:
    engine = factory.kw["bind"]
    sql = str(candidates_query(key).compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            return "\n".join(str(row[-1]) for row in connection.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
        connection.execute(text("SET LOCAL enable_seqscan = off"))     # a small table: show the index serves it
        return "\n".join(row[0] for row in connection.execute(text(f"EXPLAIN {sql}")))


def test_the_lookup_uses_the_indexes(factory):
    ids, suppliers = _store_corpus(factory)
    plan = _explain(factory, DocumentKey("1", sha("fresh"), suppliers["A"], "INV-001"))
    assert "ix_documents_supplier_number" in plan, plan
    if factory.kw["bind"].dialect.name == "sqlite":
        assert "MULTI-INDEX OR" in plan and "SCAN documents" not in plan, plan
    else:
        assert "uq_documents_sha256" in plan and "Seq Scan" not in plan, plan


# -- migration 0004 ---------------------------------------------------------------------------------------------

@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'at-0003.db'}"
        return
    url, name = empty_pg_database()
    yield url
    drop_pg_database(name)


JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")   # None: SQL NULL
SUPPLIERS = sa.table("suppliers", sa.column("id", sa.Integer()), sa.column("name", sa.String()),
                     sa.column("aliases", JSON), sa.column("extra", JSON), sa.column("created_at", UtcDateTime()),
                     sa.column("updated_at", UtcDateTime()))
DOCUMENTS = sa.table("documents", sa.column("id", sa.Integer()), sa.column("sha256", sa.String()),
                     sa.column("filename", sa.String()), sa.column("source", sa.String()),
                     sa.column("status", sa.String()), sa.column("supplier_id", sa.Integer()),
                     sa.column("extraction", JSON), sa.column("created_at", UtcDateTime()),
                     sa.column("updated_at", UtcDateTime()))
HISTORY = sa.table("document_history", sa.column("document_id", sa.Integer()), sa.column("at", UtcDateTime()),
                   sa.column("who", sa.String()), sa.column("path", sa.String()))


def test_migration_0004_fills_the_keys_from_stored_readings_and_goes_down(empty_url):
    upgrade(empty_url, "0003")
    engine = make_engine(empty_url)
    now = utcnow()
    try:
        with engine.begin() as connection:
            connection.execute(SUPPLIERS.insert(), [{"id": i, "name": f"supplier {c}", "aliases": [], "extra": {},
                                                     "created_at": now, "updated_at": now}
                                                    for i, c in ((1, "A"), (2, "B"))])
            rows = [{"id": i, "sha256": sha(name), "filename": f"{name}.pdf", "source": "upload", "status": "ready",
                     "supplier_id": {"A": 1, "B": 2}.get(supplier), "created_at": now, "updated_at": now,
                     "extraction": None if name in UNREAD else reading(number, total)}
                    for i, (name, supplier, number, total) in enumerate(CORPUS, start=1)]
            rows += [{**rows[0], "id": 1000 + n, "sha256": sha(f"bulk {n}"), "extraction": reading(f"B-{n}", f"{n}.5")}
                     for n in range(1200)]                      # more than one batch of the back-fill
            connection.execute(DOCUMENTS.insert(), rows)
            connection.execute(HISTORY.insert(), [{"document_id": r["id"], "at": now, "who": "test", "path": "status"}
                                                  for r in rows])
        with engine.connect() as connection:
            before = full_scan(Session(connection))
        engine.dispose()

        upgrade(empty_url, "0004")
        with transaction(session_factory(engine)) as session:
            got = {r.id: (r.document_number, r.number_key, r.total_amount)
                   for r in session.execute(select(Document.id, Document.document_number, Document.number_key,
                                                   Document.total_amount))}
            assert got[1] == ("INV-001", "1NV001", "10.00")
            assert got[2] == ("INV-0O1", "1NV001", "10.0")
            assert got[3] == ("No. 0012", "N00012", None)
            assert got[7] == (None, None, "3") and got[8] == ("INV-002", "1NV002", None)
            assert got[11] == (LONG + "1", fold_code(LONG)[:255], "7") and got[13] == ("E-100", "E100", "1E+2")
            assert got[14] == (None, None, None)                                      # never read
            assert got[1000 + 1199] == ("B-1199", "81199", "1199.5")   # B folds to 8 and len(got) == len(CORPUS) + 1200
            assert full_scan(session) == before
        stored = StoredDocuments(session_factory(engine))          # its own transactions, one per lookup
        for key in _query_keys({"a1": 1, "a2": 2, "l1": 11}, {"A": "1", "B": "2"}):
            if key.sha256 in ("", sha("fresh")) and key.document_id == "999999":
                assert find_duplicate(key, stored) == find_duplicate(key, before), key
        engine.dispose()

        downgrade(empty_url, "0003")
        inspector = inspect(engine)
        columns = {c["name"] for c in inspector.get_columns("documents")}
        assert not columns & {"document_number", "number_key", "total_amount"}
        assert "ix_documents_supplier_number" not in {i["name"] for i in inspector.get_indexes("documents")}
        with engine.connect() as connection:
            assert connection.scalar(select(sa.func.count()).select_from(DOCUMENTS)) == len(CORPUS) + 1200
            assert connection.scalar(select(sa.func.count()).select_from(HISTORY)) == len(CORPUS) + 1200
        engine.dispose()
        upgrade(empty_url)
        with transaction(session_factory(engine)) as session:
            assert session.get(Document, 2).number_key == "1NV001"
    finally:
        engine.dispose()


# -- end to end -------------------------------------------------------------------------------------------------

def test_the_service_flags_a_copy_from_the_stored_keys(db_url, tmp_path):
    import io

    import pikepdf
    from service_support import DEMO, auth, import_master, running_app, upload, wait_read
    INVOICE = "INV-88213.pdf"
    with pikepdf.open(io.BytesIO((DEMO / INVOICE).read_bytes())) as pdf:      # the same invoice saved again
        pdf.docinfo["/Producer"] = "rescanned"
        resaved = io.BytesIO()
        pdf.save(resaved)
    # read in this process (not in a reader child) so that the engine here sees the lookup's statements
    with running_app(db_url, tmp_path, isolate=False) as client:
        import_master(client, kinds=("suppliers", "products"))
        first = upload(client, INVOICE).json()["id"]
        wait_read(client)
        statements = _statements(client.app.state.services.factory)
        copy = upload(client, "INV-88213-copy.pdf", resaved.getvalue()).json()["id"]
        wait_read(client)
        second = client.get(f"/api/v1/documents/{copy}", headers=auth()).json()
        duplicate = [i for i in second["issues"] if i["code"] == "duplicate_document"]
        assert len(duplicate) == 1 and f"document {first} again (the same supplier" in duplicate[0]["message"]
        assert any("documents.number_key = " in s for s in statements)                 # the indexed lookup ran
        assert not [s for s in statements                                               # and no full scan
                    if s.split("WHERE")[-1].strip().startswith("documents.extraction IS NOT NULL ORDER BY")]

        factory = client.app.state.services.factory
        with transaction(factory) as session:
            rows = {d.id: d for d in session.scalars(select(Document).where(Document.id.in_([first, copy])))}
            for document in rows.values():
                assert (document.document_number, document.number_key, document.total_amount) == tuple(
                    reading_keys(document.extraction).values())
            assert rows[first].number_key and rows[first].number_key == rows[copy].number_key
            assert rows[first].supplier_id == rows[copy].supplier_id is not None

        assert client.post(f"/api/v1/documents/{first}/reprocess", headers=auth()).status_code == 202
        wait_read(client)                       # read again, the first now meets its copy (as the full scan did)
        again = client.get(f"/api/v1/documents/{first}", headers=auth()).json()
        assert f"document {copy} again" in [i for i in again["issues"] if i["code"] == "duplicate_document"][0]["message"]
