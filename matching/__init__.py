"""Normalisation, supplier and product matching, units, purchase orders, alias learning (issue 6). Pure."""
