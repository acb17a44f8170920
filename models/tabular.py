"""Tables in files: read a CSV (UTF-8, with or without BOM) or XLSX into rows, write rows back as either.

Headers are matched case-insensitively with surrounding spaces dropped; rows are numbered as a spreadsheet
shows them (the header is row 1), and wholly empty rows are skipped.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from models.errors import MasterImportError

XLSX_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True, slots=True)
class Sheet:
    header: tuple[str, ...]                        # normalised: stripped, lower case
    rows: tuple[tuple[int, dict[str, str]], ...]   # (spreadsheet row number, {header: text})


def read_sheet(data: bytes) -> Sheet:
    """The header and rows of a CSV or XLSX file (told apart by content, not by name)."""
    if data.startswith(XLSX_MAGIC):
        return _from_matrix(_xlsx_rows(data))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MasterImportError("The file is neither UTF-8 CSV nor XLSX; save it as CSV UTF-8 and try again.",
                                report=None, detail=str(exc)) from exc
    return _from_matrix(list(csv.reader(io.StringIO(text))))


def _xlsx_rows(data: bytes) -> list[list[str]]:
    from openpyxl import load_workbook
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise MasterImportError("The XLSX file could not be opened; is it damaged?", report=None,
                                detail=f"{type(exc).__name__}: {exc}") from exc
    try:
        sheet = book.worksheets[0]
        return [[_cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return format(Decimal(repr(value)).normalize(), "f")  # the shortest text of the float, not its binary
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _from_matrix(matrix: list[list[str]]) -> Sheet:
    while matrix and not any(c.strip() for c in matrix[0]):
        matrix = matrix[1:]
    if not matrix:
        return Sheet((), ())
    header = tuple(c.strip().lower() for c in matrix[0])
    rows = []
    for number, cells in enumerate(matrix[1:], start=2):
        if not any(c.strip() for c in cells):
            continue
        rows.append((number, {h: (cells[i].strip() if i < len(cells) else "") for i, h in enumerate(header) if h}))
    return Sheet(header, tuple(rows))


def cell_str(value: object) -> str:
    """A cell as text: decimals plain ("12.5"), dates ISO, None empty."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f")
        return "0" if text == "-0" else text
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def write_csv(header: list[str], rows: list[list[object]]) -> bytes:
    """UTF-8 with a BOM, so that Excel opens Chinese text correctly."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([cell_str(c) for c in row] for row in rows)
    return out.getvalue().encode("utf-8-sig")


def write_xlsx(header: list[str], rows: list[list[object]], *, title: str = "Sheet1") -> bytes:
    """Numbers stay numbers (Decimal cells), dates ISO text, the rest text."""
    from openpyxl import Workbook
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31])
    sheet.append(header)
    for row in rows:
        sheet.append([c if isinstance(c, (Decimal, int)) and not isinstance(c, bool) else cell_str(c) for c in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
