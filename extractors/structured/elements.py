"""The element and value helpers the e-invoice XML mappers share (`cii`, `ubl`, `fapiao`).

`parse_xml_safely` parses with defusedxml: a DTD, entity declarations or external references raise
`UnsafeContent`, malformed XML raises `CorruptFile`, more than `MAX_XML_BYTES` raises `TooLarge`.  The rest
find elements by local name (namespaces ignored), turn their text into typed `Field`s (confidence 1.0,
`method` embedded_xml) and guess the language from the texts and countries.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Iterable
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as safe_etree
from defusedxml import DefusedXmlException

from extractors.errors import CorruptFile, TooLarge, UnsafeContent
from extractors.result import Field, Issue, Severity

MAX_XML_BYTES = 20 * 1024 * 1024
UBL_NAMESPACE_PREFIX = "urn:oasis:names:specification:ubl:schema:xsd:"
FAPIAO_NAMESPACE = "http://www.edrm.org.cn/schema/e-invoice/2019"
READER_NAME = "embedded-xml"


# --------------------------------------------------------------------------- safe parsing

def parse_xml_safely(xml: bytes) -> Element:
    """The root element of `xml`; refuses DTDs, entities and external references."""
    if len(xml) > MAX_XML_BYTES:
        raise TooLarge(f"The invoice XML is {len(xml) // (1024 * 1024)} MB, more than the limit of "
                       f"{MAX_XML_BYTES // (1024 * 1024)} MB.")
    data = strip_bom(xml)
    if not data:
        raise CorruptFile("The invoice XML is empty.")
    try:
        return safe_etree.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise UnsafeContent("The invoice XML declares a DTD, entities or external references "
                            "(possible XXE or entity-expansion attack), so it was not read.",
                            detail=repr(exc)) from exc
    except (ParseError, LookupError, UnicodeError, ValueError) as exc:  # LookupError: an unknown encoding= name
        raise CorruptFile("The invoice XML is malformed and could not be read.", detail=str(exc)) from exc


def strip_bom(xml: bytes) -> bytes:
    """Drop a UTF-8 byte order mark and whitespace before the XML declaration."""
    if xml.startswith(b"\xef\xbb\xbf"):
        xml = xml[3:]
    return xml.lstrip(b" \t\r\n")


# --------------------------------------------------------------------------- element helpers

def local(tag: object) -> str:
    """The local name of an element tag ('{ns}Name' -> 'Name'); '' for comments and PIs."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def namespace(tag: object) -> str:
    return tag[1:].split("}", 1)[0] if isinstance(tag, str) and tag.startswith("{") else ""


def find_all(el: Element | None, path: str) -> list[Element]:
    """Elements under `el` along a '/'-separated path of local names (namespaces ignored)."""
    if el is None:
        return []
    nodes = [el]
    for name in path.split("/"):
        nodes = [c for n in nodes for c in n if local(c.tag) == name]
        if not nodes:
            break
    return nodes


def find(el: Element | None, *paths: str) -> Element | None:
    """The first element found along the first path that matches."""
    for path in paths:
        found = find_all(el, path)
        if found:
            return found[0]
    return None


def collapse(text: str | None) -> str:
    return " ".join(text.split()) if text else ""


def text_of(el: Element | None, *paths: str) -> str | None:
    """Whitespace-collapsed text of the first non-empty element along `paths` (or `el` itself)."""
    for path in paths or ("",):
        for node in (find_all(el, path) if path else ([el] if el is not None else [])):
            value = collapse(node.text)
            if value:
                return value
    return None


# --------------------------------------------------------------------------- typed values

_DATE_FORMS = (re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
               re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:$|[T ])"),
               re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?$"))


def parse_xml_date(raw: str | None) -> date | None:
    """CII format 102 (YYYYMMDD), ISO dates/datetimes and 2020年10月10日."""
    text = collapse(raw)
    for form in _DATE_FORMS:
        m = form.match(text)
        if m:
            try:
                return date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                return None
    return None


