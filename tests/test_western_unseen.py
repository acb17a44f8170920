"""Western readers on layouts of producers and templates they were not written for (issue 14).

Each test builds a small page the way another producer would print it and checks one generic rule:
column roles from title stems and from what the cells hold, tables without prices, dates by the titles
over them, the document's own number and date by its title, value types before a label's neighbour is
taken, party blocks by their shape and place, addresses in their national orders.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from extractors.address import country_of_address, structure_address
from extractors.extract import extract_from_layout
from extractors.layout import BBox, Layout, Line, Page, Word
from extractors.lines import extract_lines
from extractors.parsing import Conventions, document_conventions
from extractors.party_blocks import cut_lines, page_blocks, read_party

EN = Conventions(decimal_comma=False, dayfirst=True)
DE = Conventions(decimal_comma=True, dayfirst=True)


def _line(y: float, *cells: tuple[float, str], size: float = 8.0) -> Line:
    """One text line: each (x, text) cell is split into words about half a point-size wide per char."""
    words: list[Word] = []
    for x, text in cells:
        for part in text.split():
            width = len(part) * size * 0.5
            words.append(Word(part, BBox(x, y, x + width, y + size)))
            x += width + size * 0.3
    return Line(tuple(words))


def _layout(*lines: Line, width: float = 595.0, height: float = 842.0) -> Layout:
    return Layout((Page(1, width, height, tuple(lines)),), "text-layer")


def _values(items, name: str) -> list:
    return [it.fields[name].value if name in it.fields else None for it in items]


def _field(extraction, name: str):
    f = extraction.fields.get(name)
    return f.value if f is not None else None


# ------------------------------------------------------------------------------------------- tables

def test_amount_under_a_compound_title_the_tables_do_not_list() -> None:
    layout = _layout(
        _line(100, (50, "Omschrijving"), (250, "Hoeveelheid"), (340, "Eenheidsprijs"), (450, "Regeltotaal")),
        _line(115, (50, "Koffiebonen"), (270, "2"), (350, "15,32"), (460, "30,64")),
        _line(130, (50, "Rapsolie"), (270, "3"), (350, "4,00"), (460, "12,00")))
    items = extract_lines(layout, DE, language="nl")
    assert _values(items, "amount") == [Decimal("30.64"), Decimal("12.00")]
    assert _values(items, "quantity") == [Decimal("2"), Decimal("3")]


def test_two_title_words_of_one_column_stay_one_column() -> None:
    layout = _layout(
        _line(100, (50, "Bezeichnung"), (250, "Menge"), (330, "Einzelpreis"), (440, "Betrag netto")),
        _line(115, (50, "Schraube"), (260, "10"), (340, "1,50"), (450, "15,00")))
    items = extract_lines(layout, DE, language="de")
    assert _values(items, "amount") == [Decimal("15.00")]
    assert _values(items, "quantity") == [Decimal("10")]


def test_delivery_note_table_without_prices_gives_items() -> None:
    layout = _layout(
        _line(100, (40, "Pos."), (70, "Code"), (130, "Article"), (420, "Qté"), (470, "UV")),
        _line(110, (420, "livrée")),
        _line(125, (40, "001"), (70, "84719"), (130, "Circuit imprimé"), (425, "3"), (470, "pièce")),
        _line(140, (40, "002"), (70, "17835"), (130, "Câble USB-C"), (425, "1"), (470, "unité")),
        _line(160, (130, "Total"), (425, "4")))
    items = extract_lines(layout, DE, language="fr")
    assert _values(items, "description") == ["Circuit imprimé", "Câble USB-C"]
    assert _values(items, "quantity") == [Decimal("3"), Decimal("1")]
    assert _values(items, "unit") == ["pièce", "unité"]
    assert _values(items, "supplier_sku") == ["84719", "17835"]


def test_delivered_quantity_not_the_ordered_one() -> None:
    layout = _layout(
        _line(100, (40, "Code"), (110, "Omschrijving"), (300, "Aantal"), (380, "Aantal"), (440, "Eenheid")),
        _line(110, (300, "besteld")),
        _line(125, (40, "HP51065"), (110, "Roomboter ongezouten"), (310, "20"), (390, "15"), (440, "pak")))
    items = extract_lines(layout, DE, language="nl")
    assert _values(items, "quantity") == [Decimal("15")]
    assert _values(items, "unit") == ["pak"]


def test_batch_and_dates_read_by_the_titles_over_them() -> None:
    layout = _layout(
        _line(100, (40, "Article"), (200, "Qté"), (250, "Lot n°"), (320, "Date"), (400, "DLUO")),
        _line(110, (320, "de fabrication")),
        _line(125, (40, "Riz jasmin"), (205, "4"), (250, "L84890"), (320, "21.12.2022"), (400, "21.12.2023")))
    items = extract_lines(layout, DE, language="fr")
    assert _values(items, "batch_no") == ["L84890"]
    assert _values(items, "production_date") == [date(2022, 12, 21)]
    assert _values(items, "expiry_date") == [date(2023, 12, 21)]


def test_unit_column_left_of_the_quantity_is_read() -> None:
    layout = _layout(
        _line(100, (40, "Artikel"), (200, "Einheit"), (280, "Menge"), (340, "Preis"), (420, "Betrag")),
        _line(115, (40, "Spülmittel"), (200, "Dose"), (290, "3"), (340, "8,81"), (420, "26,43")))
    items = extract_lines(layout, DE, language="de")
    assert _values(items, "unit") == ["Dose"]


def test_description_wider_on_its_second_line_and_printed_above_its_numbers() -> None:
    layout = _layout(
        _line(100, (40, "Beschrijving"), (250, "Aantal"), (320, "Prijs"), (420, "Bedrag")),
        _line(115, (40, "Keramische"), (260, "10"), (320, "12,66"), (420, "126,60")),
        _line(124, (40, "condensator 100nF")),
        _line(140, (40, "Lever arch file")),
        _line(149, (260, "4"), (320, "3,16"), (420, "12,64")))
    items = extract_lines(layout, DE, language="nl")
    assert _values(items, "description") == ["Keramische condensator 100nF", "Lever arch file"]
    assert _values(items, "amount") == [Decimal("126.60"), Decimal("12.64")]


def test_code_column_titled_like_a_description_holds_article_numbers() -> None:
    layout = _layout(
        _line(100, (40, "Article"), (110, "Description"), (300, "Qty"), (350, "Rate"), (420, "Value")),
        _line(115, (40, "SKU-94066"), (110, "Wall anchor 8mm"), (305, "60"), (350, "7.64"), (420, "458.40")),
        _line(130, (40, "SKU-84315"), (110, "Cable reel"), (305, "24"), (350, "67.93"), (420, "1630.32")))
    items = extract_lines(layout, EN, language="en")
    assert _values(items, "description") == ["Wall anchor 8mm", "Cable reel"]
    assert _values(items, "supplier_sku") == ["SKU-94066", "SKU-84315"]


def test_space_as_thousands_separator_in_an_amount() -> None:
    layout = _layout(
        _line(100, (40, "Libellé"), (250, "Quantité"), (340, "Prix unit."), (450, "Montant")),
        _line(115, (40, "Stylo gel noir"), (260, "200,00"), (345, "6,49"), (450, "1"), (456.4, "298,00")))
    items = extract_lines(layout, DE, language="fr")
    assert _values(items, "amount") == [Decimal("1298.00")]


def test_credit_note_minus_kept_where_the_arithmetic_carries_it() -> None:
    header = ((40, "Description"), (250, "Qty"), (320, "Price"), (420, "Amount"))
    signed = _layout(_line(100, *header), _line(115, (40, "Pork"), (255, "-26"), (320, "10.94"), (420, "-284.44")))
    marked = _layout(_line(100, *header), _line(115, (40, "Pork"), (255, "26"), (320, "10.94"), (420, "-284.44")))
    assert _values(extract_lines(signed, EN, language="en"), "amount") == [Decimal("-284.44")]
    assert _values(extract_lines(marked, EN, language="en"), "amount") == [Decimal("284.44")]


def test_unpriced_listing_after_a_priced_table_is_no_more_items() -> None:
    layout = _layout(
        _line(100, (40, "Description"), (250, "Qty"), (320, "Price"), (420, "Amount")),
        _line(115, (40, "Mixed pallet"), (255, "2"), (320, "29.10"), (420, "58.20")),
        _line(140, (40, "Article"), (200, "Code"), (300, "Qty")),
        _line(155, (40, "Strawberry yoghurt"), (200, "JOG103"), (305, "20")))
    items = extract_lines(layout, EN, language="en")
    assert _values(items, "description") == ["Mixed pallet"]


def test_till_roll_items_without_titles() -> None:
    rows = [((8, "Westbrook Fresh Produce LLP"),), ((8, "143 Commerce Drive"),), ((8, "Trans. No.: 223729"),),
            ((8, "------------------------------"),), ((8, "Pork shoulder"),), ((20, "2 kg x 10.51"), (132, "21.02")),
            ((8, "Soy sauce"), (137, "7.88")), ((20, "4 x 1.97"),), ((8, "------------------------------"),),
            ((8, "TOTAL:"), (127, "29.90"))]
    layout = _layout(*(_line(20 + 12 * i, *cells, size=7.0) for i, cells in enumerate(rows)), width=164, height=300)
    ex = extract_from_layout(layout)
    assert _values(ex.lines, "description") == ["Pork shoulder", "Soy sauce"]
    assert _values(ex.lines, "quantity") == [Decimal("2"), Decimal("4")]
    assert _values(ex.lines, "unit_price") == [Decimal("10.51"), Decimal("1.97")]
    assert _values(ex.lines, "amount") == [Decimal("21.02"), Decimal("7.88")]
    assert _values(ex.lines, "unit") == ["kg", None]


# ------------------------------------------------------------------------------------------- header

def test_number_beside_the_title_and_the_date_beside_the_number() -> None:
    ex = extract_from_layout(_layout(
        _line(20, (450, "Printed: 2024-08-23"), size=6.0),
        _line(40, (200, "DELIVERY NOTE"), size=14.0),
        _line(44, (450, "No: SH20260104920")),
        _line(56, (450, "Date 16/05/2024")),
        _line(120, (40, "Item"), (250, "Qty"), (300, "UoM")),
        _line(135, (40, "Stretch film"), (255, "10"), (300, "roll"))))
    assert _field(ex, "document_number") == "SH20260104920"
    assert _field(ex, "document_date") == date(2024, 5, 16)


def test_delivery_note_number_is_the_own_number_of_a_delivery_note_only() -> None:
    body = (_line(60, (40, "Lieferschein-Nr.: LS-171908")), _line(72, (40, "Datum: 20.09.2024")))
    note = extract_from_layout(_layout(_line(30, (40, "Lieferschein"), size=14.0), *body))
    invoice = extract_from_layout(_layout(_line(30, (40, "Rechnung"), size=14.0),
                                          _line(48, (40, "Rechnungsnummer: RE-2024-7")), *body))
    assert _field(note, "document_number") == "LS-171908"
    assert _field(invoice, "document_number") == "RE-2024-7"
    assert _field(invoice, "delivery_note_number") == "LS-171908"


def test_a_label_that_goes_on_does_not_take_its_neighbour() -> None:
    ex = extract_from_layout(_layout(
        _line(30, (40, "Facture"), size=14.0),
        _line(60, (40, "N° TVA client"), (200, "FR19787878784")),
        _line(72, (40, "Numéro de facture"), (200, "FA-2017-0010"))))
    assert _field(ex, "document_number") == "FA-2017-0010"


def test_compound_date_labels_and_the_dates_that_are_not_the_documents() -> None:
    ex = extract_from_layout(_layout(
        _line(30, (40, "Paklijst"), size=14.0),
        _line(60, (40, "Paklijstnummer: ZX23073782")),
        _line(72, (40, "Verzenddatum: 02-07-2023")),
        _line(84, (40, "Paklijstdatum: 6 juli 2023"))))
    assert _field(ex, "document_number") == "ZX23073782"
    assert _field(ex, "document_date") == date(2023, 7, 6)
    assert _field(ex, "delivery_date") == date(2023, 7, 2)


def test_ambiguous_dates_of_a_us_paper_read_month_first() -> None:
    text = "Brightline Fixings LLP\nAtlanta, GA 30339\nInvoice Date 04/05/2024\nTotal $3,075.50"
    assert document_conventions(text, language="en").dayfirst is False
    assert document_conventions("Datum 04/05/2024\n12345 Berlin", language="de").dayfirst is True


def test_order_number_wordings() -> None:
    for label, value in (("Ihr Auftrag:", "PO23041417"), ("Réf. commande :", "B-2024-9900"),
                         ("Inkoopordernr.:", "CG20241224-75"), ("Customer PO:", "PO23057016")):
        ex = extract_from_layout(_layout(_line(30, (40, "Invoice"), size=14.0), _line(60, (40, label), (160, value))))
        assert _field(ex, "po_number") == value, label


def test_negative_total_keeps_its_minus_and_short_terms_are_read() -> None:
    ex = extract_from_layout(_layout(
        _line(30, (40, "Credit Note"), size=14.0),
        _line(60, (40, "Terms: Net 14")),
        _line(72, (40, "Notes: Keep refrigerated")),
        _line(200, (350, "TOTAL:"), (450, "-7641.44 GBP"))))
    assert _field(ex, "total_amount") == Decimal("-7641.44")
    assert _field(ex, "payment_terms") == "Net 14"
    assert _field(ex, "remarks") == "Keep refrigerated"


def test_iban_followed_by_bic_on_its_line() -> None:
    ex = extract_from_layout(_layout(_line(30, (40, "Invoice"), size=14.0),
                                     _line(800, (40, "Belfius IBAN BE12 1820 4982 3371 BIC BELFBE2X"))))
    assert _field(ex, "supplier_bank_account") == "BE12 1820 4982 3371"


# ------------------------------------------------------------------------------------------ parties

def test_slogan_above_the_letterhead_is_not_the_supplier_name() -> None:
    ex = extract_from_layout(_layout(
        _line(30, (40, "Ihr Partner seit 1920"), size=7.0),
        _line(38, (40, "Muster Werkzeug"), size=16.0),
        _line(56, (40, "Hafenstraße 12")),
        _line(66, (40, "20457 Hamburg")),
        _line(120, (300, "Rechnung"), size=14.0)))
    assert _field(ex, "supplier_name") == "Muster Werkzeug"
    assert _field(ex, "supplier_address") == "Hafenstraße 12, 20457, Hamburg, DE"


def test_address_window_under_the_sender_line_is_the_buyer() -> None:
    ex = extract_from_layout(_layout(
        _line(40, (60, "Oakfield Components Ltd"), size=16.0),
        _line(60, (60, "102 Mill Lane, Bristol BS19 1YY")),
        _line(108, (38, "Oakfield Components Ltd · 102 Mill Lane · Bristol BS19 1YY"), size=5.0),
        _line(121, (36, "Northgate Components Ltd")),
        _line(131, (36, "126 Commerce Way")),
        _line(141, (36, "Leeds LS7 3LN")),
        _line(200, (300, "Commercial Invoice"), size=12.0)))
    assert _field(ex, "supplier_name") == "Oakfield Components Ltd"
    assert _field(ex, "supplier_address") == "102 Mill Lane, BS19 1YY, Bristol, GB"
    assert _field(ex, "buyer_name") == "Northgate Components Ltd"
    assert _field(ex, "buyer_address") == "126 Commerce Way, LS7 3LN, Leeds, GB"
    assert ex.fields["buyer_name"].bbox.y0 == 121   # the box is the name's line, not the sender line's


def test_labelled_buyer_block_and_a_name_that_holds_a_cue_word() -> None:
    ex = extract_from_layout(_layout(
        _line(30, (40, "Lieferant GmbH"), size=14.0),
        _line(46, (40, "Lieferantenstraße 20")),
        _line(56, (40, "80333 München")),
        _line(100, (40, "Rechnungsadresse:")),
        _line(110, (40, "Kunden AG Mitte")),
        _line(120, (40, "Kundenstraße 15")),
        _line(130, (40, "69876 Frankfurt")),
        _line(160, (300, "Rechnung"), size=14.0)))
    assert _field(ex, "supplier_name") == "Lieferant GmbH"
    assert _field(ex, "buyer_name") == "Kunden AG Mitte"
    assert _field(ex, "buyer_address") == "Kundenstraße 15, 69876, Frankfurt, DE"


def test_a_phone_in_the_buyer_block_is_not_the_suppliers() -> None:
    ex = extract_from_layout(_layout(
        _line(30, (40, "Armor Composants EURL"), size=14.0),
        _line(46, (40, "69 chemin des Vignes")),
        _line(56, (40, "59060 Lille")),
        _line(66, (40, "05 55 15 75 79")),
        _line(100, (300, "Fournisseur :")),
        _line(120, (40, "Client :")),
        _line(130, (40, "Quincaillerie Rhodanien SA")),
        _line(140, (40, "Kerkstraat 3")),
        _line(150, (40, "2019 Antwerpen")),
        _line(160, (40, "Téléphone : +32 8 433 41 20")),
        _line(200, (300, "Facture"), size=14.0)))
    assert _field(ex, "supplier_phone") == "05 55 15 75 79"
    assert _field(ex, "buyer_name") == "Quincaillerie Rhodanien SA"


def test_a_wide_gap_on_one_baseline_separates_the_name_from_a_label() -> None:
    page = Page(1, 595, 842, (_line(40, (190, "Weserland Hygiene e.K."), (345, "Belegnummer: RE-2024-18681")),
                              _line(52, (190, "Mühlenweg 24")), _line(62, (190, "04054 Leipzig"))))
    parties = [p for b in page_blocks(page) if (p := read_party(b))]
    assert [p.name for p in parties] == ["Weserland Hygiene e.K."]


def test_addresses_in_their_national_orders() -> None:
    assert structure_address(["36 Harbour Street", "Birmingham B6 2QS"]) == "36 Harbour Street, B6 2QS, Birmingham, GB"
    assert structure_address(["53 Harbour Road", "Dublin D12 R739"]) == "53 Harbour Road, D12 R739, Dublin, IE"
    assert structure_address(["56 Industrial Parkway", "Denver, CO 80299"]) == "56 Industrial Parkway, 80299, Denver, US"
    assert structure_address(["Weena 664", "3012 CN Rotterdam"]) == "Weena 664, 3012 CN, Rotterdam, NL"


def test_country_from_the_street_and_postcode_shape() -> None:
    assert country_of_address("69 chemin des Vignes, 59060, Lille") == "FR"
    assert country_of_address("rue de l'Industrie 33, 1070, Bruxelles") == "BE"
    assert country_of_address("Hauptstraße 178, 80198, München") == "DE"
    assert country_of_address("Lagerhausgasse 134, 8068, Graz") == "AT"
    assert country_of_address("Kerkstraat 171, 2051, Antwerpen") == "BE"
    assert country_of_address("Industrieweg 1, 1093, Bruxelles", "nl") == "BE"
    assert country_of_address("A-09-10 Prima Avenue, 47301, Petaling Jaya", "en") is None   # not a French avenue


def test_till_roll_address_in_postal_form_only_where_the_country_is_known() -> None:
    def till(*rows: str) -> Layout:
        lines = [Line(tuple(Word(t, BBox(20 + 40 * k, 30 + 22 * i, 55 + 40 * k, 44 + 22 * i))
                            for k, t in enumerate(row.split()))) for i, row in enumerate(rows)]
        return Layout((Page(1, 300, 1100, tuple(lines), source="ppocr:test"),), "ppocr:test")
    tail = ("TAX INVOICE", "Date: 05/03/2018", "SUGAR 2.90", "Total: 2.90", "CASH 5.00", "THANK YOU")
    european = extract_from_layout(till("PAPETERIE BASTIDE SARL", "173 boulevard Gambetta", "35044 Rennes", *tail))
    malaysian = extract_from_layout(till("KEDAI MAJU SDN BHD", "NO 12, JALAN BESAR,", "43000 KAJANG, SELANGOR", *tail))
    assert _field(european, "supplier_address") == "173 boulevard Gambetta, 35044, Rennes, FR"
    assert _field(malaysian, "supplier_address") == "NO 12, JALAN BESAR, 43000 KAJANG, SELANGOR"


def test_an_unlabelled_date_is_the_one_beside_the_number() -> None:
    ex = extract_from_layout(_layout(
        _line(20, (450, "Formular 01.02.2021"), size=6.0),
        _line(40, (40, "Rechnung"), size=14.0),
        _line(60, (40, "Nr. RE-77"), (200, "15.03.2024"))))
    assert _field(ex, "document_number") == "RE-77"
    assert _field(ex, "document_date") == date(2024, 3, 15)


def test_one_word_label_then_a_name_of_its_own() -> None:
    ex = extract_from_layout(_layout(
        _line(30, (40, "De Groot Groothandel N.V."), size=14.0),
        _line(46, (40, "Havenweg 51")),
        _line(56, (40, "8071 SP Zwolle")),
        _line(66, (40, "T 061-2333948")),
        _line(100, (40, "Afnemer Van Dijk Kantoorartikelen B.V.")),
        _line(110, (40, "Kanaalstraat 12")),
        _line(120, (40, "3548 HN Utrecht")),
        _line(160, (300, "Factuur"), size=14.0)))
    assert _field(ex, "buyer_name") == "Van Dijk Kantoorartikelen B.V."
    assert _field(ex, "buyer_address") == "Kanaalstraat 12, 3548 HN, Utrecht, NL"
    assert _field(ex, "supplier_phone") == "061-2333948"


def test_a_buyer_abroad_takes_the_country_of_its_own_postcode() -> None:
    ex = extract_from_layout(_layout(
        _line(30, (40, "Kempen Papier BV"), size=14.0),
        _line(46, (40, "Kanaalstraat 126")),
        _line(56, (40, "8042 YD Zwolle")),
        _line(100, (40, "Aan:")),
        _line(110, (40, "Taunus Lebensmittel KG")),
        _line(120, (40, "Gewerbering 124")),
        _line(130, (40, "28268 Bremen")),
        _line(160, (300, "Factuur"), size=14.0)))
    assert _field(ex, "supplier_address") == "Kanaalstraat 126, 8042 YD, Zwolle, NL"
    assert _field(ex, "buyer_address") == "Gewerbering 124, 28268, Bremen, DE"


# ------------------------------------------------------------------------------------------- receipts

def test_receipt_items_are_found_where_ocr_dropped_the_rules_around_them() -> None:
    """A photographed till roll whose rules of stars OCR did not read: the list starts at the first run
    of item rows (a description with its amount, then its 'qty x price' row), and the header's
    'Bon-Nr.: 452/57374' or the address is no item."""
    from extractors.receipt_lines import receipt_items
    layout = _layout(
        _line(20, (20, "Taunus Elektronik AG")),
        _line(32, (20, "Lagerweg 110")),
        _line(44, (20, "44286 Dortmund")),
        _line(56, (20, "Bon-Nr.: 452/57374")),
        _line(80, (20, "Keramikkondensator 100nF"), (200, "21,20 A")),
        _line(92, (30, "4 x 5,30")),
        _line(104, (20, "Jasminreis"), (200, "23,54 B")),
        _line(116, (20, "USB-C-Kabel"), (200, "5,19 A")),
        _line(128, (30, "3 x 1,73")),
        _line(150, (20, "Zu zahlen:"), (200, "49,93 EUR")),
    )
    items = receipt_items(layout, DE)
    assert _values(items, "description") == ["Keramikkondensator 100nF", "Jasminreis", "USB-C-Kabel"]
    assert _values(items, "amount") == [Decimal("21.20"), Decimal("23.54"), Decimal("5.19")]
    assert _values(items, "quantity") == [Decimal("4"), None, Decimal("3")]


def test_receipt_items_without_rules_start_at_a_description_and_its_quantity_row() -> None:
    """The amount printed on the 'qty x price' row under the description, and no rule read."""
    from extractors.receipt_lines import receipt_items
    layout = _layout(
        _line(20, (20, "Nordfrost Befestigungstechnik KG")),
        _line(32, (20, "Lindenallee 67")),
        _line(44, (20, "20535 Hamburg")),
        _line(56, (20, "Kassierer: Jonas Becker")),
        _line(80, (20, "Arbeitshandschuhe Nitril")),
        _line(92, (30, "3,00 x 3,15"), (200, "9,45")),
        _line(104, (20, "Rapsöl")),
        _line(116, (30, "1,00 x 9,35"), (200, "9,35")),
        _line(140, (20, "Gesamt:"), (200, "18,80 EUR")),
    )
    items = receipt_items(layout, DE)
    assert _values(items, "description") == ["Arbeitshandschuhe Nitril", "Rapsöl"]
    assert _values(items, "amount") == [Decimal("9.45"), Decimal("9.35")]


# ------------------------------------------------------------------ other generators' layouts (issue 14)

def test_count_printed_under_a_units_title_is_the_quantity() -> None:
    # 'Units' over '3 pcs' (count and unit, right of the narrow title) and a 'Total price' beside the
    # 'Total price with tax': the count is the quantity, the net total the line amount
    layout = _layout(
        _line(100, (50, "Description"), (260, "Units"), (310, "Price per one"), (390, "Total price"),
              (450, "Tax"), (480, "Total price with tax")),
        _line(115, (50, "Hex bolt M8x40"), (285, "3 pcs"), (320, "18.11"), (400, "54.33"), (452, "10 %"),
              (500, "59.76")),
        _line(130, (50, "Cable ties"), (285, "12 box"), (320, "2.50"), (400, "30.00"), (452, "10 %"),
              (500, "33.00")))
    items = extract_lines(layout, EN, language="en")
    assert _values(items, "quantity") == [Decimal("3"), Decimal("12")]
    assert _values(items, "unit") == ["pcs", "box"]
    assert _values(items, "amount") == [Decimal("54.33"), Decimal("30.00")]


def test_units_column_of_bare_counts_and_an_amount_with_tax_alone() -> None:
    layout = _layout(
        _line(100, (50, "Product name"), (200, "Units"), (260, "Unit Price"), (340, "Amount incl. VAT")),
        _line(115, (50, "Copper pipe 15mm"), (205, "4"), (265, "35.74"), (350, "142.96")),
        _line(130, (50, "Hand soap refill"), (205, "28"), (265, "15.37"), (350, "430.36")))
    items = extract_lines(layout, EN, language="en")
    assert _values(items, "quantity") == [Decimal("4"), Decimal("28")]
    assert _values(items, "amount") == [Decimal("142.96"), Decimal("430.36")]


def test_party_form_of_labels_beside_their_values() -> None:
    # 'Service Provider' and 'Client' over two columns of 'Name:' / 'Street:' / 'City:' label cells
    layout = _layout(
        _line(60, (400, "Invoice id: INV-35125")), _line(72, (400, "Invoice date: 2025-09-16")),
        _line(100, (60, "Service Provider")), _line(100, (300, "Client")),
        _line(115, (60, "Name:")), _line(115, (120, "Greenway Produce Ltd")), _line(115, (300, "Name:")),
        _line(115, (360, "Harbor Electric Supply")),
        _line(127, (60, "Street:")), _line(127, (120, "Hauptstrasse 88")), _line(127, (300, "Street:")),
        _line(127, (360, "4410 Commerce Blvd")),
        _line(139, (60, "City:")), _line(139, (120, "Hamburg")), _line(139, (300, "City:")),
        _line(139, (360, "Boston")),
        _line(151, (60, "Post code:")), _line(151, (120, "20095")), _line(151, (300, "Post code:")),
        _line(151, (360, "02110")))
    out = extract_from_layout(layout)
    assert _field(out, "supplier_name") == "Greenway Produce Ltd"
    assert _field(out, "buyer_name") == "Harbor Electric Supply"


def test_a_party_label_a_few_spaces_after_a_value_starts_the_next_column() -> None:
    # 'Name: Oakridge Inc  Name: Northfield Co' on one baseline; 'Te betalen voor: 27 oktober' stays one
    line = Line((Word("Oakridge", BBox(154, 192, 195, 204)), Word("Inc", BBox(198, 192, 211, 204)),
                 Word("Name:", BBox(217, 192, 246, 204)), Word("Northfield", BBox(249, 192, 290, 204))))
    other = Line((Word("Te", BBox(348, 220, 358, 233)), Word("betalen", BBox(364, 220, 402, 233)),
                  Word("voor:", BBox(407, 220, 434, 233)), Word("27", BBox(440, 220, 451, 233))))
    page = Page(1, 595, 842, (line, other))
    assert [ln.text for ln, _ in cut_lines(page)] == ["Oakridge Inc", "Name: Northfield", "Te betalen voor: 27"]


# --------------------------------------------------------------- what OCR does to a table (issue 14)

def test_stacked_titles_read_as_one_phrase_and_a_title_row_split_in_two() -> None:
    # 'Unit' over 'Cost' is the unit price, not the unit; 'excl.' 'btw' under 'Bedrag' is one title
    layout = _layout(
        _line(100, (50, "Item"), (180, "Unit"), (225, "Delivered"), (290, "Unit"), (350, "Bedrag")),
        _line(110, (290, "Cost"), (350, "excl."), (372, "btw")),
        _line(125, (50, "Chicken breast"), (182, "kg"), (230, "3.40"), (292, "10.38"), (355, "35.29")),
        _line(140, (50, "Soy sauce"), (182, "bottle"), (230, "2.00"), (292, "3.85"), (360, "7.70")))
    items = extract_lines(layout, EN, language="en")
    assert _values(items, "unit_price") == [Decimal("10.38"), Decimal("3.85")]
    assert _values(items, "amount") == [Decimal("35.29"), Decimal("7.70")]


def test_a_count_run_into_its_unit_and_an_accent_misread_in_a_title() -> None:
    # '10Stk' (no space read) under 'Menge'; 'Qtē' for 'Qté'
    de = _layout(
        _line(100, (50, "Bezeichnung"), (250, "Menge"), (320, "Einzelpreis"), (420, "Gesamt")),
        _line(115, (50, "Kabelbinder"), (252, "10Stk"), (330, "2,50"), (430, "25,00")),
        _line(130, (50, "Dübel 8 mm"), (252, "50St."), (330, "0,10"), (430, "5,00")))
    items = extract_lines(de, DE, language="de")
    assert _values(items, "quantity") == [Decimal("10"), Decimal("50")]
    assert _values(items, "unit") == ["Stk", "St."]
    fr = _layout(
        _line(100, (50, "Article"), (220, "Uv"), (262, "Qtē"), (320, "PU HT"), (400, "Montant HT")),
        _line(115, (50, "Huile de colza"), (208, "boite"), (245, "20,000"), (322, "26,43"), (405, "528,60")),
        _line(130, (50, "Riz jasmin"), (214, "sac"), (245, "120,000"), (322, "27,06"), (400, "3.247,20")))
    items = extract_lines(fr, DE, language="fr")
    assert _values(items, "quantity") == [Decimal("20"), Decimal("120")]
    assert _values(items, "unit") == ["boite", "sac"]


def test_a_code_a_little_left_of_the_description_title_stays_in_its_own_column() -> None:
    # OCR places words a point or two off: the description starting 2 pt left of its title is still its own
    layout = _layout(
        _line(100, (60, "#"), (87, "Article"), (147.5, "Description"), (300, "Qty"), (360, "Rate"), (430, "Value"),
              size=12.0),
        _line(118, (60, "001"), (87, "SKU-46733"), (144.5, "Hex bolt M8x40"), (300, "8.00"), (360, "16.36"),
              (430, "130.88"), size=12.0),
        _line(136, (60, "002"), (87, "SKU-41220"), (148, "Wall anchor 8mm"), (300, "5.00"), (360, "3.68"),
              (430, "18.40"), size=12.0))
    items = extract_lines(layout, EN, language="en")
    assert _values(items, "supplier_sku") == ["SKU-46733", "SKU-41220"]
    assert _values(items, "description") == ["Hex bolt M8x40", "Wall anchor 8mm"]


# -------------------------------------------------------------- header and parties on scans (issue 14)

def _ocr_page(*lines: Line) -> Layout:
    return Layout((Page(1, 595, 842, tuple(lines), source="ppocr:test"),), "ppocr:test")


def _boxed(y: float, h: float, *words: tuple[str, float, float]) -> Line:
    """An OCR line: (text, x0, x1) words in boxes `h` high (OCR boxes are looser than the type)."""
    return Line(tuple(Word(t, BBox(x0, y, x1, y + h)) for t, x0, x1 in words))


def test_values_under_their_labels_where_ocr_boxes_overlap_the_label() -> None:
    layout = _ocr_page(
        _boxed(43, 20, ("Northgate", 48, 125), ("Fixings", 130, 184), ("Limited", 185, 243)),
        _boxed(61, 15, ("81", 44, 54), ("Canal", 56, 78), ("Road,", 80, 100), ("Birmingham", 102, 143),
               ("B14", 147, 160), ("3AJ", 162, 177)),
        _boxed(73, 16, ("Northgate", 48, 81), ("Fixings", 84, 109), ("Limited", 111, 133), ("·", 138, 141),
               ("81", 144, 149), ("Canal", 152, 171), ("Road", 174, 188), ("·", 190, 193),
               ("Birmingham", 195, 231), ("B14", 236, 245), ("3AJ", 250, 258)),
        _boxed(76, 15, ("Invoice", 374, 404), ("Number", 408, 449)),
        _boxed(77, 15, ("Invoice", 485, 515), ("Date", 519, 548)),
        _boxed(86, 17, ("Ashford", 49, 85), ("Industrial", 90, 139), ("Supplies", 141, 182), ("Ltd.", 187, 206)),
        _boxed(86, 16, ("INV-113275", 376, 425)),
        _boxed(87, 17, ("14", 487, 499), ("Aug", 501, 519), ("2025", 521, 544)),
        _boxed(99, 15, ("2", 49, 54), ("Canal", 56, 83), ("Road", 85, 107)),
        _boxed(110, 16, ("Manchester", 49, 100), ("M14", 105, 123), ("2SX", 125, 143)))
    out = extract_from_layout(layout)
    assert _field(out, "document_number") == "INV-113275"
    assert _field(out, "document_date") == date(2025, 8, 14)
    assert _field(out, "supplier_name") == "Northgate Fixings Limited"
    assert _field(out, "buyer_name") == "Ashford Industrial Supplies Ltd."


def test_an_ocr_line_is_cut_where_the_type_size_changes() -> None:
    # one detection row: the letterhead name in large type, a label and value in small type beside it
    page = Page(1, 595, 842, (
        _boxed(40, 25, ("Pennine", 145, 224), ("Fixings", 232, 307), ("PLC", 314, 352)),
        ), source="ppocr:test")
    small = Line(page.lines[0].words + (Word("Inv.", BBox(366, 45, 385, 59)), Word("No.", BBox(389, 45, 406, 59)),
                                        Word("FA2023-70672", BBox(413, 45, 478, 60))))
    page = replace(page, lines=(small,))
    assert [ln.text for ln, _ in cut_lines(page)] == ["Pennine Fixings PLC", "Inv. No. FA2023-70672"]


def test_till_roll_rows_of_count_unit_price_and_amount_under_a_vat_line() -> None:
    # the shop's VAT id line above the items is no total; 'Balance' is what the receipt totals to
    layout = _layout(
        _line(20, (13, "Pennine Food Service Ltd")), _line(30, (13, "75 Mill Lane")),
        _line(40, (13, "Birmingham B8 1DS")), _line(50, (13, "VAT: GB419020681")),
        _line(60, (13, "Ticket No.: 20230905388331")),
        _line(75, (13, "Apples"), (70, "1"), (76, "kg"), (108, "3.12"), (138, "3.12"), (156, "A")),
        _line(85, (13, "Jasmine rice"), (79, "4"), (104, "38.17"), (130, "152.68"), (155, "A")),
        _line(95, (13, "Chicken breast fillet")),
        _line(105, (68, "3"), (74, "kg"), (104, "10.20"), (134, "30.60"), (157, "A")),
        _line(120, (15, "Balance:"), (128, "£186.40")), _line(130, (13, "VISA")),
        width=200.0, height=300.0)
    out = extract_from_layout(layout)
    assert [it.fields["description"].value for it in out.lines] == ["Apples", "Jasmine rice", "Chicken breast fillet"]
    assert _values(out.lines, "quantity") == [Decimal("1"), Decimal("4"), Decimal("3")]
    assert _values(out.lines, "unit") == ["kg", None, "kg"]
    assert _field(out, "total_amount") == Decimal("186.40")


def test_letterhead_name_over_its_tax_id_with_the_address_in_the_footer() -> None:
    layout = _layout(
        _line(40, (102, "Kestrel Components Ltd"), size=16.0), _line(40, (376, "Dispatch Note"), size=16.0),
        _line(60, (152.4, "Tax ID: 49-5398284")),   # centred under the name
        _line(80, (56, "Delivery Note No."), (183, "Delivery Note Date")),
        _line(92, (56, "DN24041907"), (184, "04/07/2024")),
        _line(92, (323, "Ashford Office Supplies LLP")), _line(102, (322, "172 Logistics Blvd")),
        _line(112, (323, "Atlanta, GA 30343")),
        _line(800, (150, "Kestrel Components Ltd · 74 Commerce Drive · Fremont, CA 94548")))
    out = extract_from_layout(layout)
    assert _field(out, "supplier_name") == "Kestrel Components Ltd"
    assert _field(out, "buyer_name") == "Ashford Office Supplies LLP"


def test_title_rows_that_name_their_columns_only_together() -> None:
    # 'Qty Delivered' read as one phrase over 'Ordered' under 'Qty': ordered and delivered are two columns;
    # 'Gel.' over 'Menge' names the quantity only with the row under it
    en = _layout(
        _line(100, (60, "Goods"), (286, "Qty"), (306, "Delivered"), (352, "U/M")),
        _line(110, (269, "Ordered")),
        _line(125, (60, "Lever arch file"), (295, "8"), (339, "7"), (352, "pcs")),
        _line(140, (60, "Gel pen black"), (289, "10"), (334, "10"), (352, "ctn")))
    items = extract_lines(en, EN, language="en")
    assert _values(items, "quantity") == [Decimal("7"), Decimal("10")]
    de = _layout(
        _line(100, (37, "Beschreibung"), (456, "Gel."), (483, "ME"), (510, "Bemerkung")),
        _line(110, (446, "Menge")),
        _line(125, (38, "USB-C-Kabel"), (463, "50"), (486, "St.")),
        _line(140, (37, "Leiterplatte"), (462, "12"), (484, "Stk")))
    items = extract_lines(de, DE, language="de")
    assert _values(items, "quantity") == [Decimal("50"), Decimal("12")]
    assert _values(items, "description") == ["USB-C-Kabel", "Leiterplatte"]
