"""Money per currency (issue 17), on SQLite and PostgreSQL: stock values are kept in the base currency (a
setting, CNY by default), each posting records the document's currency and rate, a foreign-currency document
without a rate is refused with nothing written, reversals and exports carry the currency, and the settings follow
the environment until an admin sets them."""

from __future__ import annotations

import hashlib
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from db_support import add_product, db_url, factory  # noqa: F401
from models.company import BadSetting, Defaults, company_settings, install_defaults, parse_rates, save_settings
from models.db import transaction
from models.documents import create_document, record_status, set_reading
from models.errors import NotPostable
from models.exports import KINGDEE, YONYOU, export_receipts
from models.invariants import check_ledger
from models.ledger import reverse_receipt
from models.stock import stock_report, stock_value
from models.tables import Posting, StockMove
from pipeline.review import confirm_document

TOLERANCE = D("0.05")


def _document(session, name: str, product_id: int, *, currency: str | None, quantity="2", price="21.50",
              rate: str | None = None, **line_fields):
    """A read document (status ready) with one line matched to `product_id`."""
    document, _ = create_document(session, sha256=hashlib.sha256(name.encode()).hexdigest(), filename=f"{name}.pdf")
    fields = {"document_number": {"value": name, "raw": name, "confidence": 0.95}}
    if currency:
        fields["currency"] = {"value": currency, "raw": currency, "confidence": 0.9}
    if rate:
        fields["exchange_rate"] = {"value": rate, "raw": rate, "confidence": 0.9}
    line = {"line_no": 1, "description": {"value": "widget", "raw": "widget", "confidence": 0.9},
            "quantity": {"value": quantity, "raw": quantity, "confidence": 0.9},
            "unit_price": {"value": price, "raw": price, "confidence": 0.9}}
    line.update({k: {"value": v, "raw": v, "confidence": 0.9} for k, v in line_fields.items()})
    extraction = {"document_type": "invoice", "fields": fields, "lines": [line]}
    matches = {"lines": [{"line_no": 1, "product_match": {"id": str(product_id), "method": "sku", "score": 1.0,
                                                          "auto_accepted": True}}]}
    record_status(session, document, "processing", who="test")
    set_reading(session, document.id, extraction=extraction, matches=matches, who="test", status="ready")
    return document.id


def _confirm(factory, doc_id: int, **kw):
    with transaction(factory) as session:
        return confirm_document(session, doc_id, who="abe", approver=True, idempotency_key=None,
                                tolerance=TOLERANCE, **kw)


def test_a_gbp_receipt_with_its_rate_is_kept_in_cny_beside_a_cny_receipt(factory):
    with transaction(factory) as session:
        widget = add_product(session, "WIDGET").id
        gbp = _document(session, "INV-GBP-1", widget, currency="GBP", rate="9.2")
        cny = _document(session, "INV-CNY-1", widget, currency="CNY", quantity="10", price="20")
    _confirm(factory, gbp)
    _confirm(factory, cny)
    with transaction(factory) as session:
        postings = {p.document_id: p for p in session.scalars(select(Posting))}
        money = {doc: (p.currency, p.base_currency, p.exchange_rate) for doc, p in postings.items()}
        assert money == {gbp: ("GBP", "CNY", D("9.2")), cny: ("CNY", "CNY", D(1))}
        moves = {m.document_id: m for m in session.scalars(select(StockMove))}
        assert (moves[gbp].value, moves[gbp].document_value, moves[gbp].currency) == (D("395.6"), D("43"), "GBP")
        assert moves[gbp].unit_cost == D("197.8")                      # CNY per pcs
        assert (moves[cny].value, moves[cny].document_value) == (D("200"), D("200"))
        assert stock_value(session, widget) == D("595.6")               # 43 GBP x 9.2 + 200 CNY, never 43 + 200
        report = stock_report(session, widget, currency="CNY").to_json()
        assert report["currency"] == "CNY" and report["value"] == "595.6"
        by_doc = {m["document_id"]: m for m in report["moves"]}
        assert (by_doc[gbp]["document_currency"], by_doc[gbp]["document_value"], by_doc[gbp]["exchange_rate"]) == \
            ("GBP", "43", "9.2")
        assert check_ledger(session) == []


def test_a_foreign_currency_document_without_a_rate_is_refused_and_nothing_is_written(factory):
    with transaction(factory) as session:
        widget = add_product(session, "WIDGET").id
        gbp = _document(session, "INV-GBP-2", widget, currency="GBP")
    with pytest.raises(NotPostable, match=r"in GBP and stock is kept in CNY: enter the exchange rate \(CNY per 1 GBP"):
        _confirm(factory, gbp)
    with transaction(factory) as session:
        assert session.scalar(select(func.count()).select_from(Posting)) == 0
        assert session.scalar(select(func.count()).select_from(StockMove)) == 0


def test_a_rate_other_than_one_on_a_base_currency_document_is_refused(factory):
    with transaction(factory) as session:
        widget = add_product(session, "WIDGET").id
        cny = _document(session, "INV-CNY-2", widget, currency="RMB", rate="7.1")     # RMB is the yuan: CNY
    with pytest.raises(NotPostable, match="base currency CNY: its exchange rate is 1"):
        _confirm(factory, cny)