def parse_xml_decimal(raw: str | None) -> Decimal | None:
    text = collapse(raw).replace(" ", "")
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def percent_to_fraction(raw: str | None) -> Decimal | None:
    """'19.00' or '6%' -> Decimal('0.19') / Decimal('0.06'); 免税 / 不征税 (exempt) -> 0."""
    text = collapse(raw)
    if text in ("免税", "不征税"):
        return Decimal(0)
    value = parse_xml_decimal(text.rstrip("%").strip())
    if value is None:
        return None
    fraction = (value / 100).normalize()
    return fraction if fraction != 0 else Decimal(0)


def text_field(raw: str | None) -> Field | None:
    value = collapse(raw)
    return Field(value, value, 1.0) if value else None


def decimal_field(raw: str | None) -> Field | None:
    value = parse_xml_decimal(raw)
    return None if value is None else Field(value, collapse(raw), 1.0)


def date_field(raw: str | None) -> Field | None:
    value = parse_xml_date(raw)
    return None if value is None else Field(value, collapse(raw), 1.0)


def rate_field(raw: str | None) -> Field | None:
    value = percent_to_fraction(raw)
    return None if value is None else Field(value, collapse(raw), 1.0)


def joined_address(address: Element | None, part_names: tuple[str, ...]) -> str | None:
    """Address parts (in `part_names` order, the country code last) joined with ', '; None when only a
    country code is given."""
    parts = [text_of(address, name) for name in part_names]
    present = [p for p in parts if p]
    if not present or present == [parts[-1]]:
        return None
    return ", ".join(present)


def put(fields: dict[str, Field], name: str, field: Field | None) -> None:
    """Set `fields[name]` unless the value is missing or the name is already set."""
    if field is not None and name not in fields:
        fields[name] = field


# --------------------------------------------------------------------------- language

_COUNTRY_LANGUAGE = {
    "DE": "de", "AT": "de", "CH": "de", "LI": "de", "FR": "fr", "BE": "fr", "LU": "fr", "MC": "fr",
    "GB": "en", "IE": "en", "US": "en", "CA": "en", "AU": "en", "NZ": "en", "NL": "nl", "IT": "it",
    "ES": "es", "PT": "pt", "PL": "pl", "CZ": "cs", "SK": "sk", "DK": "da", "SE": "sv", "NO": "no",
    "FI": "fi", "HU": "hu", "RO": "ro", "GR": "el", "CN": "zh", "TW": "zh", "HK": "zh", "SG": "en",
}
_STOPWORDS = {
    "de": {"und", "der", "die", "das", "bis", "zahlbar", "rechnung", "wir", "ihre", "mit", "für", "bei",
           "innerhalb", "tagen", "von", "auf", "zur", "ohne", "abzug", "gemäß", "ist", "wird", "nicht"},
    "fr": {"le", "la", "les", "des", "et", "facture", "pour", "du", "au", "avec", "en", "paiement",
           "suite", "à", "par", "sur", "une", "est"},
    "en": {"the", "and", "of", "for", "invoice", "payment", "to", "with", "hours", "is", "are", "by",
           "within", "days", "due", "please", "our", "your", "various", "sample"},
}


def guess_language(texts: Iterable[str], *countries: str | None, item_names: Iterable[str] = ()) -> str:
    """The language of the free text (notes, terms; item names count double) when clear, else by country."""
    votes = {lang: 0 for lang in _STOPWORDS}
    weighted = [(t, 1) for t in texts] + [(t, 2) for t in item_names]
    for text, weight in weighted:
        for token in re.findall(r"\w+", text.casefold()):
            for lang, words in _STOPWORDS.items():
                votes[lang] += weight * (token in words)
    ranked = sorted(votes.items(), key=lambda kv: kv[1], reverse=True)
    best, runner_up = ranked[0][1], ranked[1][1]
    if (best >= 3 and best >= 2 * runner_up) or (best >= 1 and runner_up == 0):
        return ranked[0][0]
    for country in countries:
        if country and country.upper() in _COUNTRY_LANGUAGE:
            return _COUNTRY_LANGUAGE[country.upper()]
    return "und"


def credit_note_issue(type_code: str | None) -> Issue | None:
    if type_code != "381":
        return None
    return Issue("credit_note", Severity.INFO,
                 "The embedded e-invoice is a credit note (type code 381): amounts are credited, not owed.")
