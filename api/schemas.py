"""Request bodies (pydantic at the edge); answers are the plain JSON shapes of DESIGN.md built by to_json()."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class LineCorrection(BaseModel):
    model_config = ConfigDict(extra="allow")       # FIELD: VALUE for any line field
    line_no: int
    product_id: int | None = None
    uom_factor: str | float | int | None = None


class DocumentPatch(BaseModel):
    fields: dict[str, Any] = Field(default_factory=dict)
    lines: list[LineCorrection] = Field(default_factory=list)
    supplier_id: int | None = None


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
    sku: str
    quantity: str | float | int
    unit: str
    price: str | float | int | None = None


class PurchaseOrderIn(BaseModel):
    po_number: str
    supplier: str                     # tax id, name or alias
    date: str | None = None
    lines: list[PurchaseOrderLineIn]


class WebhookIn(BaseModel):
    url: str
    events: list[str]
    secret: str | None = None
    allow_private: bool = False


class ApiKeyIn(BaseModel):
    name: str
    role: str


class UserIn(BaseModel):
    username: str
    password: str = Field(min_length=8)
    role: str


class Login(BaseModel):
    username: str
    password: str
