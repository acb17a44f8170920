"""Column-title vocabulary of item tables (en/de/fr/nl/pl, and the Chinese titles Western-style tables use).

A title names a column's *role*: what its cells hold.  `PHRASES` maps normalised title phrases (casefolded,
dots/colons/brackets removed, see `table.norm_word`) to roles; `compound_role` reads the titles that are
built from parts ('Einzelpreis', 'Regeltotaal', 'Preis/Einheit', 'Chargennr', 'Houdbaar tot') by their
stems, so that a wording not listed here is still understood when its parts are.  The tables are data:
add a wording here, not a branch in the reader.  What a column holds is checked against its role by
`columns.refine_roles`.

Roles: pos, sku, buyer_sku, barcode, desc, spec, qty, ordered (the quantity ordered, beside the one
delivered), unit, price, amount, gross (the amount with tax, beside the one without), tax, tax_amount,
discount, batch, expiry, production, weight, packages, pack (pack size), carton (carton / parcel number),
note.
"""

from __future__ import annotations

import functools
import re
import unicodedata

# Roles whose cells are numbers.  `ordered`, `weight` and `packages` are numbers that are none of the
# item's quantity / price / amount: they have columns so that their numbers are not taken for those.
NUMERIC_ROLES = frozenset({"qty", "price", "amount", "tax", "discount", "tax_amount", "ordered", "weight",
                           "packages", "gross"})
# Roles whose cells are dates.
DATE_ROLES = frozenset({"expiry", "production"})

# Roles in order of precedence when several title words are stacked over one column ('Qty' over
# 'Ordered' is the ordered quantity; 'Date' over 'limite' the expiry date).
PRECEDENCE = ("ordered", "expiry", "production", "gross", "amount", "price", "qty", "tax_amount", "discount", "tax",
              "weight", "packages", "pack", "batch", "unit", "spec", "desc", "sku", "buyer_sku", "barcode",
              "carton", "note", "pos")


def _roles(role: str, *phrases: str) -> dict[str, str]:
    return {p: role for p in phrases}


