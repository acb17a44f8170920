"""Line-item extraction from word geometry: hand-built layouts and a few real corpus PDFs."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from extractors.layout import BBox, Layout, Line, Page, Word
from extractors.lines import extract_lines
from extractors.parsing import Conventions, document_conventions

REALDOCS = Path(__file__).resolve().parents[2] / "shared" / "realdocs"
EN = Conventions(decimal_comma=False, dayfirst=False)
DE = Conventions(decimal_comma=True, dayfirst=True)


def _line(y: float, *cells: tuple[float, str], size: float = 8.0) -> Line:
    """One text line: each (x, text) cell is split into words about half a point-size wide per char."""
    words: list[Word] = []
    for x, text in cells:
        for part in text.split():
            width = len(part) * size * 0.5
            words.append(Word(part, BBox(x, y, x + width, y + size)))
            x += width + size * 0.3
    return Line(tuple(words))


def _page(number: int, *lines: Line) -> Page:
    return Page(number=number, width=595.0, height=842.0, lines=tuple(lines))


def _values(items, name: str) -> list:
    return [it.fields[name].value if name in it.fields else None for it in items]


def test_simple_english_table() -> None:
    page = _page(1,
                 _line(50, (50, "Invoice 12345")),
                 _line(100, (50, "Description"), (300, "Qty"), (360, "Unit Price"), (460, "Amount")),
                 _line(115, (50, "Blue widget"), (305, "2"), (370, "10.00"), (470, "20.00")),
                 _line(130, (50, "Red gadget large"), (305, "3"), (375, "1.50"), (475, "4.50")),
                 _line(160, (360, "Total"), (470, "24.50")))
    items = extract_lines(Layout((page,), "test"), EN, language="en")
    assert [it.line_no for it in items] == [1, 2]
    assert _values(items, "description") == ["Blue widget", "Red gadget large"]
    assert _values(items, "quantity") == [Decimal("2"), Decimal("3")]
    assert _values(items, "unit_price") == [Decimal("10.00"), Decimal("1.50")]
    assert _values(items, "amount") == [Decimal("20.00"), Decimal("4.50")]
    assert items[0].fields["amount"].confidence > 0.8   # 2 x 10.00 == 20.00
    assert items[0].fields["amount"].page == 1


def test_german_table_with_wrapped_description_and_units() -> None:
    page = _page(1,
                 _line(100, (50, "Pos"), (80, "Art-Nr"), (150, "Bezeichnung"), (330, "Menge"),
                       (390, "Einzelpreis"), (460, "MwSt"), (500, "Gesamt")),
                 _line(115, (50, "1"), (80, "AB-100"), (150, "Schraube verzinkt M6"), (330, "20 Stk"),
                       (400, "1.234,50"), (462, "19 %"), (505, "24.690,00")),
                 _line(124, (150, "mit Mutter")),
                 _line(145, (50, "2"), (80, "CD-7"), (150, "Dübel"), (330, "3 m²"), (405, "2,00"),
                       (466, "7 %"), (510, "6,00")),
                 _line(154, (80, "4012345001235")),
                 _line(185, (380, "Nettobetrag"), (505, "24.696,00")))
    items = extract_lines(Layout((page,), "test"), DE, language="de")
    assert len(items) == 2
    assert _values(items, "description") == ["Schraube verzinkt M6 mit Mutter", "Dübel"]
    assert _values(items, "supplier_sku") == ["AB-100", "CD-7"]
    assert _values(items, "quantity") == [Decimal("20"), Decimal("3")]
    assert _values(items, "unit") == ["Stk", "m²"]
    assert _values(items, "unit_price") == [Decimal("1234.50"), Decimal("2.00")]
    assert _values(items, "amount") == [Decimal("24690.00"), Decimal("6.00")]
    assert _values(items, "tax_rate") == [Decimal("0.19"), Decimal("0.07")]
    assert _values(items, "barcode") == [None, "4012345001235"]


def test_table_continues_on_next_page() -> None:
    header = ((50, "Description"), (300, "Quantity"), (380, "Price"), (470, "Amount"))
    page1 = _page(1,
                  _line(100, *header),
                  _line(115, (50, "Item one"), (320, "1"), (385, "5.00"), (475, "5.00")),
                  _line(130, (50, "Item two"), (320, "2"), (385, "5.00"), (470, "10.00")),
                  _line(800, (450, "Page 1 of 2")))
    page2 = _page(2,
                  _line(40, (50, "Invoice 12345 continued")),
                  _line(70, (50, "Item three"), (320, "4"), (385, "2.50"), (470, "10.00")),
                  _line(100, (380, "Subtotal"), (470, "25.00")),
                  _line(115, (380, "Total"), (470, "25.00")))
    items = extract_lines(Layout((page1, page2), "test"), EN, language="en")
    assert _values(items, "description") == ["Item one", "Item two", "Item three"]
    assert [it.fields["amount"].page for it in items] == [1, 1, 2]
    assert [it.line_no for it in items] == [1, 2, 3]


def test_no_table_gives_no_lines() -> None:
    page = _page(1, _line(100, (50, "Dear customer, thank you for your order of 12.03.2024.")))
    assert extract_lines(Layout((page,), "test"), EN, language="en") == []


def _read(pdf: Path) -> tuple[Layout, Conventions]:
    from extractors.options import ReadOptions
    from extractors.pdf_text import open_pdf, read_text_page

    doc = open_pdf(pdf.read_bytes(), ReadOptions())
    layout = Layout(tuple(read_text_page(doc, i) for i in range(len(doc))), "text-layer")
    return layout, document_conventions(layout.text())


def _real(name: str) -> Path:
    path = REALDOCS / name
    if not path.exists():
        pytest.skip(f"{path} not present")
    return path


def test_real_zugferd_rabatte() -> None:
    layout, conv = _read(_real("zugferd_corpus/FX_EN16931_Rabatte.pdf"))
    items = extract_lines(layout, conv, language="de")
    assert len(items) == 4
    assert _values(items, "supplier_sku") == ["KR3M", "SFK5", "GTRWA5", "PFA5"]
    assert _values(items, "amount") == [Decimal("10.00"), Decimal("27.50"), Decimal("109.80"), Decimal("55.40")]
    assert items[0].fields["quantity"].value == Decimal("3")
    assert items[0].fields["barcode"].value == "4012345001235"
    assert items[2].fields["description"].value == "Mineralwasser Medium 12 x 1,0l PET"


def test_real_mustang_wrapped_descriptions() -> None:
    layout, conv = _read(_real("zugferd_corpus/Mustang_RE-20190610_507.pdf"))
    items = extract_lines(layout, conv, language="en")
    assert len(items) == 3
    assert items[0].fields["description"].value == "Design (hours): Of a sample invoice"
    assert _values(items, "quantity") == [Decimal("1.00"), Decimal("400.00"), Decimal("800.00")]
    assert items[2].fields["unit_price"].value == Decimal("0.025")


def test_real_azure_interior() -> None:
    layout, conv = _read(_real("invoice2data/AzureInterior.pdf"))
    items = extract_lines(layout, conv, language="en")
    assert len(items) == 4
    assert _values(items, "supplier_sku") == ["17589684", "FURN_7777", None, "LUX_TRF"]
    assert items[0].fields["description"].value == "Beeswax XL Acme beeswax"
    assert _values(items, "unit")[:2] == ["kg", "Units"]
    assert items[2].fields["barcode"].value == "987123"
