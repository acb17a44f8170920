"""Party names and addresses (see `parties` for the zones and ids they build on)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from extractors.layout import BBox, Line, Page, merge_bboxes
from extractors.address import country_name, postcode_line, structure_address
from extractors.parties import LEGAL_FORMS, NOT_ADDRESS, Zone, zone_of
from extractors.result import Field

_NAME_LABEL = re.compile(r"(?i)^(?:name|firma|company|raison sociale|nazwa|naam|bedrijfsnaam)\s*:?\s*")
_SENDER_SPLIT = re.compile(r"\s*(?:●|•|·|\||–| - |, )\s*")


@dataclass(frozen=True, slots=True)
class NameHit:
    role: str
    text: str
    page: int
    line: Line
    box: BBox
    score: float


def _lines_in_zone(page: Page, zone: Zone) -> list[Line]:
    return [ln for ln in page.lines if zone_of([zone], page.number, ln.bbox) is zone]


def _name_like(text: str) -> bool:
    letters = sum(ch.isalpha() for ch in text)
    digits = sum(ch.isdigit() for ch in text)
    return letters >= 2 and digits <= letters / 3 and not NOT_ADDRESS.search(text) \
        and postcode_line(text) is None


def _zone_name(page: Page, zone: Zone, all_lines: list[Line]) -> NameHit | None:
    lines = _lines_in_zone(page, zone)
    for ln in lines:
        m = _NAME_LABEL.match(ln.text)
        if m:
            value_line = ln if len(ln.text) > m.end() else _right_of(all_lines, ln)
            if value_line is not None:
                text = value_line.text[m.end():] if value_line is ln else value_line.text
                return NameHit(zone.role, text.strip(), page.number, value_line, value_line.bbox, 0.9)
    for ln in lines[1:]:
        if _name_like(ln.text) and ln.bbox.x0 < zone.box.x0 + 60:
            return NameHit(zone.role, ln.text.strip(), page.number, ln, ln.bbox, 0.75)
    return None


def _right_of(lines: list[Line], line: Line) -> Line | None:
    cands = [o for o in lines if o is not line and o.bbox.x0 >= line.bbox.x1 - 1 and o.bbox.y_overlap(line.bbox) > 0.5]
    return min(cands, key=lambda o: o.bbox.x0) if cands else None


def sender_line(page: Page) -> tuple[Line, list[str]] | None:
    """A one-line sender address above an address window: 'Name ● Street ● 12345 City'."""
    for ln in page.lines:
        parts = [p for p in _SENDER_SPLIT.split(ln.text) if p]
        if len(parts) >= 3 and any(postcode_line(p) for p in parts[1:]) and ln.bbox.y0 < page.height * 0.45:
            return ln, parts
    return None


def _legal_form_names(pages: tuple[Page, ...], zones: list[Zone]) -> list[NameHit]:
    hits = []
    for page in pages:
        for ln in page.lines:
            m = LEGAL_FORMS.search(ln.text)
            if not m:
                continue
            z = zone_of(zones, page.number, ln.bbox)
            if z is not None and z.role == "buyer":
                continue
            segment = _segment_with(ln.text, m.start())
            top = 1.0 - ln.bbox.y0 / max(page.height, 1)
            score = 0.45 + 0.2 * top + (0.1 if page.number == 1 else 0.0) + (0.15 if z and z.role == "seller" else 0)
            hits.append(NameHit("seller", segment, page.number, ln, ln.bbox, score))
    return hits


def _segment_with(text: str, pos: int) -> str:
    """The separator-delimited segment of `text` around `pos`, without a leading 'Label:'."""
    start, end = 0, len(text)
    for m in _SENDER_SPLIT.finditer(text):
        if m.end() <= pos:
            start = m.end()
        elif m.start() > pos:
            end = m.start()
            break
    segment = text[start:end]
    if ":" in segment[:pos - start]:
        segment = segment[segment.rindex(":", 0, pos - start) + 1:]
    return segment.strip(" ,;")


def _repeat_bonus(hits: list[NameHit]) -> list[NameHit]:
    counts: dict[str, int] = {}
    for h in hits:
        counts[h.text.casefold()] = counts.get(h.text.casefold(), 0) + 1
    return [NameHit(h.role, h.text, h.page, h.line, h.box, h.score + 0.08 * (counts[h.text.casefold()] - 1))
            for h in hits]


def find_names(pages: tuple[Page, ...], zones: list[Zone]) -> dict[str, NameHit]:
    """The best supplier and buyer name hits."""
    out: dict[str, NameHit] = {}
    for page in pages:
        lines = list(page.lines)
        for zone in (z for z in zones if z.page == page.number):
            hit = _zone_name(page, zone, lines)
            key = f"{zone.role}"
            if hit and (key not in out or hit.score > out[key].score):
                out[key] = hit
    if "seller" not in out:
        legal = _repeat_bonus(_legal_form_names(pages, zones))
        if legal:
            out["seller"] = max(legal, key=lambda h: h.score)
    if "seller" not in out and pages:
        block = _letterhead_block(pages[0], zones)
        if block is not None:
            out["seller"] = block
    if pages and ("seller" not in out or "buyer" not in out):
        sender = sender_line(pages[0])
        if sender is not None:
            ln, parts = sender
            out.setdefault("seller", NameHit("seller", parts[0], 1, ln, ln.bbox, 0.6))
            below = _window_below(pages[0], ln)
            if below is not None and "buyer" not in out:
                out["buyer"] = NameHit("buyer", below.text, 1, below, below.bbox, 0.6)
    return out


def _letterhead_block(page: Page, zones: list[Zone]) -> NameHit | None:
    """The top-most name line that heads an address block (street, postcode line) outside buyer zones."""
    for ln in sorted(page.lines, key=lambda o: o.bbox.y0):
        if ln.bbox.y0 > page.height * 0.4:
            break
        z = zone_of(zones, page.number, ln.bbox)
        if (z is not None and z.role == "buyer") or not _name_like(ln.text) or len(ln.text) > 60:
            continue
        address = address_after(page, ln)
        if address is not None and isinstance(address.value, str) and address.value.count(",") >= 2:
            return NameHit("seller", ln.text.strip(), page.number, ln, ln.bbox, 0.5)
    return None


def _window_below(page: Page, line: Line) -> Line | None:
    cands = [o for o in page.lines if o.bbox.y0 > line.bbox.y1 - 1 and o.bbox.y0 - line.bbox.y1 < 40
             and abs(o.bbox.x0 - line.bbox.x0) < 45 and _name_like(o.text)]
    return min(cands, key=lambda o: o.bbox.y0) if cands else None


def sender_address(pages: tuple[Page, ...]) -> Field | None:
    """The seller's address from a one-line sender line, structured."""
    if not pages:
        return None
    sender = sender_line(pages[0])
    if sender is None:
        return None
    ln, parts = sender
    value = structure_address(parts[1:])
    return Field(value, ln.text, 0.7, 1, ln.bbox) if value else None


