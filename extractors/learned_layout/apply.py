"""Applying: where a rule's value is on another document of the supplier (`find`), and an extraction with every
value the supplier's rules find (`apply_rules`)."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Sequence

from rapidfuzz import fuzz

from extractors.layout import BBox, Layout, Page, merge_bboxes
from extractors.result import Extraction, Field, FieldValue, Issue, LineItem, Severity, field_kind
from extractors.learned_layout.anchors import anchor_distance, anchor_hits, expected_anchor
from extractors.learned_layout.rules import (
    ANCHORED_CONFIDENCE, AppliedRule, coerce_shape, compact, CONSTANT_CONFIDENCE, EXACT_METHODS, LEARNED, MAX_SPAN,
    Rule, ZONE_CONFIDENCE,
)
from extractors.learned_layout.spans import (
    by_rows, candidate_spans, distance, received, row_height, rows_below, Span, text_spans, value_of, zone_box,
)
from extractors.learned_layout.teach import page_box, row_band


log = logging.getLogger("inbound.learned_layout")


def _pages_for(layout: Layout, rule: Rule) -> list[Page]:
    if not layout.pages:
        return []
    want = layout.pages[-1] if rule.page == -1 else next((p for p in layout.pages if p.number == rule.page), None)
    others = [p for p in layout.pages if p is not want]
    return ([want] if want is not None else []) + others


def _fits(rule: Rule, span: Span) -> FieldValue:
    """The span's value when it is what the rule looks for (parses in the field's kind, in the learned format)."""
    text = span.text
    if not text:
        return None
    if rule.shape:
        text = coerce_shape(text, rule.shape, rule.pattern)
        if text is None:
            return None
    value = value_of(rule.field, text, date_order=rule.date_order)
    if value is None or (rule.anchor and compact(text) == rule.anchor):
        return None
    return value


def _after_anchor(page: Page, rule: Rule, hit: tuple[int, int, int, str]) -> tuple[Span, FieldValue] | None:
    row, first, last, prefix = hit
    line = page.lines[row]
    if prefix:
        span = Span(page, row, (line.words[first],), prefix=prefix)
        value = _fits(rule, span)
        if value is not None:
            return span, value
        spans = [Span(page, row, line.words[first:end], prefix=prefix)
                 for end in range(first + 2, min(len(line.words), first + rule.words + 3) + 1)]
        return next(((s, v) for s in spans if (v := _fits(rule, s)) is not None), None)
    if rule.side in ("left", "inline", ""):
        after = list(range(last + 1, len(line.words)))
        want_x = line.words[last].bbox.x1 + rule.offset[0]
        # the value learned at this distance from its label first ('合计 ¥35107.72 ¥3159.70': the second is the tax)
        for start in sorted(after, key=lambda i: abs(line.words[i].bbox.x0 - want_x))[:3]:
            found = _best_run(page, row, start, rule)
            if found is not None:
                return found
    anchor_box = merge_bboxes(w.bbox for w in line.words[first:last + 1])
    height = row_height(line)
    for r in range(row + 1, min(len(page.lines), row + 4)):
        below = page.lines[r]
        if below.bbox.y0 - anchor_box.y1 > 3 * height:
            break
        want_x = anchor_box.x0 + (rule.offset[0] if rule.side == "above" else 0.0)
        for i, w in enumerate(below.words):
            if abs(w.bbox.x0 - want_x) <= 2 * height or (w.bbox.x0 <= want_x <= w.bbox.x1):
                found = _best_run(page, r, i, rule)
                if found is not None:
                    return found
                break
    return None


def _best_run(page: Page, row: int, start: int, rule: Rule) -> tuple[Span, FieldValue] | None:
    """The run from word `start` that the rule takes: as many words as learned when they fit, else the shortest run
    that fits (never across a wide gap); a value learned over several lines runs on below."""
    ws = page.lines[row].words
    height = row_height(page.lines[row])
    end = start + 1
    while end < len(ws) and end - start < MAX_SPAN and ws[end].bbox.x0 - ws[end - 1].bbox.x1 <= 2.5 * height:
        end += 1
    runs = [Span(page, row, ws[start:k]) for k in range(start + 1, end + 1)]
    if rule.lines > 1 and runs:
        runs = [_run_down(page, row, runs[-1], rule.lines)] + runs
    kind = field_kind(rule.field.removeprefix("line."))
    if kind == "decimal" or (kind == "text" and not rule.shape and rule.field != "currency"):
        preferred = runs[::-1]                 # free text (a name, terms), '€ 1 110,62': up to the next wide gap
    else:
        preferred = runs
    return next(((s, v) for s in preferred if (v := _fits(rule, s)) is not None), None)


def _run_down(page: Page, row: int, span: Span, lines: int) -> Span:
    words, rows, r = list(span.words), 1, row
    while rows < lines:
        below = next(iter(rows_below(page, r, words[0].bbox.x0, page.lines[r].bbox.y1, row_height(page.lines[r]))), None)
        if below is None:
            break
        r, i = below
        ws = page.lines[r].words
        end = i + 1
        while end < len(ws) and ws[end].bbox.x0 - ws[end - 1].bbox.x1 <= 2.5 * row_height(page.lines[r]):
            end += 1
        words += ws[i:end]
        rows += 1
    return Span(page, row, tuple(words), rows=rows)


def _by_zone(page: Page, rule: Rule) -> tuple[Span, FieldValue] | None:
    zone = zone_box(rule, page)
    pad_x, pad_y = 0.06 * page.width, max(zone.height, 10.0) * 1.5
    best = None
    for r, line in enumerate(page.lines):
        if line.bbox.y1 < zone.y0 - pad_y or line.bbox.y0 > zone.y1 + pad_y:
            continue
        for i, w in enumerate(line.words):
            if w.bbox.x1 < zone.x0 - pad_x or w.bbox.x0 > zone.x1 + pad_x:
                continue
            found = _best_run(page, r, i, rule)
            if found is not None:
                d = distance(found[0].box, zone)
                if best is None or d < best[0]:
                    best = (d, found)
    return best[1] if best else None


def _by_constant(layout: Layout, rule: Rule) -> tuple[Span, FieldValue] | None:
    """The supplier's own text where it is printed, exactly or with an OCR slip or two (the taught text is given)."""
    target = compact(rule.constant)
    spans = text_spans(layout, target)
    if spans:
        return min(spans, key=lambda s: distance(s.box, zone_box(rule, s.page))), rule.constant
    for page in _pages_for(layout, rule)[:1]:
        zone = zone_box(rule, page)
        best = None
        for r, line in enumerate(page.lines):
            if abs(line.bbox.cy - zone.cy) > max(3 * zone.height, 30):
                continue
            for i in range(len(line.words)):
                for span in candidate_spans(page, r, i, max(1, rule.words + 1)):
                    score = fuzz.ratio(compact(span.text), target)
                    if score >= 88 and (best is None or score > best[0]):
                        best = (score, span)
        if best is not None:
            return best[1], rule.constant
    return None


