"""Request bodies (pydantic at the edge); answers are the plain JSON shapes of DESIGN.md built by to_json()."""

from __future__ import annotations

from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field


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


class UserIn(BaseModel):
    username: str
    password: str = Field(min_length=8)
    role: str


class Login(BaseModel):
    username: str
    password: str
