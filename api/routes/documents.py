"""/api/v1/documents: upload, list, read, the original, corrections, confirm, reject, reprocess."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Header, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from sqlalchemy import func, select

from api.deps import Approver, Corrector, PageDep, Reader, ServicesDep, SessionDep, Uploader
from api.problems import Problem
from api.schemas import DocumentPatch, DocumentSupplierIn, LineProductIn, Reject
from models.db import transaction
from models.documents import display_filename, get_document
from models.tables import Document
from pipeline.intake import receive
from pipeline.processing import reprocess
from pipeline.review import (Corrections, confirm_document, correct_document, document_summary, document_view,
                             document_words, reject_document)
from pipeline.review_master import create_document_supplier, create_line_product

router = APIRouter(prefix="/api/v1/documents", tags=["documents"])
CHUNK = 1 << 20


async def _read_limited(upload: UploadFile, limit: int) -> bytes:
    parts, size = [], 0
    while chunk := await upload.read(CHUNK):
        size += len(chunk)
        if size > limit:
            raise Problem(413, f"{upload.filename or 'The file'} is larger than the limit of {limit / 2**20:g} MB.",
                          code="too_large")
        parts.append(chunk)
    return b"".join(parts)


@router.post("", status_code=202, responses={200: {"description": "the same bytes were received before"}})
async def upload_documents(services: ServicesDep, user: Uploader,
                           file: Annotated[list[UploadFile], File(description="one or more documents")]):
    """Store each file and queue it for reading: 202 {"id", "status", "sha256"}; bytes already known: 200 with
    the existing id and "duplicate": true.  Several `file` parts: {"items": [...], "total"}."""
    source = "upload" if user.user_id is not None else "api"
    results, total, request_limit = [], 0, services.settings.max_request_bytes
    for upload in file:                      # all files of one request together: at most max_request_mb
        total += upload.size or 0
    if total > request_limit:
        raise Problem(413, f"The files of one upload together are larger than the limit of "
                           f"{request_limit / 2**20:g} MB; send them in several uploads.", code="too_large")
    for upload in file:
        data = await _read_limited(upload, services.settings.max_upload_bytes)
        results.append(await run_in_threadpool(receive, services, data, filename=upload.filename or "upload",
                                               source=source, who=user.name, mime=upload.content_type))
    if len(results) == 1:
        return JSONResponse(results[0].to_json(), status_code=200 if results[0].duplicate else 202)
    status = 200 if all(r.duplicate for r in results) else 202
    return JSONResponse({"items": [r.to_json() for r in results], "total": len(results)}, status_code=status)


@router.get("")
def list_documents(session: SessionDep, user: Reader, paging: PageDep, status: str | None = None,
                   source: str | None = None, document_type: str | None = None, supplier_id: int | None = None):
    limit, offset = paging
    query = select(Document)
    for column, value in ((Document.status, status), (Document.source, source),
                          (Document.document_type, document_type), (Document.supplier_id, supplier_id)):
        if value is not None:
            query = query.where(column == value)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(query.order_by(Document.id.desc()).limit(limit).offset(offset))
    return {"items": [document_summary(d) for d in rows], "total": total}


@router.get("/{document_id}")
def read_document(document_id: int, session: SessionDep, user: Reader):
    """The document: status, the extraction in the contract's shape with supplier_match and each line's
    product_match (with candidates), issues, history and the pipeline runs with their stage timings."""
    # already plain JSON values: answered as they are, without a second encoding pass over the whole tree
    return JSONResponse(document_view(session, get_document(session, document_id)))


@router.get("/{document_id}/file")
def read_original(document_id: int, session: SessionDep, services: ServicesDep, user: Reader):
    document = get_document(session, document_id)
    data = services.blobs.get(document.sha256)
    # a name stored before names were cleaned may hold NUL or CR/LF: cleaned again, so the header is always valid
    name = display_filename(document.filename, f"document-{document_id}")
    ascii_name = name.encode("ascii", "replace").decode().replace('"', "_").replace("\\", "_")
    disposition = f'inline; filename="{ascii_name}"'
    if ascii_name != name:
        disposition += f"; filename*=UTF-8''{quote(name, safe='')}"
    return Response(data, media_type=document.mime or "application/octet-stream",
                    headers={"Content-Disposition": disposition, "X-Content-SHA256": document.sha256})


@router.get("/{document_id}/words")
def read_words(document_id: int, session: SessionDep, user: Reader):
    """The words as read, page by page, each with its box on the page as received (page points, origin top-left):
    what a reviewer picks a value from (PATCH `sources`)."""
    return JSONResponse(document_words(get_document(session, document_id)))


@router.patch("/{document_id}")
def correct(document_id: int, body: DocumentPatch, services: ServicesDep, user: Corrector):
    corrections = Corrections(fields=body.fields, supplier_id=body.supplier_id,
                              lines=tuple(line.model_dump(exclude_unset=True) for line in body.lines),
                              sources={path: source.model_dump() for path, source in body.sources.items()})
    with transaction(services.factory) as session:
        document = correct_document(session, document_id, corrections, who=user.name,
                                    master=services.master.get(session))
        return document_view(session, document)


@router.post("/{document_id}/lines/{line_no}/product", status_code=201)
def product_from_line(document_id: int, line_no: int, body: LineProductIn, services: ServicesDep, user: Corrector):
    """Create a product from a line (an unmatched one, typically) and its link to the document's supplier
    (supplier_products: the supplier's SKU or name as printed, the printed unit, the factor); the line then uses
    it.  Answers the document, with `product_id`."""
    with transaction(services.factory) as session:
        product_id = create_line_product(session, document_id, line_no, body.model_dump(exclude_none=True),
                                         who=user.name, master=services.master.get(session))
        return {**document_view(session, get_document(session, document_id)), "product_id": product_id}


@router.post("/{document_id}/supplier", status_code=201)
def supplier_from_document(document_id: int, body: DocumentSupplierIn, services: ServicesDep, user: Corrector):
    """Create the proposed new supplier (as read, or as edited) and make it the document's supplier, as a
    supplier correction does (PATCH `supplier_id` picks an existing one).  Answers the document, with
    `supplier_id`."""
    with transaction(services.factory) as session:
        supplier_id = create_document_supplier(session, document_id, body.model_dump(exclude_none=True),
                                               who=user.name, master=services.master.get(session))
        return {**document_view(session, get_document(session, document_id)), "supplier_id": supplier_id}


@router.post("/{document_id}/confirm")
def confirm(document_id: int, services: ServicesDep, user: Approver,
            idempotency_key: Annotated[str | None, Header()] = None):
    """Post the reviewed lines to the ledger; the same Idempotency-Key (or a second confirm) changes nothing and
    answers with the first posting (`created: false`)."""
    with transaction(services.factory) as session:
        result = confirm_document(session, document_id, who=user.name, approver=True,
                                  idempotency_key=idempotency_key, tolerance=services.settings.over_receipt_tolerance)
        status = get_document(session, document_id).status
    services.wake_webhooks()
    return {"id": document_id, "document_id": document_id, "status": status, "posting_id": result.posting_id,
            "created": result.created, "moves": result.move_count}


@router.post("/{document_id}/reject")
def reject(document_id: int, services: ServicesDep, user: Corrector, body: Reject | None = None):
    with transaction(services.factory) as session:
        document = reject_document(session, document_id, who=user.name, reason=body.reason if body else None)
        return document_view(session, document)


@router.post("/{document_id}/reprocess", status_code=202)
def read_again(document_id: int, services: ServicesDep, user: Corrector):
    run_id = reprocess(services, document_id, who=user.name)
    return {"id": document_id, "status": "processing", "run_id": run_id}
