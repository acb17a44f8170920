"""Request bodies (pydantic at the edge); answers are the plain JSON shapes of DESIGN.md built by to_json(), a few
also described here for the OpenAPI document (the layout model's versions)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field


class LineCorrection(BaseModel):
    """A line's FIELD: VALUE changes by line_no; or `{"add": true, FIELD: VALUE, "product_id", "uom_factor"}` (a new
    line, the next line_no), `{"line_no", "delete": true}`, `{"line_no", "split": Q}` (Q of its quantity to a
    new line with the same product, unit, price and factor; the amounts follow)."""
    model_config = ConfigDict(extra="allow")       # FIELD: VALUE for any line field
    line_no: int | None = None
    product_id: int | None = None
    uom_factor: str | float | int | None = None
    add: bool | None = None
    delete: bool | None = None
    split: str | float | int | None = None


class PickedSource(BaseModel):
    """Where a reviewer picked a value on the page: page number and box in page points of the page as received
    (origin top-left), as GET /api/v1/documents/{id}/words gives the words."""
    page: int = Field(ge=1)
    bbox: list[float] = Field(min_length=4, max_length=4)


class DocumentPatch(BaseModel):
    fields: dict[str, Any] = Field(default_factory=dict)
    lines: list[LineCorrection] = Field(default_factory=list)
    supplier_id: int | None = None
    sources: dict[str, PickedSource] = Field(
        default_factory=dict, description='where a value was picked on the page: "fields.NAME" or "lines.N.FIELD" '
                                          '-> {"page", "bbox"}; teaches where this supplier prints it')


class LineProductIn(BaseModel):
    """A product made from a document's line, linked to the document's supplier (supplier_products): our SKU,
    name, base unit; the supplier's SKU as printed (default: the line's), factor: base units per printed unit
    (default 1 where the line prints the base unit)."""
    sku: str
    name: str
    unit: str
    spec: str | None = None
    category: str | None = None
    barcode: str | None = None
    tax_rate: str | float | None = None
    batch_tracked: bool | None = None
    shelf_life_days: int | None = None
    supplier_sku: str | None = None
    factor: str | float | int | None = None


class DocumentSupplierIn(BaseModel):
    """The document's proposed new supplier as confirmed or edited (the values read: GET .../documents/{id}
    extraction.proposed_supplier)."""
    name: str
    tax_id: str | None = None
    address: str | None = None
    phone: str | None = None
    bank_account: str | None = None
    email: str | None = None


class Reject(BaseModel):
    reason: str | None = None


class ProductIn(BaseModel):
    sku: str
    name: str
    unit: str
    barcode: list[str] | str | None = None
    aliases: list[str] | str | None = None
    category: str | None = None
    tax_rate: str | float | None = None
    spec: str | None = None
    batch_tracked: bool | None = None
    shelf_life_days: int | None = None


class SupplierIn(BaseModel):
    name: str
    tax_id: str | None = None
    aliases: list[str] | str | None = None
    address: str | None = None
    phone: str | None = None
    bank_account: str | None = None
    email: str | None = None


class PurchaseOrderLineIn(BaseModel):
    sku: str | None = None            # our SKU, or product_id
    product_id: int | None = None
    quantity: str | float | int
    unit: str | None = None           # default: the product's base unit
    price: str | float | int | None = None


class PurchaseOrderIn(BaseModel):
    """{po_number, supplier, date, lines: [...]}; a one-line order may also be given flat, as one CSV row
    (po_number, supplier, sku, quantity, unit, price, date).  supplier: tax id, name, alias or id."""
    po_number: str
    supplier: str | int | None = None
    supplier_id: int | None = None
    date: str | None = None
    lines: list[PurchaseOrderLineIn] = Field(default_factory=list)
    sku: str | None = None
    product_id: int | None = None
    quantity: str | float | int | None = None
    unit: str | None = None
    price: str | float | int | None = None

    def all_lines(self) -> list[PurchaseOrderLineIn]:
        if self.lines:
            return self.lines
        if self.quantity is None or (self.sku is None and self.product_id is None):
            return []
        return [PurchaseOrderLineIn(sku=self.sku, product_id=self.product_id, quantity=self.quantity, unit=self.unit,
                                    price=self.price)]


class WebhookIn(BaseModel):
    url: str
    events: list[str]
    secret: str | None = None
    allow_private: bool = Field(False, validation_alias=AliasChoices(
        "allow_private", "allow_private_network", "allow_private_networks", "allow_loopback", "allow_local"))


class ApiKeyIn(BaseModel):
    name: str
    role: str
    expires_at: datetime | None = None     # optional: the key stops working then (issue 18)


class UserIn(BaseModel):
    username: str
    password: str = Field(min_length=8)
    role: str


class Login(BaseModel):
    username: str
    password: str


class ModelPromote(BaseModel):
    """POST /api/v1/models/{version}/promote; version 0 goes back to the model shipped in the package."""
    reason: str | None = None          # kept in the model's history


class LayoutModelState(BaseModel):
    """The model the pipeline reads with now (also in /healthz)."""
    status: str                        # ok | rules_only | unavailable
    version: int | None                # the promoted version; 0: the shipped model; null: INBOUND_MODEL names it
    path: str | None
    reason: str | None                 # why the rules read alone
    source: str                        # promoted | shipped | setting | none


class ModelVersionOut(BaseModel):
    version: int
    status: str                        # candidate | promoted | rejected | retired
    current: bool
    path: str
    created_at: str
    promoted_at: str | None
    promoted_by: str | None
    data_version: str
    code_version: str
    trained_on: int                    # confirmed documents when it was trained
    metrics: dict[str, Any]
    scores: dict[str, Any]             # held-back set -> {"candidate", "base"} fields F1
    reason: str | None


class ModelEventOut(BaseModel):
    version: int
    action: str                        # trained | promoted | rejected | retired
    at: str
    who: str
    reason: str | None


class RetrainProgress(BaseModel):
    every: int                         # INBOUND_RETRAIN_EVERY (0: never by itself)
    minutes: float
    confirmed: int
    since_last: int                    # confirmed since the newest version was trained
    running: bool | None               # null where this process cannot tell (Celery)


class ModelsOut(BaseModel):
    items: list[ModelVersionOut]       # newest first
    total: int
    current: int | None                # the promoted version; null: none (the shipped model or a set folder)
    shipped_default_in_use: bool
    layout_model: LayoutModelState
    retrain: RetrainProgress
    events: list[ModelEventOut]        # newest first


class PromoteOut(BaseModel):
    promoted: ModelVersionOut | None   # null: back to the shipped model
    layout_model: LayoutModelState


class RetrainOut(BaseModel):
    status: str                        # started | queued | running