def find(layout: Layout, rule: Rule) -> tuple[Span, FieldValue, float] | None:
    """Where the rule's value is on this document, its typed value and how sure: label first, then the zone."""
    layout = by_rows(layout)
    if rule.constant:
        found = _by_constant(layout, rule)
        return (*found, CONSTANT_CONFIDENCE) if found else None
    for page in _pages_for(layout, rule):
        if rule.anchor:
            hits = anchor_hits(page, rule.anchor, glued=rule.side == "inline")
            expected = expected_anchor(rule, page)
            hits.sort(key=lambda h: anchor_distance(page, rule, h, expected))
            for hit in hits:
                found = _after_anchor(page, rule, hit)
                if found is not None:
                    return (*found, ANCHORED_CONFIDENCE)
    pages = _pages_for(layout, rule)
    if pages and field_kind(rule.field.removeprefix("line.")) != "decimal":   # amounts move with the table's length
        found = _by_zone(pages[0], rule)
        if found is not None:
            return (*found, ZONE_CONFIDENCE)
    return None


def _field(span: Span, value: FieldValue, confidence: float) -> Field:
    return Field(value, span.text, confidence, span.page.number, received(span.page, span.box), method=LEARNED)


def _read_near(read: Field, rule: Rule, layout: Layout) -> bool:
    """Whether a value was read where the rule's removed one stood (its centre within 5 % of the page of it)."""
    page = next((p for p in layout.pages if p.number == read.page), None)
    if read.bbox is None or page is None:
        return False
    width, height = page.width, page.height
    if page.frame is not None:
        width, height = (v * page.frame.points_per_pixel for v in page.frame.received_px)
    x, y = read.bbox.cx / width, read.bbox.cy / height
    x0, y0, x1, y1 = rule.zone
    return x0 - 0.05 <= x <= x1 + 0.05 and y0 - 0.05 <= y <= y1 + 0.05


def _missed(rule_id: str, name: str) -> Issue:
    return Issue("learned_layout_missed", Severity.INFO,
                 f"Where this supplier printed {name.replace('_', ' ')} before (learned rule {rule_id}) was not found "
                 "on this document; the generic reader's value is shown.", field=name)