def test_the_base_currency_setting_decides_and_cannot_change_once_posted(factory):
    with transaction(factory) as session:
        widget = add_product(session, "WIDGET").id
        save_settings(session, who="root", base_currency="gbp")
        gbp = _document(session, "INV-GBP-3", widget, currency="GBP")
        eur = _document(session, "INV-EUR-3", widget, currency="EUR", price="10", rate="0.85")
    _confirm(factory, gbp)                                      # GBP is the base now: rate 1, no rate asked
    _confirm(factory, eur)
    with transaction(factory) as session:
        assert stock_value(session, widget) == D("43") + D("17")
        with pytest.raises(BadSetting, match="cannot change once receipts are posted"):
            save_settings(session, who="root", base_currency="CNY")
        assert company_settings(session).base_currency == "GBP"


def test_the_environment_default_passed_by_the_caller_applies_until_an_admin_sets_it(factory):
    with transaction(factory) as session:
        widget = add_product(session, "WIDGET").id
        usd = _document(session, "INV-USD-1", widget, currency="USD")
    _confirm(factory, usd, base_currency="USD")               # INBOUND_BASE_CURRENCY=USD: no rate needed
    with transaction(factory) as session:
        assert session.scalars(select(Posting)).one().base_currency == "USD"


def test_start_up_defaults_follow_the_environment_but_an_admins_value_wins(factory):
    with transaction(factory) as session:
        install_defaults(session, Defaults(timezone="Europe/London", near_expiry_days={"": 10, "乳制品": 3}))
        assert company_settings(session).timezone == "Europe/London"
        install_defaults(session, Defaults(timezone="UTC"))                       # the environment changed
        assert company_settings(session).timezone == "UTC"
        assert company_settings(session).days_for("乳制品") == 30                   # back to the default
        save_settings(session, who="root", timezone="Asia/Shanghai")
        install_defaults(session, Defaults(timezone="UTC"))
        assert company_settings(session).timezone == "Asia/Shanghai"
        with pytest.raises(BadSetting):
            save_settings(session, who="root", timezone="Mars/Olympus")
        with pytest.raises(BadSetting):
            save_settings(session, who="root", base_currency="pounds")


def test_a_reversal_mirrors_the_document_currency_and_the_exports_carry_it(factory):
    with transaction(factory) as session:
        widget = add_product(session, "WIDGET").id
        gbp = _document(session, "INV-GBP-4", widget, currency="GBP", rate="9.2")
    _confirm(factory, gbp)
    with transaction(factory) as session:
        reverse_receipt(session, document_id=gbp, posted_by="abe", reason="wrong goods")
    with transaction(factory) as session:
        reversal = session.scalars(select(Posting).where(Posting.kind == "reversal")).one()
        assert (reversal.currency, reversal.exchange_rate) == ("GBP", D("9.2"))
        assert sorted(m.document_value for m in session.scalars(select(StockMove))) == [D("-43"), D("43")]
        assert stock_value(session, widget) == 0 and check_ledger(session) == []
        kingdee = export_receipts(session, fmt="kingdee").decode("utf-8-sig").strip().splitlines()
        yonyou = export_receipts(session, fmt="yonyou").decode("utf-8-sig").strip().splitlines()
    assert kingdee[0].split(",")[:len(KINGDEE) - 4] == KINGDEE[:-4]          # the old columns as they were
    row = dict(zip(KINGDEE, kingdee[1].split(",")))
    assert (row["金额"], row["币别"], row["汇率"], row["原币金额"], row["本位币"]) == ("395.6", "GBP", "9.2", "43", "CNY")
    row = dict(zip(YONYOU, yonyou[2].split(",")))
    assert (row["本币金额"], row["币种"], row["汇率"], row["原币单价"], row["原币金额"]) == ("-395.6", "GBP", "9.2", "21.5", "-43")


def test_a_standing_rate_applies_where_the_document_gives_none_and_the_documents_own_rate_wins(factory):
    with transaction(factory) as session:
        widget = add_product(session, "WIDGET").id
        save_settings(session, who="root", exchange_rates=parse_rates("GBP=9.1; eur=7.85"))
        standing = _document(session, "INV-GBP-5", widget, currency="GBP")
        own = _document(session, "INV-GBP-6", widget, currency="GBP", rate="9.25", price="10")
        usd = _document(session, "INV-USD-5", widget, currency="USD")
    _confirm(factory, standing)
    _confirm(factory, own)
    with pytest.raises(NotPostable, match="enter the exchange rate"):     # no standing USD rate
        _confirm(factory, usd)
    with transaction(factory) as session:
        rates = {p.document_id: p.exchange_rate for p in session.scalars(select(Posting))}
        assert rates == {standing: D("9.1"), own: D("9.25")}
        assert stock_value(session, widget) == D("43") * D("9.1") + D("20") * D("9.25")
        assert company_settings(session).exchange_rates == {"GBP": D("9.1"), "EUR": D("7.85")}
    with pytest.raises(BadSetting):
        parse_rates("GBP=0")
    with pytest.raises(BadSetting):
        parse_rates("GBP=9.1234567")