def address_after(page: Page, name_line: Line, *, receipt: bool = False) -> Field | None:
    """The address printed under a name line, in its column."""
    picked: list[Line] = []
    prev = name_line
    for ln in sorted(page.lines, key=lambda o: o.bbox.y0):
        b = ln.bbox
        if b.y0 <= prev.bbox.y0 + 0.5 or abs(b.x0 - name_line.bbox.x0) > (60 if receipt else 14):
            continue
        if b.y0 - prev.bbox.y1 > (1.9 if receipt else 3.2) * max(prev.bbox.height, 6):
            break
        if not receipt and _has_other_label(page, ln):
            prev = ln
            continue
        if NOT_ADDRESS.search(ln.text) or (receipt and re.match(r"^\(?[\w-]*\d[\w-]*\)?$", ln.text)):
            if picked or not receipt:
                break
            prev = ln
            continue
        picked.append(ln)
        prev = ln
        if _is_postcode(ln.text) and not receipt:
            nxt = _next_in_column(page, ln)
            if nxt is not None and _is_postcode(nxt.text):
                continue  # '4557 De Silva St' looks like a postcode line; the real one follows
            if nxt is not None and country_name(nxt.text):
                picked.append(nxt)
            break
        if len(picked) >= (4 if receipt else 5):
            break
    if not picked:
        return None
    texts = [ln.text for ln in picked]
    value = " ".join(texts) if receipt else structure_address(texts)
    box = merge_bboxes(ln.bbox for ln in picked)
    return Field(value, "\n".join(texts), 0.7, page.number, box) if value else None


_ADDRESS_LABEL = re.compile(r"(?i)anschrift|adresse|address|straße|strasse|street|rue|adres|ulica|siedziba")


def _has_other_label(page: Page, line: Line) -> bool:
    """True when a label that is not an address label stands left of `line` on its row."""
    for other in page.lines:
        ob = other.bbox
        if other is not line and ob.x1 < line.bbox.x0 and ob.y_overlap(line.bbox) > 0.5 \
                and line.bbox.x0 - ob.x1 < 200 and other.text.rstrip().endswith(":"):
            return not _ADDRESS_LABEL.search(other.text)
    return False


def segments_address(line: Line, name: str) -> str | None:
    """The address in the rest of a one-line letterhead: 'Name SARL - street - 12345 City - France'."""
    parts = [p for p in _SENDER_SPLIT.split(line.text) if p]
    if len(parts) < 3 or not parts[0].startswith(name[:8]):
        return None
    if not any(postcode_line(p) for p in parts[1:]):
        return None
    return structure_address(parts[1:])


def _next_in_column(page: Page, line: Line) -> Line | None:
    cands = [o for o in page.lines if o.bbox.y0 > line.bbox.y1 - 1 and o.bbox.y0 - line.bbox.y1 < 1.9 * line.bbox.height
             and abs(o.bbox.x0 - line.bbox.x0) < 14]
    return min(cands, key=lambda o: o.bbox.y0) if cands else None




def _is_postcode(text: str) -> bool:
    return postcode_line(text) is not None
