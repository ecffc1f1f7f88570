"""A generated catalogue with its truth, for the mapping assistant's matching
(tests/test_matching.py) and ``make bench-mapping``.

Plain Python: ``make(cartona_count, rng)`` gives Odoo products, Cartona items
and, for each Cartona item, the Odoo product it is (or none). Goods come in
several brands and sizes; brands of one good differ by one word ("زيت ذرة
كريستال" / "زيت ذرة عافية"). Cartona writes a name as another person would:
other letter forms, tashkeel, its own way of writing the size and the pieces,
a packaging word. Some Cartona products are not in Odoo: another brand or size
of a good Odoo has. Some Odoo products are not on Cartona. Cartona names some
products by internal reference or barcode, the rest by name only.
"""

import itertools

GOODS = (
    "زيت ذرة",
    "زيت عباد الشمس",
    "أرز مصري",
    "سكر أبيض",
    "شاي أسود",
    "شاي أخضر",
    "مكرونة اسباجتي",
    "مكرونة قلم",
    "صابون سائل",
    "عصير مانجو",
    "عصير برتقال",
    "جبنة بيضاء",
    "جبنة رومي",
    "لبن كامل الدسم",
    "بسكويت بالشوكولاتة",
    "دقيق فاخر",
    "سمن نباتي",
    "عدس أصفر",
    "فول مدمس",
    "تونة قطع",
    "مسحوق غسيل",
    "ملح طعام",
    "خل أبيض",
    "مربى فراولة",
    "حلاوة طحينية",
    "عسل أسود",
    "صلصة طماطم",
    "كاتشب",
    "مايونيز",
    "نسكافيه",
    "كاكاو",
    "شوفان",
    "ذرة فشار",
    "Corn oil",
    "Basmati rice",
    "Instant coffee",
    "Tomato paste",
    "Dish soap",
    "Mineral water",
)
BRANDS = (
    "كريستال",
    "عافية",
    "هلا",
    "الضحى",
    "جهينة",
    "المراعي",
    "دومتي",
    "بيتي",
    "الشمعدان",
    "إيزيس",
    "Royal",
    "Delta",
    "Nour",
    "Golden",
    "الأهرام",
    "فرحة",
    "زهرة",
    "الفراشة",
    "النخلة",
    "سيناء",
    "الواحة",
    "رشيدي",
    "بسمة",
    "الريف",
    "الصفوة",
    "Prima",
    "Star",
    "Fresh",
    "Happy",
    "Max",
)
# Sizes as Odoo writes them, and the ways Cartona writes the same size.
SIZES = (
    ("1 كجم", ("1 كيلو", "1 كجرام", "1 كيلوجرام", "1ك", "1000 جرام", "1 kg", "1000 gm")),
    ("500 جم", ("500 جرام", "500 غرام", "500غ", "500 gm", "500 gr", "0.5 كجم")),
    ("400 جم", ("400 جرام", "400 غرام", "400 gr", "400gm")),
    ("5 كجم", ("5 كيلو", "5 كجرام", "5000 جرام", "5 kg")),
    ("1.5 كجم", ("1,5 كيلو", "1٫5 كجم", "1500 جرام", "1.5 kg")),
    ("1 لتر", ("1 ل", "1 ltr", "1L", "1000 مل", "1000 ملل")),
    ("1.5 لتر", ("1,5 لتر", "1.5 ltr", "1500 ملل", "1٫5 ل")),
    ("330 مل", ("330 ملل", "330 ml", "330مل")),
    ("2.25 لتر", ("2,25 لتر", "2250 مل", "2.25 ltr")),
)
# Pieces in one Cartona unit: as Odoo writes them, and as Cartona does.
PIECES = (
    (1, "", ("",)),
    (6, "6 قطع", ("x6", "6 pcs", "6 قطعه")),
    (12, "x12", ("12 قطعة", "× 12", "12 pcs", "12x")),
    (24, "24 قطعة", ("x24", "24 pcs")),
)
PACKAGING = (" -- كرتونة", " عبوة", " علبة", " - كرتونه")
TASHKEEL = "\u064e\u064f\u0650\u0651"
# Which share of Cartona's products are not in Odoo, are named by internal
# reference, by barcode; and how many Odoo products are not on Cartona, per
# Cartona product.
CARTONA_ONLY = 0.1
BY_REFERENCE = 0.3
BY_BARCODE = 0.1
ODOO_ONLY = 0.5


