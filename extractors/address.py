"""Postal addresses: the postcode line in its national orders, the country it implies, the contract form.

An address is returned as 'street, postcode, city, CC' (`structure_address`), whichever order the paper
prints: '12345 Stadt' and 'D-12345 Stadt', 'Bristol BS19 1YY', 'Dublin D12 R739', 'Denver, CO 80299'.
The country is the one printed, else the one the postcode's own shape implies (a UK postcode, an Irish
Eircode, a Dutch '1234 AB', a Polish '12-345', a US ZIP after a state); other hints (VAT id, phone
prefix, IBAN) are the caller's, see `country_from_hints`.
"""

from __future__ import annotations

import functools
import re

from extractors.parties import COUNTRY_CODES, POSTCODE_CITY, US_CITY_STATE_ZIP

_UK = r"[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}"
_EIRCODE = r"(?:[A-Z]\d{2}|D6W)\s?[0-9A-Z]{4}"   # routing key + unique id (printed ones may stray from the letter set)
CITY_POSTCODE = re.compile(rf"^(?P<city>[^\d,]{{2,40}}?),?\s+(?P<zip>{_UK}|{_EIRCODE})$")
_SHAPES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(rf"^{_UK}$"), "GB"), (re.compile(rf"^{_EIRCODE}$"), "IE"), (re.compile(r"^\d{4} ?[A-Z]{2}$"), "NL"),
    (re.compile(r"^\d{2}-\d{3}$"), "PL"), (re.compile(r"^\d{5}-\d{4}$"), "US"),
)
# Country prefixes printed before a postcode: ISO codes and the old licence-plate letters (D-, A-, F-, CH-).
_PREFIXES = frozenset("AT BE CH CZ DE DK ES FI FR GB IE IT LI LU NL NO PL PT SE D A B F I E L S N DK FL".split())
_PHONE_CC = {"49": "DE", "33": "FR", "32": "BE", "31": "NL", "43": "AT", "41": "CH", "44": "GB", "353": "IE",
             "352": "LU", "39": "IT", "34": "ES", "48": "PL", "45": "DK", "46": "SE", "1": "US"}
_PHONE_PREFIX = re.compile(r"(?<![\w+])\+(353|352|\d{2}|1(?=[\s(]))(?=[\s().-]?\d)")


@functools.lru_cache(maxsize=8192)
def postcode_line(text: str) -> tuple[str, str, str | None] | None:
    """(postcode, city, country or None) when `text` is a postcode-and-city line, else None."""
    text = text.strip().rstrip(",")
    m = POSTCODE_CITY.match(text)
    if m and m.group("cc") and m.group("cc") not in _PREFIXES:
        m = None   # 'NF-9000 Palettenpfand' is an article, not 'D-12345 Stadt'
    if m:
        cc = m.group("cc")
        return m.group("zip"), m.group("city").strip(), (cc if cc and len(cc) == 2 else None) or postcode_country(
            m.group("zip"))
    m = US_CITY_STATE_ZIP.match(text)
    if m:
        return m.group("zip"), m.group("city").strip().rstrip(","), "US"
    m = CITY_POSTCODE.match(text)
    if m:
        return m.group("zip"), m.group("city").strip().rstrip(","), postcode_country(m.group("zip"))
    return None


def postcode_country(postcode: str) -> str | None:
    """The country a postcode's shape names on its own (most shapes, 12345 or 1234, are shared)."""
    for rx, cc in _SHAPES:
        if rx.match(postcode.strip()):
            return cc
    return None


def country_name(text: str) -> str | None:
    """The ISO code of a country printed as a name or code ('Deutschland', 'France', 'NL')."""
    for part in re.split(r"\s*/\s*|,\s*", text.strip()):
        code = COUNTRY_CODES.get(part.strip().casefold())
        if code:
            return code
        if re.fullmatch(r"[A-Z]{2}", part.strip()) and part.strip() in COUNTRY_CODES.values():
            return part.strip()
    return None


def phone_country(text: str) -> str | None:
    """The country of an international phone prefix printed in `text` (+49 ..., 0033 ...)."""
    m = _PHONE_PREFIX.search(text)
    return _PHONE_CC.get(m.group(1)) if m else None