PHRASES: dict[str, str] = {
    **_roles("pos", "pos", "position", "nr", "no", "#", "lp", "lfd nr", "n°", "nº", "poz", "line", "regel",
             "ligne", "zeile", "序号"),
    **_roles("sku", "art-nr", "artnr", "art nr", "artikelnr", "artikel-nr", "artikelnummer", "art-nr-lief",
             "art-nr-lieferant", "sku", "code", "item code", "product code", "item no", "item number", "part no",
             "part number", "part", "référence", "reference", "réf", "ref", "code article", "kod", "indeks",
             "artikelcode", "materialnr", "materialnummer", "product no", "article no",
             "article code", "produktnummer", "productcode", "编码", "货号", "商品编码"),
    **_roles("buyer_sku", "art-nr-kunde", "kunden-art-nr", "ihre art-nr", "your code", "votre réf",
             "uw code", "customer code", "customer part no"),
    **_roles("barcode", "ean", "gtin", "barcode", "ean-code", "upc", "upc/ean", "ean/upc", "ean code", "gtin-13"),
    **_roles("desc", "beschreibung", "bezeichnung", "artikelbezeichnung", "artikel", "leistungsbeschreibung",
             "leistung", "description", "désignation", "designation", "libellé", "produit", "article",
             "omschrijving", "beschrijving", "nazwa", "nazwa towaru", "nazwa towaru lub usługi", "product",
             "produkt", "item", "items", "particulars", "details", "goods", "item description", "artikelomschrijving",
             "warenbezeichnung", "text", "dienstleistung", "prestation", "item name", "product name", "article name", "品名", "商品名称", "货物名称", "项目名称",
             "名称", "货物或应税劳务、服务名称", "货物或应税劳务名称"),
    **_roles("spec", "规格", "型号", "规格型号", "spec", "specification", "spezifikation", "spécification", "spéc",
             "specificatie", "size", "maat", "größe", "groesse", "format", "taille", "variante", "variant",
             "dimension", "abmessung", "afmeting", "conditionnement", "verpakking", "verpackung", "inhoud", "inhalt",
             "contenu", "content", "gebinde"),
    **_roles("qty", "menge", "anzahl", "qty", "quantity", "quantité", "qté", "qte", "aantal", "ilość", "ilosc",
             "数量", "liefermenge", "hoeveelheid", "stück", "delivered", "supplied", "shipped",
             "geliefert", "gel menge", "gelieferte menge", "livrée", "livré", "quantité livrée", "geleverd",
             "qty delivered", "qty supplied", "qty shipped", "nb", "count"),
    **_roles("ordered", "ordered", "qty ordered", "bestellt", "bestellmenge", "besteld", "commandé", "commandée",
             "quantité commandée", "qté commandée", "aantal besteld", "order qty", "ordered qty"),
    **_roles("unit", "einheit", "unit", "unité", "me", "jm", "uom", "u/m", "eenheid", "单位", "eh", "unit of measure",
             "mengeneinheit", "uv", "u", "um", "verp eenh", "verpakkingseenheid", "maßeinheit",
             "unité de vente", "uvc", "einh", "units"),
    **_roles("price", "preis", "einzelpreis", "nettopreis", "stückpreis", "e-preis", "ep", "unit price", "price",
             "prix unitaire", "prix", "pu", "prix u", "prijs", "prijs per stuk", "stukprijs", "cena", "cena jedn",
             "cena netto", "rate", "单价", "unit cost", "price per unit", "price each", "each", "eenheidsprijs",
             "preis/einheit", "preis je einheit", "preis pro einheit", "prix unit", "prix unitaire ht",
             "p u ht", "pu ht", "unit rate", "net price", "prix net", "price per one", "price per piece",
             "price per item", "price/unit", "price/pc"),
    **_roles("amount", "betrag", "gesamt", "gesamtpreis", "gesamtbetrag", "nettobetrag", "positionsbetrag",
             "positions betrag", "nettowert", "wert", "amount", "total", "line total", "net amount", "montant",
             "montant ht", "total ht", "prix ht", "prix total", "bedrag", "totaal", "prijs incl btw", "wartość",
             "wartość netto", "金额", "subtotal", "value", "net value", "summe", "entgelt", "regeltotaal",
             "line amount", "net", "netto", "betrag netto", "netto betrag", "montant net", "bedrag excl btw",
             "extended", "ext price", "extension", "line value", "totaalbedrag", "total line", "net total",
             "gesamtpreis netto", "prix total ht", "montant total", "total price", "total amount", "total value",
             "total net", "price total", "amount net", "totaalprijs", "prix total net"),
    **_roles("gross", "total price with tax", "total with tax", "price with tax", "amount with tax", "amount incl vat",
             "amount incl tax", "total incl vat", "total incl tax", "incl vat", "incl tax", "with vat", "gross amount",
             "gross", "brutto", "bruttobetrag", "betrag brutto", "gesamt brutto", "ttc", "montant ttc", "prix ttc",
             "total ttc", "bedrag incl btw", "incl btw"),
    **_roles("tax", "mwst", "mwst-%", "mwst %", "mwst-satz", "ust", "ust-%", "steuersatz", "steuer", "vat", "vat %",
             "vat%", "vat rate", "tax", "taxes", "tax rate", "tax %", "tva", "taux tva", "tva %", "btw", "btw %",
             "%", "stawka", "stawka vat", "税率", "taxe", "ust-satz", "gst", "gst %", "taux", "btw-tarief", "tarief",
             "tarif", "taux de tva", "btw-tarief %"),
    **_roles("tax_amount", "税额", "steuerbetrag", "mwst-betrag", "tax amount", "vat amount", "montant tva",
             "kwota vat", "btw-bedrag", "btw bedrag"),
    **_roles("discount", "rabatt", "disc%", "disc", "discount", "rem", "remise", "korting", "rabat", "nachlass"),
    **_roles("batch", "lot", "lot no", "lot n°", "lotnr", "lot nr", "lot number", "n° de lot", "no de lot",
             "numéro de lot", "batch", "batch no", "batch number", "charge", "chargennr", "charge-nr",
             "chargen-nr", "chargennummer", "partij", "partijnr", "partijnummer", "chargenr", "lotnummer", "los-nr",
             "losnr", "los", "lot-nr"),
    **_roles("expiry", "mhd", "dluo", "dlc", "ddm", "tht", "exp", "exp date", "expiry", "expiry date",
             "expiration", "expiration date", "best before", "bbd", "use by", "haltbarkeit", "haltbar bis",
             "mindesthaltbarkeit", "verfall", "verfallsdatum", "vervaldatum", "houdbaar tot", "houdbaarheid",
             "tenminste houdbaar tot", "date limite", "à consommer avant", "a consommer avant", "consommer avant",
             "date limite de consommation", "shelf life", "ablaufdatum"),
    **_roles("production", "mfg date", "mfg", "manufactured", "production date", "prod date", "produced",
             "herstelldatum", "produktionsdatum", "herstellungsdatum", "productiedatum", "prod datum",
             "fabriqué le", "date fab", "date de fabrication", "fabrication", "date de production",
             "productie", "gefertigt", "manufacturing date", "prod"),
    **_roles("weight", "weight", "gewicht", "poids", "net wt", "gross wt", "gross kg", "net kg",
             "netto kg", "bruto kg", "brutto kg", "poids brut", "poids net", "nettogewicht", "bruttogewicht"),
    **_roles("packages", "cartons", "packages", "packstücke", "kolli", "colli", "colis", "nb colis", "dozen",
             "boxes", "cases", "pkgs", "parcels", "packst"),
    **_roles("pack", "pack", "pack size", "packeinheit", "ve", "colisage",
             "colli-inhoud", "per doos", "per colli", "units/carton", "units per carton", "case pack", "uvc/colis"),
    **_roles("carton", "carton no", "box no", "case #", "case no", "kolli-nr", "doosnr", "collinr", "colis n°",
             "n° colis", "karton-nr", "parcel no", "package no"),
    **_roles("note", "note", "notes", "remark", "remarks", "bemerkung", "hinweis", "remarque", "observation",
             "opmerking", "notitie", "comment", "kommentar"),
}
PHRASES = {k.casefold(): v for k, v in PHRASES.items()}   # titles are compared casefolded: 'Größe' -> 'grösse'
MAX_PHRASE = max(len(p.split()) for p in PHRASES)
CUE_WORDS = frozenset(w for p in PHRASES for w in p.split())


