"""Ledger scenarios written as the clerk would tell them, one step a line, on SQLite and PostgreSQL.

    receive DOC SKU QTY UNIT @ PRICE [x FACTOR]   post a receipt line (QTY printed units of FACTOR base units each)
    issue SKU QTY                                  take base units out at the moving average
    reverse DOC                                    undo a posted receipt
    expect SKU ON_HAND VALUE AVERAGE               what the ledger must say now
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from db_support import add_document, add_product, db_url, factory  # noqa: F401
from models.db import transaction
from models.errors import NegativeStock
from models.invariants import check_ledger
from models.ledger import ReceiptLine, issue_stock, post_receipt, reverse_receipt
from models.stock import average_cost, on_hand, stock_value


def ledger_from(factory, story: str) -> None:
    """Play the story's steps in order, each in its own transaction; check the invariants at the end."""
    products: dict[str, int] = {}
    documents: dict[str, int] = {}

    def product(sku: str) -> int:
        if sku not in products:
            with transaction(factory) as session:
                products[sku] = add_product(session, sku).id
        return products[sku]

    for line in filter(None, (raw.split("#")[0].strip() for raw in story.splitlines())):
        verb, *words = line.split()
        sku = {"receive": 1, "issue": 0, "expect": 0}.get(verb)
        pid = product(words[sku]) if sku is not None else None   # made before this step's transaction
        with transaction(factory) as session:
            if verb == "receive":
                doc, _sku, qty, _unit, _at, price, *rest = words
                factor = D(rest[1]) if rest else D(1)
                document = add_document(session, doc)
                post_receipt(session, document_id=document.id, posted_by="clerk",
                             lines=[ReceiptLine(1, pid, D(qty), D(price), factor=factor)])
                documents[doc] = document.id
            elif verb == "issue":
                issue_stock(session, product_id=pid, quantity=D(words[1]), posted_by="shop")
            elif verb == "reverse":
                reverse_receipt(session, document_id=documents[words[0]], posted_by="approver", reason="story")
            elif verb == "expect":
                _sku, qty, value, average = words
                assert (on_hand(session, pid), stock_value(session, pid), average_cost(session, pid)) == (
                    D(qty), D(value), D(average)), line
            else:
                raise ValueError(f"unknown step {line!r}")
    with transaction(factory) as session:
        assert check_ledger(session) == []


def test_cartons_become_bottles_at_their_unit_cost(factory):
    ledger_from(factory, """
        receive DN-1 SOY 10 箱 @ 96.00 x 12     # 10 cartons of 12 bottles, 8.00 a bottle
        expect  SOY 120 960 8
        issue   SOY 20
        expect  SOY 100 800 8
    """)


def test_moving_average_then_reversal_at_the_original_cost(factory):
    ledger_from(factory, """
        receive A RICE 100 kg @ 4.00
        receive B RICE 100 kg @ 5.00
        expect  RICE 200 900 4.5
        issue   RICE 50                          # out at 4.50: 225
        expect  RICE 150 675 4.5
        reverse A                                # out at 4.00, as it came in: 400
        expect  RICE 50 275 5.5
        issue   RICE 50                          # everything left, and all its value
        expect  RICE 0 0 5.5
    """)


def test_a_reversal_that_needs_stock_already_sold_is_refused(factory):
    with pytest.raises(NegativeStock):
        ledger_from(factory, """
            receive A MILK 10 L @ 1.20
            issue   MILK 4
            reverse A
        """)


def test_zero_priced_goods_and_fractions_stay_exact(factory):
    ledger_from(factory, """
        receive FREE PEAS 3 Btl @ 0 x 2.5
        receive PAID PEAS 0.5 kg @ 3.333333
        expect  PEAS 8 1.6666665 0.208333
    """)