def rewrite(name, rng):
    """``name`` as another person would type it: letter forms, tashkeel, tatweel."""
    for written, other, chance in (("ا", "أ", 0.4), ("ي ", "ى ", 0.5), ("ة", "ه", 0.4), ("ه ", "ة ", 0.2)):
        if rng.random() < chance:
            name = name.replace(written, other, 1)
    if rng.random() < 0.3:
        letters = list(name)
        at = rng.randrange(len(letters))
        if "\u0621" <= letters[at] <= "\u064a":  # a tashkeel mark goes on an Arabic letter
            letters.insert(at + 1, rng.choice(TASHKEEL))
        name = "".join(letters)
    if rng.random() < 0.1:
        name = name.replace("ل", "لـ", 1)
    return name


def make(count, rng):
    """``(odoo products, cartona items, truth)``: ``count`` Cartona items (dicts
    as Cartona serves them), more Odoo products (dicts of name, default_code,
    barcode), and ``{supplier_product_id: default_code or None}``."""
    combos = list(itertools.product(GOODS, BRANDS, range(len(SIZES))))
    if count * (1 + ODOO_ONLY) > len(combos) * 0.9:
        raise ValueError(f"at most {round(len(combos) * 0.9 / (1 + ODOO_ONLY))} Cartona products")
    rng.shuffle(combos)
    in_both = combos[: round(count * (1 - CARTONA_ONLY))]
    taken = set(in_both)
    # Cartona-only products are the near neighbours of shared ones: another
    # brand, or another size, of the same good.
    cartona_only = []
    for good, brand, size in itertools.cycle(in_both):
        if len(cartona_only) >= count - len(in_both):
            break
        other = (good, rng.choice(BRANDS), size) if rng.random() < 0.6 else (good, brand, rng.randrange(len(SIZES)))
        if other not in taken:
            taken.add(other)
            cartona_only.append(other)
    odoo_only = [combo for combo in combos if combo not in taken][: round(count * ODOO_ONLY)]
    # Cartona sells a product by the piece or by a box of pieces; Odoo's name
    # may say the pieces of the box too.
    pieces = [rng.randrange(len(PIECES)) for _combo in in_both + cartona_only]

    products, items, truth = [], [], {}
    for number, (good, brand, size) in enumerate(in_both + odoo_only):
        count_word = PIECES[pieces[number]][1] if number < len(in_both) and rng.random() < 0.5 else ""
        name = f"{good} {brand} {SIZES[size][0]} {count_word}".strip()
        products.append({"name": name, "default_code": f"P{number:05d}", "barcode": f"622{number:010d}"})
    for number, (good, brand, size) in enumerate(in_both + cartona_only):
        cartona_id = str(700000 + number)
        unit_count, _odoo_word, cartona_words = PIECES[pieces[number]]
        item = {
            "supplier_product_id": cartona_id,
            "unit": "box" if unit_count > 1 else "piece",
            "unit_count": unit_count,
        }
        known = number < len(in_both)
        kind = rng.random()
        if known and kind < BY_REFERENCE:
            item["internal_product_id"] = products[number]["default_code"]
        elif known and kind < BY_REFERENCE + BY_BARCODE:
            item["internal_product_id"] = products[number]["barcode"]
        count_word = rng.choice(cartona_words) if rng.random() < 0.7 else ""
        words = [rewrite(good, rng), rewrite(brand, rng), rng.choice(SIZES[size][1]), count_word]
        if rng.random() < 0.2:
            words[:2] = words[1::-1]
        name = " ".join(word for word in words if word)
        if rng.random() < 0.3:
            name += rng.choice(PACKAGING)
        item["product_name"] = name
        items.append(item)
        truth[cartona_id] = products[number]["default_code"] if known else None
    rng.shuffle(items)
    return products, items, truth


def score(items, proposals, truth, sure):
    """What the proposals are worth against the truth: ``proposals`` in the
    order of ``items`` (dicts as ``make`` gives them), each ``(variant code or
    None, confidence)``; ``sure`` the confidence from which a proposal is sure."""
    made = wrong = wrong_sure = keys = keys_found = names = names_found = 0
    for item, (code, confidence) in zip(items, proposals, strict=True):
        expected = truth[item["supplier_product_id"]]
        right = code == expected
        if code:
            made += 1
            wrong += not right
            wrong_sure += not right and confidence >= sure
        if expected and item.get("internal_product_id"):
            keys += 1
            keys_found += right
        elif expected:
            names += 1
            names_found += right
    return {
        "proposals": made,
        "wrong": wrong,
        "wrong_sure": wrong_sure,
        "precision": 1 - wrong / made if made else 1.0,
        "key_recall": keys_found / keys if keys else 1.0,
        "name_recall": names_found / names if names else 1.0,
    }
