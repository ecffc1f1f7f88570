"""Catalogue mapping benchmark: a Cartona catalogue of 5,000 products against
7,000 Odoo products, read, matched and shown, and the proposals' precision and
recall against the catalogue's truth.

Run by ``make bench-mapping`` (scripts/bench_mapping.sh) on a fresh database.
Cartona is a ``responses`` stand-in on 127.0.0.1 serving the catalogue page by
page, so the figures are the connector's own cost, not the network's. The
catalogue is the tests' generated one (tests/catalogue.py): products named by
internal reference, by barcode, or by a name written another way (letter forms,
tashkeel, sizes and pieces written every way, packaging words); brands that
differ by one word; products on one side only.
"""

import argparse
import importlib.util
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
# The catalogue generator of the tests, with its truth: one generator, one home.
CATALOGUE_PATH = os.path.join(os.path.dirname(__file__), "..", "tests", "catalogue.py")


def load_catalogue_module():
    spec = importlib.util.spec_from_file_location("cartona_catalogue", CATALOGUE_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", required=True, help="Odoo configuration file")
    parser.add_argument("--database", required=True)
    parser.add_argument("--products", type=int, default=5_000, help="Cartona products (Odoo has 1.4 times as many)")
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--seed", type=int, default=12)
    return parser.parse_args()


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
    catalogue = load_catalogue_module()
    products, items, truth = catalogue.make(args.products, random.Random(args.seed))
    # Importable once the configuration has set the addons path.
    from odoo.addons.cartona_marketplace.cartona import matching
    from odoo.addons.cartona_marketplace.wizards.marketplace_mapping_line import HIGH_CONFIDENCE

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
            read, problems, _complete = env["marketplace.api"]._read_catalogue(config)
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
        found = {}
        for line in lines:
            found[line.method or "none"] = found.get(line.method or "none", 0) + 1
        proposed = {line.cartona_id: (line.product_id.default_code or None, line.confidence) for line in lines}
        quality = catalogue.score(
            items, [proposed[item["supplier_product_id"]] for item in items], truth, HIGH_CONFIDENCE
        )
        start = time.monotonic()
        mapped, _refused = lines.wizard_id._apply(lines)
        env.flush_all()
        cr.precommit.run()  # the publication jobs the mappings queue at commit
        apply_s = time.monotonic() - start
        cr.rollback()

    print(f"catalogue read: {len(read)} products in {requests} pages of {args.page_size}: {read_s:.2f}s")
    print(f"matching alone ({len(read)} x {len(variants)}): {match_s:.2f}s")
    print(f"assistant run (read + match + review list of {len(lines)} Cartona products written): {total_s:.2f}s")
    print(f"review list, first page of {len(shown['records'])} (of {shown['length']}): {show_s:.3f}s")
    print(f"proposals: {found}")
    print(
        f"precision: {100 * quality['precision']:.2f}% ({quality['wrong']} wrong of {quality['proposals']} proposals, "
        f"{quality['wrong_sure']} wrong at Sure); recall: {100 * quality['key_recall']:.2f}% of reference and "
        f"barcode matches, {100 * quality['name_recall']:.2f}% of name-only matches"
    )
    print(
        f"apply: {mapped} products mapped (Cartona ID, internal ID, unit) and their publication queued: {apply_s:.1f}s"
    )
    if problems or len(read) != len(items):
        raise SystemExit("unexpected catalogue read")


if __name__ == "__main__":
    main()
