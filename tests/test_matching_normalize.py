"""Normalisation, codes, GTINs and the spec tokens that tell near-duplicates apart."""

from __future__ import annotations

from decimal import Decimal

import pytest

from matching import fold_code, gtin_is_valid, normalize_company, normalize_name, pack_size, read_specs, spec_agreement
from matching.normalize import gtin_key


@pytest.mark.parametrize("raw, expected", [
    ("*饮料*可口可乐 330ML", "可口可乐 330ml"),
    ("ＡＢＣ　１２３", "abc 123"),                      # full width -> half width
    ("Chip Resistor 10KΩ ±1%", "chip resistor 10kω 1%"),
    ("M4x12 (Hex-Socket) Screw", "m4x12 hex socket screw"),
])
def test_normalize_name(raw, expected):
    assert normalize_name(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    ("深圳市华强电子有限公司", "深圳市华强电子"),
    ("上海鑫源食品股份有限公司", "上海鑫源食品"),
    ("广州恒达贸易有限责任公司", "广州恒达贸易"),
    ("ACME Components Co., Ltd.", "acme components"),
    ("Müller Werkzeuge GmbH", "müller werkzeuge"),
    ("Polska Hurt Sp. z o.o.", "polska hurt"),
    ("Vandelay Imports S.A.S.", "vandelay imports"),
    ("Dutch Trade B.V.", "dutch trade"),
    ("Globex Inc.", "globex"),
    ("Hooli LLC", "hooli"),
])
def test_normalize_company_drops_legal_forms(raw, expected):
    assert normalize_company(raw) == expected


def test_fold_code_only_for_codes():
    assert fold_code("SKU-0O12") == fold_code("5KU-0012")
    assert fold_code("ab-l1") == "A811"
    assert normalize_name("Sol Bottle") == "sol bottle"    # names are never folded


def test_gtin_check_digit():
    assert gtin_is_valid("4006381333931")
    assert not gtin_is_valid("4006381333932")
    assert gtin_is_valid("036000291452")                   # UPC-A
    assert gtin_key("036000291452") == gtin_key("0036000291452")
    assert gtin_key("12345") is None


@pytest.mark.parametrize("a, b", [
    ("可口可乐 330ml", "可口可乐 500ml"),
    ("Chip Resistor 10kΩ 1% 0603", "Chip Resistor 10kΩ 1% 0805"),
    ("内六角螺钉 M4x12", "内六角螺钉 M4x16"),
    ("MLCC 100nF 50V", "MLCC 10nF 50V"),
])
def test_disagreeing_sizes_sink_the_score(a, b):
    assert spec_agreement(read_specs(a), read_specs(b)) < 0.7


@pytest.mark.parametrize("a, b", [
    ("可口可乐 0.33L", "可口可乐 330ml"),
    ("4K7 0805", "4.7kΩ 0805"),
    ("M4*12", "M4x12"),
    ("1kg", "1000g"),
])
def test_same_size_in_other_spellings_agrees(a, b):
    assert spec_agreement(read_specs(a), read_specs(b)) >= 1.0


def test_ocr_slips_inside_sizes():
    assert ("length_mm", "50") in read_specs("螺钉 M4x5O")
    assert ("length_mm", "200") in read_specs("尖嘴钳 2OOMM")
    assert ("volume_ml", "330") in read_specs("330rnl")


def test_pack_sizes():
    assert pack_size("可口可乐330ml 24瓶/箱").count == Decimal(24)
    assert pack_size("Cola 330ml x 24").count == Decimal(24)
    assert pack_size("24x330ml").count == Decimal(24)
    assert pack_size("MLCC 50V X7R") is None


def test_decimal_comma_and_thousands():
    assert ("mass_g", "2500") in read_specs("Tiefkühl-Erbsen 2,5 kg")
    assert ("ohm", "5000") in read_specs("5,000Ω")