def apply_rules(extraction: Extraction, layout: Layout, rules: Sequence[AppliedRule]) -> Extraction:
    """The extraction with every value the supplier's learned rules find (see the module docstring)."""
    layout = by_rows(layout)
    fields = dict(extraction.fields)
    issues = list(extraction.issues)
    header = [r for r in rules if not r.rule.field.startswith("line.")]
    cells = [r for r in rules if r.rule.field.startswith("line.")]
    for applied in header:
        rule, name = applied.rule, applied.rule.field
        if not rule.on_page() or (rule.page > len(layout.pages)):
            log.warning("learned rule %s points outside the page; ignored", applied.fact_id,
                        extra={"fact_id": applied.fact_id, "field": name})
            continue
        before = fields.get(name)
        if before is not None and before.method in EXACT_METHODS:
            continue
        if rule.absent:
            if before is not None and _read_near(before, rule, layout):
                del fields[name]
            continue
        if not rule.printed:
            fields[name] = Field(rule.constant, "", CONSTANT_CONFIDENCE * 0.92, method=LEARNED,
                                 fact_id=applied.fact_id)
            continue
        found = find(layout, rule)
        if found is None:
            issues.append(_missed(applied.fact_id, name))
            continue
        span, value, confidence = found
        fields[name] = replace(_field(span, value, confidence), fact_id=applied.fact_id)
    lines = _apply_cells(extraction.lines, layout, cells, issues) if cells else extraction.lines
    if fields == dict(extraction.fields) and issues == list(extraction.issues) and lines is extraction.lines:
        return extraction
    return replace(extraction, fields=fields, issues=tuple(issues), lines=tuple(lines))


def _column_on(page: Page, rule: Rule, top: float) -> tuple[float, float]:
    """The column's x-range on this page: under its title where the title is printed above the items, else where
    it was learned."""
    if rule.column:
        for line in reversed([ln for ln in page.lines if ln.bbox.y1 <= top + 1]):
            if top - line.bbox.y1 > 80:
                break
            ws = line.words
            for i in range(len(ws)):
                got, k = "", i
                while k < len(ws) and len(got) < len(rule.column):
                    got += compact(ws[k].text)
                    k += 1
                if got == rule.column:
                    box = merge_bboxes(w.bbox for w in ws[i:k])
                    width = (rule.column_span[1] - rule.column_span[0]) * page.width
                    centre = box.cx
                    return centre - max(width, box.width) / 2 - 4, centre + max(width, box.width) / 2 + 4
    x0, x1 = rule.column_span
    return x0 * page.width - 4, x1 * page.width + 4


def _apply_cells(lines: Sequence[LineItem], layout: Layout, cells: Sequence[AppliedRule],
                 issues: list[Issue]) -> list[LineItem]:
    bands = {li.line_no: row_band(li) for li in lines}
    out = []
    for line in lines:
        band = bands[line.line_no]
        page = next((p for p in layout.pages if band and p.number == band[0]), None)
        if page is None:
            out.append(line)
            continue
        fields = dict(line.fields)
        tops = [b[1] for b in bands.values() if b is not None and b[0] == band[0]]
        top = page_box(page, BBox(0, min(tops), 1, min(tops) + 1)).y0
        probe = page_box(page, BBox(0, band[1], page.width, band[2]))
        for applied in cells:
            rule = applied.rule
            cell = rule.field.removeprefix("line.")
            before = fields.get(cell)
            if before is not None and before.method in EXACT_METHODS:
                continue
            x0, x1 = _column_on(page, rule, top)
            found = None
            for r, ln in enumerate(page.lines):
                if ln.bbox.y1 < probe.y0 - 2 or ln.bbox.y0 > probe.y1 + 2:
                    continue
                if field_kind(cell) == "text":      # a longer text than the taught one runs on to the right
                    inside = [i for i, w in enumerate(ln.words) if x0 <= w.bbox.x0 <= x1]
                    while inside and inside[-1] + 1 < len(ln.words) and \
                            ln.words[inside[-1] + 1].bbox.x0 - ln.words[inside[-1]].bbox.x1 < row_height(ln):
                        inside.append(inside[-1] + 1)
                else:
                    inside = [i for i, w in enumerate(ln.words) if x0 <= w.bbox.cx <= x1]
                if inside:
                    span = Span(page, r, tuple(ln.words[inside[0]:inside[-1] + 1]))
                    value = value_of(rule.field, span.text)
                    if value is not None:
                        found = (span, value)
                        break
            if found is not None:
                fields[cell] = replace(_field(found[0], found[1], ANCHORED_CONFIDENCE), fact_id=applied.fact_id)
        out.append(replace(line, fields=fields) if fields != dict(line.fields) else line)
    return out
