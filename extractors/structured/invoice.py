"""Which e-invoice XML this is, and its mapping to an `Extraction` (`parse_invoice_xml`)."""

from __future__ import annotations

from extractors.result import Extraction
from extractors.structured import cii, fapiao, ubl
from extractors.structured.elements import UBL_NAMESPACE_PREFIX, local, namespace, parse_xml_safely

__all__ = ["is_invoice_root", "parse_invoice_xml"]


def parse_invoice_xml(xml: bytes) -> Extraction | None:
    """Map a CII / ZUGFeRD 1.0 / UBL 2.1 / Chinese e-invoice XML to an Extraction; None if not one."""
    root = parse_xml_safely(xml)
    name, ns = local(root.tag), namespace(root.tag)
    if name == "CrossIndustryInvoice":
        return cii.parse_cii(root, cii.D16B)
    if name == "CrossIndustryDocument":
        return cii.parse_cii(root, cii.ZUGFERD1)
    if name in ("Invoice", "CreditNote") and ns.startswith(UBL_NAMESPACE_PREFIX):
        return ubl.parse_ubl(root)
    if fapiao.is_fapiao(root):
        return fapiao.parse_fapiao(root)
    return None


def is_invoice_root(tag: str) -> bool:
    """Whether an XML root tag is a CII or UBL invoice (what a PDF attachment must be to count)."""
    name, ns = local(tag), namespace(tag)
    if name in ("CrossIndustryInvoice", "CrossIndustryDocument"):
        return True
    return name in ("Invoice", "CreditNote") and ns.startswith(UBL_NAMESPACE_PREFIX)
