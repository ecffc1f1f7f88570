"""Demo data for ``make run``: a marketplace named "Cartona sandbox" pointing
at scripts/cartona_sandbox.py, and the sandbox catalogue's products in Odoo.

Idempotent: a second run updates the configuration and the products' Cartona
keys, never adds stock again, and leaves alone a product someone mapped.
One catalogue product is left unmapped, so that its orders wait in
Marketplace > Waiting Orders until its Cartona ID is set; named in Arabic
as its supplier wrote it, the catalogue mapping assistant (Map Catalogue on
the configuration) proposes it by its name.

    python scripts/demo_setup.py --config .state/odoo.conf --database cartona \\
        --url http://127.0.0.1:8070/api/v1/ --token sandbox-token
"""

import argparse
import importlib.util
import sys
from pathlib import Path

import odoo
from odoo import SUPERUSER_ID, api, fields

CONFIG_NAME = "Cartona sandbox"

# Odoo's side of the sandbox catalogue, by supplier_product_id: the name, the
# unit stock is counted in, the stock to start with (in that unit) and whether
# the product carries its Cartona keys.
PRODUCTS = {
    "311001": ("Sunflower oil 1 L", "uom.product_uom_unit", 600, True),
    "518001": ("Egyptian rice 1 kg", "uom.product_uom_unit", 800, True),
    "220731": ("Soda 330 ml can", "uom.product_uom_unit", 2400, True),
    "220790": ("White sugar", "uom.product_uom_kgm", 1500, True),
    "330412": ("Pasta 400 g", "uom.product_uom_unit", 1200, True),
    "440918": ("Black tea 25 bags", "uom.product_uom_unit", 360, True),
    "550123": ("سمن بلدي ١٫٥ كجم برطمان", "uom.product_uom_unit", 120, False),
}


def load_sandbox():
    path = Path(__file__).resolve().parent / "cartona_sandbox.py"
    spec = importlib.util.spec_from_file_location("cartona_sandbox", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="Odoo configuration file")
    parser.add_argument("--database", required=True)
    parser.add_argument("--url", default="http://127.0.0.1:8070/api/v1/", help="the sandbox's API base URL")
    parser.add_argument("--token", default="sandbox-token")
    return parser.parse_args()


def cartona_unit(env, entry, uom):
    """The unit of measure that is one Cartona unit of ``entry``."""
    count = entry["unit_count"]
    if count == 1:
        return uom
    name = f"Box of {count}"
    unit = env["uom.uom"].search([("name", "=", name), ("category_id", "=", uom.category_id.id)], limit=1)
    return unit or env["uom.uom"].create(
        {"name": name, "category_id": uom.category_id.id, "uom_type": "bigger", "factor_inv": count}
    )


def set_up_products(env, catalogue, warehouse):
    created, updated, unmapped = [], [], []
    for entry in catalogue:
        name, uom_xmlid, stock, mapped = PRODUCTS[entry["supplier_product_id"]]
        uom = env.ref(uom_xmlid)
        unit = cartona_unit(env, entry, uom)
        code = f"CRT-{entry['supplier_product_id']}"
        keys = {"cartona_id": entry["supplier_product_id"], "cartona_internal_id": entry["internal_product_id"]}
        product = env["product.product"].with_context(active_test=False).search([("default_code", "=", code)], limit=1)
        if not product:
            product = env["product.product"].create(
                {
                    "name": name,
                    "default_code": code,
                    "type": "consu",
                    "is_storable": True,
                    "uom_id": uom.id,
                    "uom_po_id": uom.id,
                    # The catalogue's price is per Cartona unit (a box of 12).
                    "list_price": entry["price"] / entry["unit_count"],
                    "cartona_uom_id": unit.id,
                    **(keys if mapped else {}),
                }
            )
            # An applied inventory, as a person would count it.
            env["stock.quant"].with_context(inventory_mode=True).create(
                {"product_id": product.id, "location_id": warehouse.lot_stock_id.id, "inventory_quantity": stock}
            ).action_apply_inventory()
            created.append(product)
        elif mapped:
            changes = {key: value for key, value in keys.items() if product[key] != value}
            if product.cartona_uom_id != unit:
                changes["cartona_uom_id"] = unit.id
            if changes:
                product.write(changes)
                updated.append(product)
        if not mapped and not product.cartona_id:
            unmapped.append((product, entry))
    return created, updated, unmapped


def main():
    args = parse_args()
    sandbox = load_sandbox()
    odoo.tools.config.parse_config(["-c", args.config, "-d", args.database, "--log-level=warn"])
    registry = odoo.modules.registry.Registry(args.database)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        warehouse = env.ref("stock.warehouse0")
        vals = {
            "name": CONFIG_NAME,
            "active": True,
            "api_base_url": args.url,
            "auth_token": args.token,
            "auth_header": sandbox.DEFAULT_AUTH_HEADER,
            "auto_pull_orders": True,
            "auto_sync_stock": True,
            "auto_sync_prices": True,
            "warehouse_id": warehouse.id,
            "timeout": 10,
            # The person who gets the "map these products" activities.
            "user_id": env.ref("base.user_admin").id,
        }
        configs = env["marketplace.config"].with_context(active_test=False)
        config = configs.search([("name", "=", CONFIG_NAME)], limit=1)
        if config:
            config.write(vals)
        else:
            config = configs.create(vals)
        # The sandbox is up: the form shows the connection as tested.
        config.action_test_connection()
        created, updated, unmapped = set_up_products(env, sandbox.CATALOGUE, warehouse)
        # The first pull right after Odoo starts rather than at the next minute.
        cron = env.ref("cartona_marketplace.cron_pull_marketplace_orders")
        cron.write({"active": True, "nextcall": fields.Datetime.now()})
        cr.commit()
        print(f'Marketplace "{config.name}" (id {config.id}) -> {config.api_base_url}: {config.connection_status}')
        print(f"Products: {len(created)} created, {len(updated)} updated, {len(sandbox.CATALOGUE)} in the catalogue")
        for product, entry in unmapped:
            print(
                f'Left unmapped: "{product.display_name}" (Cartona ID {entry["supplier_product_id"]}); '
                "its orders wait in Marketplace > Waiting Orders until the ID is set on the product."
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
