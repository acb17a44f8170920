"""What people changed on a document, for the approver (and anyone opening it later): every correction as
before -> after with who and when (in the desk's time zone), and the amounts that follow from the changed values.

The history rows come from models.documents (one per changed value, never edited).  Rows that change no value
(what a correction taught: `learned.*`) and status changes are left out: the approver reads what the clerk
changed, not what the machine did with it.  A line's amount is printed by the supplier; where a person changed
its quantity or unit price, the screen shows the amount those values make now beside the printed one, and the
lines' sum beside the printed net total, so an approver sees the money effect of a corrected quantity.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from models.documents import history
from models.tables import Document

CHANGED_PATHS = ("fields.", "lines.", "supplier_id")
CENT = Decimal("0.01")


def local_time(moment: datetime | str | None, zone) -> str:
    """ "2026-12-04 10:41" in the desk's zone ("" for none); stored times are UTC."""
    if moment is None or moment == "":
        return ""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def changes_view(session, document: Document, screen: dict, zone) -> dict:
    # zone: the desk's time zone (models.company.company_settings(session).zone)
    """{"rows": [{path, field, line_no, before, after, who, when}], "amounts": [{line_no, printed, now}],
    "lines_total": {printed, now} | None} for the document screen's "Changes" section."""
    rows = []
    changed_lines: set[int] = set()
    for change in history(session, document.id):
        if not change.path.startswith(CHANGED_PATHS):
            continue
        parts = change.path.split(".")
        line_no = int(parts[1]) if parts[0] == "lines" and len(parts) > 1 and parts[1].isdigit() else None
        key = parts[-1] if len(parts) > 2 or parts[0] == "fields" else ("whole_line" if line_no else parts[0])
        if line_no is not None and key in ("quantity", "unit_price"):
            changed_lines.add(line_no)
        rows.append({"path": change.path, "field": key,
                     "line_no": line_no, "before": _shown(change.before), "after": _shown(change.after),
                     "who": change.who, "when": local_time(change.at, zone)})
    amounts, total_now, total_printed, every_line = [], Decimal(0), Decimal(0), True
    for line in screen.get("lines") or ():
        now = _times(line.get("quantity"), line.get("unit_price"))
        printed = _number(line.get("amount"))
        if now is None:
            every_line = False
        else:
            total_now += now
        total_printed += printed if printed is not None else (now or Decimal(0))
        if line["no"] in changed_lines and now is not None:
            amounts.append({"line_no": line["no"], "printed": line.get("amount") or "", "now": _money(now)})
    lines_total = None
    if amounts and every_line:
        subtotal = next((f["value"] for f in screen.get("fields") or () if f["name"] == "subtotal"), "")
        lines_total = {"printed": subtotal or _money(total_printed), "now": _money(total_now)}
    return {"rows": rows, "amounts": amounts, "lines_total": lines_total}


def _shown(value: Any) -> str:
    """A history value as text: a contract Field shows its value; a whole line its description and quantity."""
    if value is None:
        return ""
    if isinstance(value, dict):
        if "value" in value:
            return _shown(value.get("value"))
        if "line_no" in value or "fields" in value:          # a whole line (added, removed or split off)
            cells = value.get("fields") or value
            return " ".join(_shown(cells.get(k)) for k in ("description", "quantity", "unit") if cells.get(k))
        return ", ".join(f"{k}: {_shown(v)}" for k, v in value.items() if v not in (None, ""))
    if isinstance(value, bool):
        return "✓" if value else "✗"
    return str(value)


def _number(text: Any) -> Decimal | None:
    try:
        number = Decimal(str(text).replace(",", "").strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _times(quantity: Any, price: Any) -> Decimal | None:
    q, p = _number(quantity), _number(price)
    return None if q is None or p is None else q * p


def _money(number: Decimal) -> str:
    return format(number.quantize(CENT), "f")
