"""The review screen's desk routes (issue 17): upload from the browser, the original's bytes, the queue's
posted receipts as a Kingdee or Yonyou sheet.

    POST /review/upload                      one file per request (multipart `file`, form token `csrf`), so that
                                             the page shows each file's progress; the same intake as the API's
                                             POST /api/v1/documents (pipeline.intake.receive, source "upload",
                                             the same size limit); JSON {"id", "status", "duplicate", "url",
                                             "message"} (201 new, 200 already received, 4xx with "message")
    GET  /review/documents/{id}/file         the original as received, byte for byte, as an attachment
    GET  /review/export.xlsx?fmt=kingdee|yonyou&status=&q=
                                             the posted receipts (and reversals) of the documents the queue
                                             lists with these filters, as models.exports writes them
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from decimal import Decimal
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import select

from extractors.errors import InputError
from models.documents import get_document
from models.errors import NotFound
from models.exports import KINGDEE, YONYOU, kingdee_row, posted_lines, yonyou_row
from models.tables import Document, Posting
from models.tabular import write_xlsx
from pipeline.intake import receive
from review_ui import views
from review_ui.i18n import texts
from review_ui.issue_texts import error_message
from review_ui.session import BadCsrf, check_csrf, read_session

router = APIRouter(include_in_schema=False)
CHUNK = 1 << 20
# the multipart envelope around the file (boundaries, headers, the form token): what a request may carry above
# the file size limit
ENVELOPE = 64 * 1024
SHEETS = {"kingdee": (KINGDEE, kingdee_row), "yonyou": (YONYOU, yonyou_row)}


def _answer(payload: dict, status: int) -> JSONResponse:
    return JSONResponse(payload, status_code=status, headers={"Cache-Control": "no-store",
                                                              "X-Content-Type-Options": "nosniff"})


# -- upload -----------------------------------------------------------------------------------------------

@router.post("/review/upload")
async def upload(request: Request):
    """One file from the browser's drop zone or file picker into the intake."""
    user = read_session(request)
    if user is None:
        return _answer({"message": "Not signed in."}, 401)
    t = texts(user.lang)
    services = request.app.state.services
    limit = services.settings.max_upload_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + ENVELOPE:
        return _answer({"message": t["upload_too_large"].format(mb=f"{limit / 2**20:g}")}, 413)
    form = await request.form()
    try:
        check_csrf(user, form.get("csrf"))
    except BadCsrf:
        return _answer({"message": t["upload_bad_token"]}, 403)
    file = form.get("file")
    if file is None or isinstance(file, str):
        return _answer({"message": t["upload_no_file"]}, 400)
    name = file.filename or "upload"
    parts, size = [], 0
    while chunk := await file.read(CHUNK):
        size += len(chunk)
        if size > limit:
            return _answer({"message": t["upload_too_large"].format(mb=f"{limit / 2**20:g}"), "filename": name}, 413)
        parts.append(chunk)
    try:
        received = await run_in_threadpool(receive, services, b"".join(parts), filename=name, source="upload",
                                           who=user.name, mime=file.content_type or None)
    except InputError as exc:
        message = t["upload_empty"] if exc.code == "empty_file" else error_message(exc.code, str(exc), user.lang)
        return _answer({"message": message, "filename": name}, 413 if exc.code == "too_large" else 422)
    url = f"/review/documents/{received.document_id}"
    if not received.duplicate:
        return _answer({"id": received.document_id, "status": received.status, "duplicate": False, "url": url,
                        "filename": name, "message": t["upload_received"].format(id=received.document_id)}, 201)
    with services.factory() as session:
        first = session.get(Document, received.document_id)
        first_name = first.filename if first is not None else ""
    return _answer({"id": received.document_id, "status": received.status, "duplicate": True, "url": url,
                    "filename": name, "first_filename": first_name,
                    "message": t["upload_duplicate"].format(id=received.document_id, name=first_name)}, 200)


# -- the original -----------------------------------------------------------------------------------------

_UNSAFE = re.compile(r'[\x00-\x1f\x7f"\\/:*?<>|;]+')


def safe_filename(name: str, fallback: str) -> str:
    """The file name as the browser should save it: no folders, no control characters or characters a file
    system or the header refuses, not hidden, at most 180 characters; `fallback` when nothing is left."""
    base = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE.sub("_", base).strip(" ._")
    return base[:180] or fallback


def content_disposition(name: str) -> str:
    """attachment; an ASCII filename= for old clients and filename*= (RFC 6266 / 5987, UTF-8) for the rest,
    so 送货单.pdf is saved as 送货单.pdf."""
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_")
    if ascii_name == name:
        return f'attachment; filename="{name}"'
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


@router.get("/review/documents/{document_id}/file")
def original(request: Request, document_id: int):
    """The original as received (the bytes the blob store keeps), saved under its file name."""
    user = read_session(request)
    if user is None:
        return RedirectResponse("/review/login", status_code=303)
    services = request.app.state.services
    with services.factory() as session:
        try:
            document = get_document(session, document_id)
        except NotFound:
            return Response(status_code=404)
        sha, mime, filename = document.sha256, document.mime, document.filename
    data = services.blobs.get(sha)
    name = safe_filename(filename, f"document-{document_id}")
    return Response(data, media_type=mime or "application/octet-stream",
                    headers={"Content-Disposition": content_disposition(name), "X-Content-SHA256": sha,
                             "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})


# -- export -----------------------------------------------------------------------------------------------

def export_sheet(session, *, fmt: str, statuses: tuple[str, ...], search: str) -> tuple[bytes, int]:
    """The XLSX of the receipt and reversal postings of the documents these filters list, and its row count."""
    header, to_row = SHEETS[fmt]
    documents = select(Document.id).where(views.queue_filter(statuses=statuses, search=search))
    postings = set(session.scalars(select(Posting.id).where(Posting.document_id.in_(documents))))
    lines = [line for line in posted_lines(session) if line.posting_id in postings] if postings else []
    rows = [[_plain(cell) for cell in to_row(line)] for line in lines]
    return write_xlsx(header, rows, title="采购入库单"), len(rows)


def _plain(cell: object) -> object:
    return cell.normalize() if isinstance(cell, Decimal) else cell


@router.get("/review/export.xlsx")
def export(request: Request, fmt: str = "kingdee", status: str = "", q: str = ""):
    """The posted receipts of the queue as filtered, as the ERP's import sheet."""
    user = read_session(request)
    if user is None:
        return RedirectResponse("/review/login", status_code=303)
    t = texts(user.lang)
    status = status if status in views.ALL_STATUSES else ""
    if fmt not in SHEETS:
        return Response(status_code=404)
    statuses = (status,) if status else views.REVIEW_STATUSES
    with request.app.state.services.factory() as session:
        data, count = export_sheet(session, fmt=fmt, statuses=statuses, search=q)
    if not count:
        back = {"m": t["export_nothing"], **({"status": status} if status else {}), **({"q": q} if q else {})}
        return RedirectResponse(f"/review/queue?{urlencode(back)}", status_code=303)
    stamp = datetime.now().strftime("%Y%m%d-%H%M")
    name = f"{'kingdee' if fmt == 'kingdee' else 'yonyou'}-receipts-{stamp}.xlsx"
    return Response(data, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": content_disposition(name), "Cache-Control": "private, no-store",
                             "X-Content-Type-Options": "nosniff", "X-Rows": str(count)})
