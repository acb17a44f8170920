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


def _cues(field: str, kind: ValueKind, *alternatives: tuple[str, float]) -> list[Cue]:
    return [Cue(field, re.compile(rf"(?<![\w-])(?:{rx})(?![\w])", re.IGNORECASE), kind, w) for rx, w in alternatives]


_NO = r"(?:\s*(?:no\.?|nr\.?|number|num\.?|#|n°|nº|no:|numéro|nummer|numer))"

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
            r"please remit until|pay(?:able)? by", 1.0),
           (r"(?:überweisen sie|zahlbar|zahlung) bis(?: zum)?|payable until|à payer avant le", 0.7)),
    *_cues("delivery_date", ValueKind.DATE,
           (r"delivery date|date of delivery|date of supply|ship(?:ping)? date|liefer-? und leistungsdatum|"
            r"leistungs-?datum|liefer-?datum|leistungszeitraum|date de livraison|leverdatum|afleverdatum|"
            r"data dostawy|data sprzedaży|data wykonania usługi", 1.0)),
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
            r"razem netto|wartość netto|suma netto|exclusief btw|excl\.? btw|totaal excl\.?", 1.0),
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
           (r"amount due|balance due|zahlbetrag|zu zahlen|due payable|solde à payer|net à payer|te betalen", 0.5)),
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
    *_cues("payment_terms", ValueKind.TEXT,
           (r"payment terms|terms of payment|zahlungsbedingungen|zahlungsbedingung|conditions de (?:paiement|règlement)|"
            r"betalingsvoorwaarden|warunki płatności|sposób płatności", 1.0)),
]


BUYER_CUES = re.compile(
    r"(?<!\w)(?:bill(?:ed)? to|ship(?:ped)? to|sold to|deliver(?:y)? to|invoice to|customer|client|buyer|"
    r"käufer|kunde|kunden|rechnungsempfänger|warenempfänger|leistungsempfänger|empfänger|lieferanschrift|"
    r"adresse de (?:livraison|facturation)|acheteur|destinataire|klant|afnemer|nabywca|odbiorca)(?!\w)",
    re.IGNORECASE)

SELLER_CUES = re.compile(
    r"(?<!\w)(?:seller|supplier|vendor|from|sold by|verkäufer|lieferant|rechnungssteller|fournisseur|vendeur|"
    r"émetteur|leverancier|verkoper|sprzedawca|dostawca|wystawca)(?!\w)", re.IGNORECASE)
