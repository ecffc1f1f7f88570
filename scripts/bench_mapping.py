"""Catalogue mapping benchmark: a Cartona catalogue of 5,000 products against
5,000 Odoo products, read, matched and shown.

Run by ``make bench-mapping`` (scripts/bench_mapping.sh) on a fresh database.
Cartona is a ``responses`` stand-in on 127.0.0.1 serving the catalogue page by
page, so the figures are the connector's own cost, not the network's. The
catalogue names the products as suppliers do: by internal reference, by
barcode, or by a name written another way (alef and yeh forms, tashkeel,
"1,5كجم" for "1.5 kg"); some of its products are not in Odoo.
"""

import argparse
import json
import logging
import os
import platform
import random
import time

import responses

import odoo
from odoo import SUPERUSER_ID, api

BASE_URL = "http://127.0.0.1:8069/cartona/api/v1/"
WORDS = (
    "زيت عباد الشمس",
    "أرز مصري",
    "سكر أبيض",
    "شاي أسود",
    "مكرونة اسباجتي",
    "صابون سائل",
    "عصير مانجو",
    "جبنة بيضاء",
    "لبن كامل الدسم",
    "بسكويت بالشوكولاتة",
    "دقيق فاخر",
    "سمن نباتي",
    "عدس أصفر",
    "فول مدمس",
    "تونة قطع",
    "مسحوق غسيل",
    "Sunflower oil",
    "Basmati rice",
    "Green tea",
    "Instant coffee",
    "Tomato paste",
    "Corn flakes",
    "Dish soap",
    "Mineral water",
    "Chocolate wafer",
)
BRANDS = [f"{name} {n}" for n in range(1, 9) for name in ("النيل", "الأمل", "Delta", "Nour", "كريستال")]
SIZES = (("1 كجم", "1 كيلو"), ("1.5 kg", "1,5كجم"), ("500 g", "500 جرام"), ("400 جم", "400 gm"), ("1 لتر", "1L"))
SIZES += (("330 ml", "330 ملل"), ("2.25 لتر", "2,25 لتر"), ("5 كجم", "5 kg"))
TASHKEEL = "\u064e\u064f\u0650\u0651"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", required=True, help="Odoo configuration file")
    parser.add_argument("--database", required=True)
    parser.add_argument("--products", type=int, default=5_000)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--seed", type=int, default=12)
    return parser.parse_args()


def rewrite(name, rng):
    """``name`` as another person would type it."""
    if rng.random() < 0.5:
        name = name.replace("ا", "أ", 1)
    if rng.random() < 0.5:
        name = name.replace("ي ", "ى ")
    if rng.random() < 0.4:
        name = name.replace("ة", "ه")
    if rng.random() < 0.3:
        letters = list(name)
        at = rng.randrange(len(letters))
        letters.insert(at + 1, rng.choice(TASHKEEL))
        name = "".join(letters)
    return name + (" -- كرتونة" if rng.random() < 0.2 else "")


def make_data(count, rng):
    """``(odoo products, catalogue items, expected {cartona id: default code})``:
    ``count`` of each; one Cartona product in twenty is not in Odoo, and as many
    Odoo products are not on Cartona."""
    combos = [(w, b, s) for w in WORDS for b in BRANDS for s in SIZES]
    rng.shuffle(combos)
    products, items, expected = [], [], {}
    spare = iter(combos[count:])
    for i, (word, brand, (odoo_size, cartona_size)) in enumerate(combos[:count]):
        code = f"P{i:05d}"
        barcode = f"622{i:010d}"
        products.append({"name": f"{word} {brand} {odoo_size}", "default_code": code, "barcode": barcode})
        cartona_id = str(700000 + i)
        item = {"supplier_product_id": cartona_id, "unit": "piece", "unit_count": 1}
        kind = rng.random()
        if kind >= 0.95:  # sold on Cartona only: another product of the same shelf
            word, brand, (_odoo_size, cartona_size) = next(spare)
        elif kind < 0.4:
            item["internal_product_id"] = code
        elif kind < 0.5:
            item["internal_product_id"] = barcode
        if kind < 0.95:
            expected[cartona_id] = code
        item["suppler_prodcut_name"] = rewrite(f"{word} {brand} {cartona_size}", rng)
        items.append(item)
    return products, items, expected


