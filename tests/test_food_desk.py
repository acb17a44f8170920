"""The food desk (issue 17), on SQLite and PostgreSQL: a confirmed line's batch, production and expiry dates reach
the moves and balances; the stock view lists batches with those dates and the moves behind each; the near-expiry
list (临期预警) applies each category's threshold (a default for the rest); times are shown in the configured zone."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal as D

from sqlalchemy import select

from db_support import add_product, db_url, factory  # noqa: F401
from models.company import CompanySettings, company_settings, parse_days, save_settings
from models.db import transaction
from models.ledger import issue_stock
from models.tables import Product, StockBalance, StockMove
from review_ui.stock_views import Clock, near_expiry, stock_rows
from test_money_currency import _confirm, _document

NOW = datetime(2026, 3, 1, 23, 30, tzinfo=timezone.utc)       # 07:30 on 2 March in Shanghai


def _food(factory):
    """Milk (乳制品, threshold 7 days) and rice (粮油, the default 30), batch-tracked, received in two batches."""
    with transaction(factory) as session:
        milk = add_product(session, "MILK-1L", unit="盒", batch_tracked=True)
        rice = add_product(session, "RICE-5KG", unit="袋", batch_tracked=True)
        milk.category, milk.name, rice.category = "乳制品", "纯牛奶 1L", "粮油"
        docs = [_document(session, "DN-MILK-A", milk.id, currency="CNY", quantity="40", price="8",
                          batch_no="M240301", production_date="2026-02-25", expiry_date="2026-03-06"),
                _document(session, "DN-MILK-B", milk.id, currency="CNY", quantity="60", price="8.5",
                          batch_no="M240315", production_date="2026-02-28", expiry_date="2026-03-20"),
                _document(session, "DN-RICE-A", rice.id, currency="CNY", quantity="10", price="45",
                          batch_no="R2601", production_date="2026-01-10", expiry_date="2026-03-25")]
        ids = (milk.id, rice.id)
    for doc in docs:
        _confirm(factory, doc)
    return ids


def test_the_lines_batch_production_and_expiry_dates_reach_the_ledger(factory):
    milk, _ = _food(factory)
    with transaction(factory) as session:
        moves = session.scalars(select(StockMove).where(StockMove.product_id == milk).order_by(StockMove.id)).all()
        assert [(m.batch, m.production_date, m.expiry) for m in moves] == [
            ("M240301", date(2026, 2, 25), date(2026, 3, 6)), ("M240315", date(2026, 2, 28), date(2026, 3, 20))]
        balances = {b.batch: b for b in session.scalars(select(StockBalance).where(StockBalance.product_id == milk))}
        assert balances["M240301"].production_date == date(2026, 2, 25)
        assert balances["M240315"].expiry == date(2026, 3, 20)


def test_stock_by_batch_with_dates_the_moves_behind_each_and_a_warehouse_breakdown(factory):
    milk, _ = _food(factory)
    with transaction(factory) as session:
        issue_stock(session, product_id=milk, quantity=D("15"), posted_by="shop", batch="M240301")
        clock = Clock(company_settings(session), now=NOW)
        rows = {r["sku"]: r for r in stock_rows(session, clock)}
    row = rows["MILK-1L"]
    assert (row["on_hand"], row["value"], row["currency"], row["unit"]) == ("85", "705.50", "CNY", "盒")
    assert row["warehouses"] == [{"code": "MAIN", "name": row["warehouses"][0]["name"], "quantity": D("85"),
                                  "amount": D("705.5"), "on_hand": "85", "value": "705.50"}]
    batches = {b["batch"]: b for b in row["batches"]}
    first = batches["M240301"]
    assert (first["production_date"], first["expiry_text"], first["on_hand"], first["days_left"]) == \
        ("2026-02-25", "2026-03-06", "25", 4)
    assert [(m["kind"], m["quantity"]) for m in first["moves"]] == [("issue", "-15"), ("receipt", "40")]
    assert [m["quantity"] for m in batches["M240315"]["moves"]] == ["60"]


def test_move_times_are_shown_in_the_configured_time_zone(factory):
    _food(factory)
    with transaction(factory) as session:
        posted = session.scalars(select(StockMove.posted_at)).first()
        shanghai = Clock(company_settings(session), now=NOW)
        save_settings(session, who="root", timezone="America/New_York")
        new_york = Clock(company_settings(session), now=NOW)
        move = stock_rows(session, shanghai)[0]["moves"][-1]
    assert shanghai.shown(posted) == (posted.astimezone(timezone.utc) + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M")
    assert new_york.shown(NOW) == "2026-03-01 18:30" and shanghai.shown(NOW) == "2026-03-02 07:30"
    assert shanghai.today() == date(2026, 3, 2) and shanghai.offset() == "UTC+08:00"
    assert move["when"] == shanghai.shown(posted) and move["utc"] == posted.isoformat()


def test_the_near_expiry_list_uses_each_categorys_threshold(factory):
    _food(factory)
    with transaction(factory) as session:
        default = Clock(company_settings(session), now=NOW)          # 30 days for every category
        assert [(r["sku"], r["batch"], r["days_left"]) for r in near_expiry(session, default)] == [
            ("MILK-1L", "M240301", 4), ("MILK-1L", "M240315", 18), ("RICE-5KG", "R2601", 23)]
        save_settings(session, who="root", near_expiry_days=parse_days("7; 乳制品=5; 粮油=30"))
        per_category = Clock(company_settings(session), now=NOW)
        listed = near_expiry(session, per_category)
        assert [(r["batch"], r["threshold"], r["state"]) for r in listed] == [("M240301", 5, "near"),
                                                                              ("R2601", 30, "near")]
        save_settings(session, who="root", near_expiry_days=parse_days("3"))
        later = Clock(company_settings(session), now=datetime(2026, 3, 8, 2, 0, tzinfo=timezone.utc))
        assert [(r["batch"], r["state"], r["days_left"]) for r in near_expiry(session, later)] == [
            ("M240301", "expired", -2)]


def test_days_are_parsed_per_category():
    assert parse_days("30; 乳制品=7，冷冻食品=60") == {"": 30, "乳制品": 7, "冷冻食品": 60}
    settings = CompanySettings("CNY", "UTC", parse_days("10; 乳制品=2"))
    assert (settings.days_for("乳制品"), settings.days_for("饮料"), settings.days_for(None)) == (2, 10, 10)
    assert Product.__table__.c.category is not None


def test_without_a_printed_expiry_the_shelf_life_gives_it(factory):
    with transaction(factory) as session:
        yoghurt = add_product(session, "YOG-150", unit="杯", batch_tracked=True)
        yoghurt.shelf_life_days = 21
        doc = _document(session, "DN-YOG", yoghurt.id, currency="CNY", quantity="12", price="3",
                        batch_no="Y1", production_date="2026-02-20")
    _confirm(factory, doc)
    with transaction(factory) as session:
        move = session.scalars(select(StockMove)).one()
        assert (move.production_date, move.expiry) == (date(2026, 2, 20), date(2026, 3, 13))
