"""The catalogue matching of the mapping assistant, without a database."""

import time

import pytest

from odoo.addons.cartona_marketplace.cartona.matching import (
    METHOD_BARCODE,
    METHOD_INTERNAL_ID,
    METHOD_MAPPED,
    METHOD_NAME,
    Variant,
    match,
    normalise,
)
from odoo.addons.cartona_marketplace.cartona.payloads import CatalogueItem


@pytest.mark.parametrize(
    ("written", "normalised"),
    [
        # Case, accents, spacing.
        ("  Café   CRÈME ", "cafe creme"),
        # Tashkeel and tatweel.
        ("زَيْتُ عَبّادِ الشَّمْسِ", "زيت عباد الشمس"),
        ("مكرونـــــة", "مكرونه"),
        # Alef forms, yeh / alef maqsura, teh marbuta.
        ("أرز إسباني آمن ٱلمصنع", "ارز اسباني امن المصنع"),
        ("مصرى", "مصري"),
        ("علبة", "علبه"),
        # Arabic-Indic and Persian digits, the Arabic decimal separator.
        ("سكر ١٫٥ كجم", "سكر 1500g"),
        ("شاي ۲۵ فتلة", "شاي 25 فتله"),
        # One size, however it is written.
        ("Sugar 1.5 kg", "sugar 1500g"),
        ("سكر 1,5كجم", "سكر 1500g"),
        ("سكر 1.5 كيلو", "سكر 1500g"),
        ("سكر 1500 جم", "sugar 1500g".replace("sugar", "سكر")),
        ("زيت 1 لتر", "زيت 1000ml"),
        ("Oil 1L", "oil 1000ml"),
        ("مشروب غازي - 330 ملل", "مشروب غازي 330ml"),
        ("Soda 330ml.", "soda 330ml"),
        # Presentation forms (lam-alef ligature).
        ("ﻻ", "لا"),
        ("", ""),
        (None, ""),
    ],
)
def test_normalise(written, normalised):
    assert normalise(written) == normalised


def item(cartona_id, name, internal=None, unit=None, count=None):
    return CatalogueItem(cartona_id, internal, name, None, unit, count, None, None)


def test_keys_come_before_names():
    variants = [
        Variant(1, "Sunflower oil 1 L", default_code="311#1"),
        Variant(2, "Rice 1 kg", barcode="6221234567890"),
        Variant(3, "Soda 330 ml", cartona_id="220731"),
        Variant(4, "زيت عباد الشمس 1 لتر"),
        Variant(5, "Black tea", cartona_internal_id="479"),
    ]
    items = [
        item("311001", "زيت عباد الشمس - 1 لتر", internal="311#1"),
        item("518001", "something else", internal="6221234567890"),
        item("220731", "مشروب غازي"),
        item("110774", "شاي", internal="479"),
    ]
    proposals = match(items, variants)
    assert [(p.variant_id, p.method, p.confidence) for p in proposals] == [
        (1, METHOD_INTERNAL_ID, 100),
        (2, METHOD_BARCODE, 95),
        (3, METHOD_MAPPED, 100),
        (5, METHOD_MAPPED, 100),
    ]


def test_names_match_across_spellings_and_sizes_decide():
    variants = [
        Variant(1, "أرز مصري 1 كيلو"),
        Variant(2, "أرز مصري 5 كيلو"),
        Variant(3, "سكر أبيض ١ كجم"),
    ]
    proposals = match(
        [item("A", "ارز مصرى - 5 كجم"), item("B", "سكر ابيض 1000 جرام"), item("C", "Motor oil")], variants
    )
    assert [(p.variant_id, p.method) for p in proposals] == [(2, METHOD_NAME), (3, METHOD_NAME), (None, None)]
    assert proposals[0].confidence >= 90
    assert proposals[2].confidence == 0


def test_unit_and_pieces_break_a_tie():
    variants = [
        Variant(1, "Sunflower oil 1 L"),
        Variant(2, "Sunflower oil 1 L", unit_count=12, unit_name="Box of 12"),
    ]
    box, piece = match([item("A", "Sunflower oil 1L", unit="box", count=12), item("B", "Sunflower oil 1L")], variants)
    assert (box.variant_id, piece.variant_id) == (2, 1)
    # The same names, nothing to break the tie: a proposal, but an unsure one.
    tie = match(
        [item("A", "Sunflower oil 1L", unit="box", count=12)],
        [Variant(1, "Sunflower oil 1 L"), Variant(2, "Sunflower oil 1 L")],
    )
    assert tie[0].variant_id and tie[0].confidence < box.confidence


def test_a_variant_goes_to_one_cartona_product():
    proposals = match(
        [item("A", "Black tea 25 bags"), item("B", "Black tea 25 bags box")], [Variant(1, "Black tea 25 bags")]
    )
    assert [p.variant_id for p in proposals] == [1, None]


def test_thousands_against_thousands():
    """5,000 Cartona names against 5,000 variants: blocking keeps it to seconds
    (a generous bound here, the benchmark gives the figures)."""
    words = ["زيت", "أرز", "سكر", "شاي", "مكرونة", "صابون", "عصير", "جبنة", "لبن", "بسكويت"]
    brands = [f"ماركة{n}" for n in range(500)]
    variants = [Variant(i, f"{words[i % 10]} {brands[i % 500]} {1 + i // 500} كجم") for i in range(5000)]
    items = [item(str(i), f"{words[i % 10]} {brands[i % 500]} - {1 + i // 500} كيلو") for i in range(5000)]
    start = time.monotonic()
    proposals = match(items, variants)
    assert time.monotonic() - start < 60
    assert sum(p.variant_id == int(p.supplier_product_id) for p in proposals) > 4900
