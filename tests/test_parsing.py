"""Typed parsing of printed values."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, strategies as st

from extractors.parsing import (currency_in, document_conventions, find_amounts, parse_amount, parse_date,
                                parse_percent)


@pytest.mark.parametrize("text, expected", [
    ("1.234,56", "1234.56"), ("1,234.56", "1234.56"), ("-14,73", "-14.73"), ("14,73-", "-14.73"),
    ("(14.73)", "-14.73"), ("€ 12,00", "12.00"), ("RM 80.90", "80.90"), ("1 234,56", "1234.56"),
    ("¥318.00", "318.00"), ("$ 279.84", "279.84"), ("Rs. 319.00", "319.00"), ("１２３．４５", "123.45"),
])
def test_amounts(text, expected):
    assert parse_amount(text) == Decimal(expected)


def test_thousands_follow_the_document_convention():
    assert parse_amount("1.234", decimal_comma=True) == Decimal("1234")
    assert parse_amount("1.234", decimal_comma=False) == Decimal("1.234")
    assert parse_amount("1,234", decimal_comma=True) == Decimal("1.234")


def test_dates_are_not_amounts():
    assert find_amounts("13/12/2017") == []


@pytest.mark.parametrize("text, dayfirst, expected", [
    ("05.06.2018", True, date(2018, 6, 5)), ("03/20/2023", True, date(2023, 3, 20)),
    ("20 Mar 2023", True, date(2023, 3, 20)), ("5. Juni 2018", True, date(2018, 6, 5)),
    ("2020年10月10日", True, date(2020, 10, 10)), ("June 5, 2018", True, date(2018, 6, 5)),
    ("15 stycznia 2021", True, date(2021, 1, 15)), ("19 april 2014", True, date(2014, 4, 19)),
    ("13 févr. 2019", True, date(2019, 2, 13)), ("04/05/2024", False, date(2024, 4, 5)),
])
def test_dates(text, dayfirst, expected):
    assert parse_date(text, dayfirst=dayfirst) == expected


def test_conventions_from_the_whole_text():
    conv = document_conventions("Summe 1.234,56 EUR\nMwSt 19 %\nDatum 24.12.2024", language="de")
    assert conv.decimal_comma and conv.dayfirst
    conv = document_conventions("Total $1,234.56 due 12/24/2024", language="en")
    assert not conv.decimal_comma and not conv.dayfirst


def test_percent_and_currency():
    assert parse_percent("19 %") == Decimal("0.19") and parse_percent("7,00%") == Decimal("0.07")
    assert currency_in("Total 12,00 €") == "EUR" and currency_in("Amount in GBP") == "GBP"


@given(st.decimals(min_value=-10**9, max_value=10**9, places=2, allow_nan=False, allow_infinity=False))
def test_printed_amounts_round_trip(value):
    plain = f"{value:.2f}"
    grouped = f"{value:,.2f}"
    german = grouped.replace(",", "X").replace(".", ",").replace("X", ".")
    for text, comma in ((plain, False), (grouped, False), (german, True)):
        assert parse_amount(text, decimal_comma=comma) == value


@pytest.mark.parametrize("text, expected", [
    ("华为技术(深圳)有限公司", "华为技术（深圳）有限公司"),
    ("订单号: PO2024001", "订单号：PO2024001"),
    ("可口可乐(330ml)", "可口可乐（330ml）"),
    ("ABC (Pty) Ltd, Cape Town", "ABC (Pty) Ltd, Cape Town"),
    ("深圳市1,000号", "深圳市1,000号"),
    ("宏图超市（杭州分店）", "宏图超市（杭州分店）"),
])
def test_chinese_punctuation_is_set_full_width_next_to_chinese(text, expected):
    from extractors.parsing import chinese_punctuation
    assert chinese_punctuation(text) == expected