@functools.lru_cache(maxsize=8192)
def fold_accents(text: str) -> str:
    """'qtē' -> 'qte', 'désignation' -> 'designation': OCR misreads accents, and some prints drop them."""
    return "".join(ch for ch in unicodedata.normalize("NFD", text) if not unicodedata.combining(ch))


# The same phrases with their accents folded: the second look-up for a title not found as printed.
FOLDED_PHRASES = {fold_accents(k): v for k, v in reversed(list(PHRASES.items()))}
FOLDED_CUE_WORDS = frozenset(fold_accents(w) for w in CUE_WORDS)

# Stems of compound titles, tried in order; the first that fits gives the role.
_COMPOUNDS: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(rx), role) for rx, role in (
    (r"(kunde|buyer|client|klant).*(art|nr|sku|code)|(art|nr|sku|code).*(kunde|buyer|client|klant)", "buyer_sku"),
    (r"^(art(ikel)?-?nr|lief.*art|art.*lief|mat(erial)?-?nr|part-?n)", "sku"),
    (r"^(mwst|ust|vat|tva|btw|tax|gst)-?(%|satz|rate|tarief|tarif|taux)?$", "tax"),
    (r"(mhd|haltbar|houdbaar|vervaldat|verfall|expir|dluo|dlc|tht|best-?before)", "expiry"),
    (r"(herstell|produktions|productie|fabricat|manufact)(datum|date|dat)?", "production"),
    (r"^(charge|chargen|partij|lot|batch)(n|nr|no|nummer|number|-nr)?$", "batch"),
    (r"(einzel|netto|stück|stuk|list|verkaufs|eenheids|unit|e-)(preis|prijs|prix|price)$", "price"),
    (r"^(preis|prijs|prix|price)(/|-)?(einheit|eenheid|unit|stk|stuk|st)", "price"),
    (r"(gesamt|netto|positions|zeilen|regel|line|item)(betrag|preis|prijs|wert|waarde|totaal|total|summe|bedrag)$",
     "amount"),
    (r"(liefer|geliefert|geleverd|delivered|shipped|supplied)(menge|aantal|qty)?$", "qty"),
    (r"(mengen|mass|verp|verpakkings)(einheit|eenheid|eenh)$", "unit"),
    (r"gewicht|weight|poids", "weight"),
))


@functools.lru_cache(maxsize=4096)
def compound_role(word: str) -> str | None:
    """The role of a title word built from known stems ('Art-Nr-Kunde', 'Einzelpreis', 'MwSt-%',
    'Chargennr', 'Regeltotaal'), else None."""
    for rx, role in _COMPOUNDS:
        if rx.search(word):
            return role
    return None