def structure_address(parts: list[str]) -> str | None:
    """'street, postcode, city, CC' when a postcode line is found (the last one: a street number can look
    like a postcode); else the parts joined by ', '."""
    found = [(i, pc) for i, part in enumerate(parts) if (pc := postcode_line(part))]
    if not found:
        joined = ", ".join(p.strip() for p in parts if p.strip())
        return joined or None
    i, (postcode, city, cc) = found[-1]
    if i + 1 < len(parts):
        cc = country_name(parts[i + 1]) or cc
    out = [p.strip().rstrip(",") for p in parts[:i] if p.strip()] + [postcode, city]
    if cc:
        out.append(cc)
    return ", ".join(s for s in out if s)


def with_country(address: str, cc: str | None) -> str:
    """`address` with the country appended when it is structured, ends at the city and `cc` is known."""
    if not cc or not _ENDS_AT_CITY.search(address):
        return address
    return f"{address}, {cc}"


_ENDS_AT_CITY = re.compile(r", [A-Z0-9]{2,5}(?: ?[A-Z0-9]{2,4})?, [^,\d]+$")


# Street words and the country a street so named implies with a postcode of 5 or of 4 digits (shapes that
# several countries share): postal formats, not names.  'rue ..' + 12345 is French, + 1234 Belgian;
# '..straße' + 12345 German, + 1234 Austrian; '..straat' + 1234 Belgian.  Words that other languages use
# too ('avenue', 'place', '..weg') count only on a paper in the street's language.
_STREET_LANGS: tuple[tuple[re.Pattern[str], str | None, str | None, str | None], ...] = tuple(
    (re.compile(rx, re.IGNORECASE), lang, five, four) for rx, lang, five, four in (
        (r"\b(?:rue|boulevard|bd|chemin|allée|impasse|quai|faubourg)\b", None, "FR", "BE"),
        (r"\b(?:avenue|place|route|cours|voie) (?:de|du|des|d')", None, "FR", "BE"),
        (r"\b(?:avenue|av\.|place|route|cours|voie)\b", "fr", "FR", "BE"),
        (r"(?:straße|strasse|gasse|platz|damm|chaussee)\b|^(?:am|an der|im|auf dem|zum|zur) ", None, "DE", "AT"),
        (r"(?:str\.|weg|allee|ring|ufer|steig|hof)\b", "de", "DE", "AT"),
        (r"(?:straat|laan|plein|dreef|kaai|gracht|kade|singel|steenweg)\b", None, None, "BE"),
        (r"(?:weg|lei|baan)\b", "nl", None, "BE"),
    ))


def country_of_address(address: str, language: str = "") -> str | None:
    """The country a structured address 'street, postcode, city' implies by its postcode's shape, or by
    its street's words together with a postcode of 5 or 4 digits (`language`: the paper's; "*" lets
    every street word count)."""
    parts = [p.strip() for p in address.split(",")]
    if len(parts) < 3:
        return None
    postcode, street = parts[-2], " ".join(parts[:-2])
    shape = postcode_country(postcode)
    if shape:
        return shape
    digits = len(postcode) if postcode.isdigit() else 0
    for rx, lang, five, four in _STREET_LANGS:
        if (lang is None or lang == language or language == "*") and rx.search(street):
            return five if digits == 5 else four if digits == 4 else None
    return None


# Postcode lengths of the countries whose postcodes are plain digits.
_DIGITS = {"DE": 5, "FR": 5, "IT": 5, "ES": 5, "US": 5, "FI": 5, "AT": 4, "BE": 4, "CH": 4, "DK": 4, "LU": 4,
           "NO": 4}


def postcode_fits(address: str, cc: str) -> bool:
    """False when the address's postcode cannot be one of `cc` (5 digits for Austria, 4 for France)."""
    parts = [p.strip() for p in address.split(",")]
    if len(parts) < 3 or not parts[-2].isdigit():
        return True
    if cc in ("GB", "IE", "NL", "PL"):
        return False   # their postcodes hold letters or a hyphen, never digits alone
    return cc not in _DIGITS or len(parts[-2]) == _DIGITS[cc]