def machine():
    cpu = next(
        (line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "unknown"
    )
    return f"{platform.node()}: {os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, {platform.system()}"


def main():
    args = parse_args()
    odoo.tools.config.parse_config(["-c", args.config, "-d", args.database, "--log-level=warn"])
    logging.getLogger("odoo.addons.cartona_marketplace").setLevel(logging.WARNING)
    registry = odoo.modules.registry.Registry(args.database)
    products, items, expected = make_data(args.products, random.Random(args.seed))
    # Importable once the configuration has set the addons path.
    from odoo.addons.cartona_marketplace.cartona import matching

    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        cr.execute("SHOW server_version")
        print(f"machine: {machine()}, PostgreSQL {cr.fetchone()[0]}")
        config = env["marketplace.config"].create(
            {"name": "Cartona (bench)", "api_base_url": BASE_URL, "auth_token": "bench", "batch_size": args.page_size}
        )
        env["product.product"].create(products)
        env.flush_all()
        cr.commit()
        print(f"set-up: {len(products)} Odoo products, a Cartona catalogue of {len(items)} products")

        def page(request):
            number, size = int(request.params["page"]), int(request.params["per_page"])
            return 200, {}, json.dumps(items[(number - 1) * size : number * size])

        with responses.RequestsMock(assert_all_requests_are_fired=False) as http:
            http.add_callback(responses.GET, BASE_URL + "supplier-product", callback=page)
            start = time.monotonic()
            read, problems, _complete = config._api()._read_catalogue()
            read_s = time.monotonic() - start
            requests = len(http.calls)
            http.calls.reset()
            start = time.monotonic()
            action = config.action_open_mapping_assistant()
            env.flush_all()
            total_s = time.monotonic() - start

        variants = [
            matching.Variant(p.id, p.name, p.default_code, p.barcode)
            for p in env["product.product"].search_fetch([], ["name", "default_code", "barcode"])
        ]
        start = time.monotonic()
        matching.match(read, variants)
        match_s = time.monotonic() - start

        # The list's first page, as the web client asks for it.
        lines_model = env["marketplace.mapping.line"]
        spec = {
            name: {"fields": {"display_name": {}}} if lines_model._fields[name].type == "many2one" else {}
            for name in (
                "side",
                "cartona_id",
                "name",
                "cartona_internal_id",
                "cartona_unit",
                "cartona_unit_count",
                "product_id",
                "default_code",
                "method",
                "confidence",
                "confidence_level",
            )
        }
        start = time.monotonic()
        shown = lines_model.web_search_read(
            action["domain"] + [("side", "=", "cartona")], spec, limit=80, count_limit=10001
        )
        show_s = time.monotonic() - start

        lines = lines_model.search(action["domain"] + [("side", "=", "cartona")])
        right = sum(expected.get(line.cartona_id) == (line.product_id.default_code or None) for line in lines)
        found = {}
        for line in lines:
            found[line.method or "none"] = found.get(line.method or "none", 0) + 1
        start = time.monotonic()
        mapped = lines.wizard_id._apply()
        env.flush_all()
        cr.precommit.run()  # the publication jobs the mappings queue at commit
        apply_s = time.monotonic() - start
        cr.rollback()

    print(f"catalogue read: {len(read)} products in {requests} pages of {args.page_size}: {read_s:.2f}s")
    print(f"matching alone ({len(read)} x {len(variants)}): {match_s:.2f}s")
    print(f"assistant run (read + match + review list of {len(lines)} Cartona products written): {total_s:.2f}s")
    print(f"review list, first page of {len(shown['records'])} (of {shown['length']}): {show_s:.3f}s")
    print(f"proposals: {found}; right: {right} of {len(lines)} ({100 * right / len(lines):.1f}%)")
    print(
        f"apply: {mapped} products mapped (Cartona ID, internal ID, unit) and their publication queued: {apply_s:.1f}s"
    )
    if problems or len(read) != len(items):
        raise SystemExit("unexpected catalogue read")


if __name__ == "__main__":
    main()
