"""Label cues for header fields in en, de, fr, nl, pl (Chinese labels live in `extractors/cn/`).

Each cue is a regular expression matched case-insensitively against a line's normalised text, the
field it labels, the kind of value that follows, and a weight (how sure the label makes us).  When two
cues match overlapping text, the longer match wins ("Invoice date" beats "Invoice").  The tables are
data: add a wording here, not a branch in the extractor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class ValueKind(StrEnum):
    ID = "id"
    DATE = "date"
    AMOUNT = "amount"
    TEXT = "text"
    CURRENCY = "currency"
    PHONE = "phone"


@dataclass(frozen=True, slots=True)
class Cue:
    field: str
    pattern: re.Pattern[str]
    kind: ValueKind
    weight: float
    keys: tuple[str, ...] = ()   # words one of which a line must have for the cue to match (else: its literals)


def _cues(field: str, kind: ValueKind, *alternatives: tuple[str, float], keys: str = "") -> list[Cue]:
    words = tuple(sorted(w for w in set(re.findall(r"[^\W\d_]+", keys.lower())) if len(w) > 1))
    return [Cue(field, re.compile(rf"(?<![\w-])(?:{rx})(?![\w])", re.IGNORECASE), kind, w, words)
            for rx, w in alternatives]


_NO = r"(?:\s*(?:no\.?|nr\.?|number|num\.?|#|n°|nº|no:|numéro|nummer|numer|№))"
_GLUED_NO = r"(?:s?-?\s?(?:nr\.?|nummer|no\.?|number|n°|nº|№|#|numéro))"   # 'Paklijstnummer', 'LS-Nr.', 'Bon-Nr.'
_GLUED_DATE = r"(?:s?-?\s?(?:datum|date|dat\.))"                           # 'Pakbondatum', 'Re.-Datum'
_OF = r"(?:\s+(?:de|du|d'|of|der|des|van|la|l'|le)){0,2}\s*"               # 'N° de colisage', 'Date de l'avoir'

# What a number or a date label can name: the document kinds, the order, the customer.  A label is a noun
# of these glued to or followed by a number word ('Paklijstnummer', 'Packing List No.'), or a number word
# before it ('N° BL', 'Numéro de facture'); a date label likewise ('Pakbondatum', 'Date du BL').
NOUNS: dict[str, str] = {
    "invoice": r"invoice|inv\.?|tax invoice|rechnung|re\.|beleg|facture|fact\.|factuur|faktura|bill|"
               r"credit note|creditnota|credit memo|creditfactuur|gutschrift|avoir|document|dokument|doc\.?",
    "delivery": r"delivery note|delivery docket|delivery|docket|despatch note|dispatch note|dn|lieferschein|ls|"
                r"bon de livraison|bordereau de livraison|bordereau|livraison|bl|pakbon|afleverbon|leverbon|"
                r"aflevering",
    "packing": r"packing list|packing slip|slip|paklijst|packliste|packschein|packzettel|liste de colisage|colisage|"
               r"shipment|zending|sendung|versand|envoi",
    "receipt": r"receipt|trans\.?|transaction|transactie|ticket|bon|kassenbon|kassabon|quittung|kassa-?bon|till",
    "order": r"purchase order|p\.?o\.?|order|bestellung|bestell|bestel|bestelling|auftrag|commande|cde|inkooporder|"
             r"ordre|zamówienie",
    "customer": r"customer|client|kunden?|kd\.|klant|debiteur|account|konto|compte",
}
_NUMBER_FIELD = {"invoice": "document_number", "delivery": "delivery_note_number", "packing": "packing_number",
                 "receipt": "receipt_number", "order": "po_number", "customer": "customer_number"}
_DATE_FIELD = {"invoice": "document_date", "delivery": "delivery_note_date", "packing": "packing_date",
               "receipt": "receipt_date", "order": "order_date"}
# The nouns whose date is that paper's date: a shipment's or a delivery's date is a delivery date.
DATE_NOUNS: dict[str, str] = {
    "invoice": NOUNS["invoice"],
    "delivery": r"delivery note|delivery docket|docket|despatch note|dispatch note|lieferschein|ls|"
                r"bon de livraison|bordereau de livraison|bordereau|bl|pakbon|afleverbon|leverbon",
    "packing": r"packing list|packing slip|packing|slip|paklijst|packliste|packschein|packzettel|pack|"
               r"liste de colisage|colisage",
    "receipt": NOUNS["receipt"],
    "order": NOUNS["order"],
}
_POSSESSIVE = r"(?:your|ihre?|votre|vos|uw|customer|client|kunden|klant|buyer|käufer)\s*"
_REF = r"(?:réf\.?|ref\.?|reference|référence|referenz|referentie)"


def _composed() -> list[Cue]:
    """Number and date labels composed from the nouns above (see NOUNS); the tables stay data."""
    out: list[Cue] = []
    for noun, rx in NOUNS.items():
        n = f"(?:{rx})"
        out += _cues(_NUMBER_FIELD[noun], ValueKind.ID,
                     (rf"{n}{_GLUED_NO}|(?:no\.?|nr\.?|n°|nº|№|numéro|nummer|number){_OF}{n}", 1.0),
                     (rf"{_REF}{_OF}{n}", 0.9), keys=rx)
        if noun == "order":
            out += _cues("po_number", ValueKind.ID, (rf"{_POSSESSIVE}{n}(?:{_GLUED_NO})?|{_POSSESSIVE}{_REF}", 1.0),
                         (n, 0.7), keys=f"{rx} {_POSSESSIVE}")
        elif noun in ("delivery", "packing", "receipt"):
            out += _cues(_NUMBER_FIELD[noun], ValueKind.ID, (n, 0.7), keys=rx)
        if noun in DATE_NOUNS:
            n = f"(?:{DATE_NOUNS[noun]})"
            out += _cues(_DATE_FIELD[noun], ValueKind.DATE,
                         (rf"{n}{_GLUED_DATE}|date{_OF}{n}|datum{_OF}{n}", 1.0), keys=DATE_NOUNS[noun])
    return out


CUES: list[Cue] = [
    *_cues("document_number", ValueKind.ID,
           (rf"invoice{_NO}|invoice id|tax invoice{_NO}|inv{_NO}|bill{_NO}|receipt{_NO}|credit note{_NO}", 1.0),
           (rf"rechnungs?-?{_NO}|rechnungs-?nummer|rechnungsnr\.?|beleg-?nr\.?|belegnummer|gutschrifts?-?{_NO}", 1.0),
           (rf"(?:\w*rechnung|gutschrift|invoice|facture|avoir|credit note)(?:\s*\([^)]{{0,40}}\))*\s*{_NO}", 0.95),
           (r"n°\s*(?:de\s*)?facture|numéro de facture|facture\s*n[°º]|avoir\s*n[°º]|n° d'avoir", 1.0),
           (r"factuurnummer|factuur\s*(?:nr\.?|nummer)", 1.0),
           (r"faktura(?:\s+vat)?\s*(?:nr\.?|numer)|nr faktury|numer faktury", 1.0),
           (r"document\s*(?:no\.?|number|#)|doc\.?\s*no\.?|bill\s*id|cash\s*bill(?:\s*no)?|order\s*id", 0.6),
           (r"facture|invoice|rechnung|gutschrift|avoir|factuur|faktura", 0.45)),
    *_cues("document_date", ValueKind.DATE,
           (r"invoice\s*date|date of invoice|date of issue|issue date|billing date|rechnungsdatum|belegdatum|"
            r"beleg-datum|gutschriftsdatum|date de (?:la )?facture|date d'émission|date facture|factuurdatum|"
            r"data wystawienia|data faktury|tax point date", 1.0),
           (r"issued(?: at| on)?|dated|datum|date|vom|von|du|le|data", 0.5)),
    *_cues("due_date", ValueKind.DATE,
           (r"due\s*date|payment\s*due(?:\s*date)?|date due|fällig(?:keit)?(?:sdatum)?|zahlungsziel|"
            r"zahlbar bis|date d'échéance|échéance|vervaldatum|vervaldag|termin płatności|"
            r"please remit until|pay(?:able)? by|(?:te )?betalen (?:voor|vóór)|uiterlijk betalen|fällig am|"
            r"à régler avant|date limite de paiement|payable before|due on|betaaldatum", 1.0),
           (r"due|fällig|échéance", 0.8),
           (r"(?:überweisen sie|zahlbar|zahlung) bis(?: zum)?|payable until|à payer avant le", 0.7)),
    *_cues("delivery_date", ValueKind.DATE,
           (r"delivery date|date of delivery|date of supply|ship(?:ping)? date|liefer-? und leistungsdatum|"
            r"leistungs-?datum|liefer-?datum|leistungszeitraum|date de livraison|leverdatum|afleverdatum|"
            r"data dostawy|data sprzedaży|data wykonania usługi", 1.0),
           (r"(?:delivery|shipment|shipping|dispatch|despatch|versand|verzend|liefer|lever|aflever|livraison|expédition|"
            r"envoi|verzending|levering)s?-?\s?(?:datum|date|termin)|date (?:de |d')?(?:livraison|expédition|envoi)|"
            r"livré le|livrée le|expédié le|geleverd op|verzonden op|delivered(?: on)?|shipped(?: on)?|"
            r"geliefert am|versandt am|date of (?:shipment|dispatch)", 1.0)),
    *_cues("po_number", ValueKind.ID,
           (r"p\.?o\.?\s*(?:no\.?|number|#|nr\.?)|purchase order(?:\s*(?:no\.?|number|#))?|"
            r"customer order(?:\s*(?:no\.?|number))?|your order(?:\s*(?:no\.?|number))?|order\s*(?:no\.?|number|#)|"
            r"bestell-?nr\.?|bestellnummer|bestellung|ihre bestellung|auftragsnummer|"
            r"your reference|customer reference|buyer reference|ihr zeichen|ihre referenz|"
            r"votre référence|votre commande|référence commande|bon de commande|n° de commande|"
            r"uw referentie|uw ordernummer|inkoopordernummer|zamówienie(?:\s*nr)?|nr zamówienia", 1.0)),
    *_cues("delivery_note_number", ValueKind.ID,
           (r"lieferschein-?(?:nr\.?|nummer)?|delivery note(?:\s*(?:no\.?|number))?|despatch advice|"
            r"bon de livraison|pakbon|dowód dostawy", 1.0)),
    *_cues("currency", ValueKind.CURRENCY,
           (r"(?:rechnungs)?währung|currency|devise|valuta|waluta", 1.0)),
    *_cues("subtotal", ValueKind.AMOUNT,
           (r"sub-?\s?total|net total|total net|net amount|total excl(?:\.|uding)?\s*(?:vat|tax|gst)|"
            r"total before tax|amount excl(?:\.|uding)? (?:vat|tax)|gross ?amt|total sales \(excl[^)]*\)|"
            r"rechnungssumme ohne ust\.?|nettobetrag|netto-?summe|summe netto|gesamt netto|nettowert gesamt|"
            r"steuerbasisbetrag|total ht|montant ht|total hors taxes|sous-total|subtotaal|totaal excl\.?(?: btw)?|"
            r"razem netto|wartość netto|suma netto|exclusief btw|excl\.? btw|totaal excl\.?|zwischensumme|"
            r"goods total|total goods|goods value|merchandise total|warenwert|total marchandises|"
            r"total des marchandises|goederenwaarde|totaal goederen|nettowarenwert", 1.0),
           (r"netto|net", 0.4)),
    *_cues("tax_amount", ValueKind.AMOUNT,
           (r"vat total|total vat|vat amount|tax amount|total tax(?:es)?|tax total|total gst|gst amount|"
            r"steuerbetrag|mwst\.?-?betrag|ust\.?-?betrag|umsatzsteuer gesamt|summe (?:mwst|ust)|"
            r"total tva|montant tva|total taxes|btw-?bedrag|totaal btw|kwota vat|podatek vat|razem vat", 1.0),
           (r"vat|tax|gst|sst|mwst\.?|ust\.?|tva|btw|umsatzsteuer", 0.45)),
    *_cues("total_amount", ValueKind.AMOUNT,
           (r"grand total|total amount|invoice total|total incl(?:\.|uding)?\s*(?:vat|tax|gst)?|"
            r"total (?:inclusive|incl) (?:of )?(?:gst|vat)|total payable|total due|nett total|rounded total|"
            r"total \(rm\)|total rm|total sales \(incl[^)]*\)|net amt|nett amt|net amount payable|total inclusive|"
            r"total amt(?: incl\.?(?: of)?(?: gst| vat| tax)?)?|total amt payable|total amount payable|"
            r"gesamtbetrag|bruttosumme|bruttobetrag|rechnungsbetrag|gesamtsumme|summe brutto|endbetrag|"
            r"rechnungssumme|gutschriftsbetrag|total ttc|montant ttc|totaal incl\.?(?: btw)?|totaalbedrag|"
            r"razem brutto|wartość brutto|suma brutto|do zapłaty|należność ogółem|należność", 1.0),
           (r"total|summe|gesamt|totaal|razem|montant", 0.55),
           (r"amount due|balance due|balance|to pay|zahlbetrag|zu zahlen|due payable|solde à payer|net à payer|"
            r"à payer|te betalen", 0.5)),
    *_cues("amount_due", ValueKind.AMOUNT,
           (r"amount due|amt due|balance due|amount payable|zahlbetrag|zu zahlender betrag|zu zahlen|due payable|"
            r"solde à payer|net à payer|reste à payer|te betalen|do zapłaty|pozostało do zapłaty", 1.0)),
    *_cues("line_total", ValueKind.AMOUNT,
           (r"positionssumme|summe (?:der )?positionen|summe positionen|warenwert gesamt|line total|"
            r"total lines|lines total|total articles|total des lignes", 1.0)),
    *_cues("allowance_total", ValueKind.AMOUNT,
           (r"gesamtbetrag der abschläge|summe (?:der )?abschläge|summe rabatte|total (?:des )?remises|"
            r"total allowances|total discounts?", 1.0)),
    *_cues("charge_total", ValueKind.AMOUNT,
           (r"gesamtbetrag der zuschläge|summe (?:der )?zuschläge|total (?:des )?frais|total charges", 1.0)),
    *_cues("prepaid_amount", ValueKind.AMOUNT,
           (r"erhaltene anzahlungen?|geleistete anzahlungen?|bereits (?:gezahlt|bezahlt)|anzahlung|prepaid(?: amount)?|"
            r"already paid|paid amount|acompte(?: versé)?|déjà payé|reeds betaald|zaliczka", 1.0)),
    *_cues("supplier_phone", ValueKind.PHONE,
           (r"tel(?:ephone|efon|\.)?|phone|tél\.?|téléphone|telefoon|fon|ph", 1.0)),
    *_cues("supplier_tax_number", ValueKind.ID,
           (r"steuer-?nummer|steuer-?nr\.?|st\.?-?nr\.?", 1.0)),
    *_cues("supplier_bank_account", ValueKind.ID,
           (r"bank account(?:\s*(?:no\.?|number))?|account (?:no\.?|number)|kontonummer|konto-?nr\.?|"
            r"rekeningnummer|numéro de compte|nr rachunku|rachunek(?: bankowy)?", 0.8)),
    *_composed(),
    # a bare number word at the start of a line ('No: 4711' beside the title, 'Number  R736'): see GENERIC
    *_cues("generic_number", ValueKind.ID, (r"^(?:no\.?|nr\.?|n°|nº|№|#|number|nummer|numéro|numero)(?=\s|:|$)", 0.6)),
    # dates that are not the document's: printed, edited, versioned
    *_cues("print_date", ValueKind.DATE,
           (r"printed(?: on| at)?|print date|gedruckt(?: am)?|druckdatum|imprimé le|date d'impression|afgedrukt op|"
            r"afgedrukt|édité le|stand|version|erstellt am|created(?: on)?|generated(?: on)?", 1.0)),
    *_cues("payment_terms", ValueKind.TEXT,
           (r"payment terms|terms of payment|zahlungsbedingungen|zahlungsbedingung|conditions de (?:paiement|règlement)|"
            r"betalingsvoorwaarden|warunki płatności|sposób płatności|modalités de (?:paiement|règlement)|"
            r"betalingstermijn|betalingsconditie|zahlungskonditionen|payment conditions", 1.0),
           (r"terms|payment|règlement|zahlungsziel|zahlung|betaling|paiement|conditions", 0.7)),
    *_cues("remarks", ValueKind.TEXT,
           (r"notes?|remarks?|comments?|commentaires?|observations?|remarques?|hinweise?|bemerkung(?:en)?|"
            r"anmerkung(?:en)?|opmerking(?:en)?|notitie|notities|opmerkingen", 0.8)),
]


BUYER_CUES = re.compile(
    r"(?<!\w)(?:bill(?:ed)? to|ship(?:ped)? to|sold to|deliver(?:y|ed)? to|invoice to|invoiced to|customer|client|"
    r"buyer|consignee|recipient|attention|(?:delivery|billing|invoice|invoicing|shipping) address|käufer|kunde|kunden|rechnungsempfänger|warenempfänger|"
    r"leistungsempfänger|empfänger|lieferanschrift|rechnungsadresse|rechnungsanschrift|lieferadresse|an|"
    r"adresse de (?:livraison|facturation)|acheteur|destinataire|livré à|livrer à|facturé à|facturer à|"
    r"à l'attention de|klant|afnemer|aan|factuuradres|afleveradres|leveradres|geadresseerde|ontvanger|"
    r"nabywca|odbiorca)(?!\w)",
    re.IGNORECASE)

SELLER_CUES = re.compile(
    r"(?<!\w)(?:seller|supplier|vendor|from|sold by|shipper|(?:service )?provider|issued by|issuer|billed by|"
    r"verkäufer|lieferant|rechnungssteller|absender|von|leistungserbringer|anbieter|"
    r"fournisseur|vendeur|émetteur|expéditeur|prestataire|leverancier|verkoper|afzender|van|dienstverlener|"
    r"sprzedawca|dostawca|wystawca)(?!\w)",
    re.IGNORECASE)
