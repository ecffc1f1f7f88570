"""The connector against the Cartona sandbox of ``make run`` (scripts/cartona_sandbox.py),
served for real on 127.0.0.1: pull, acknowledgement, status push, OTP, publishing, order edits."""

import threading

from odoo.addons.cartona_marketplace.exceptions import (
    MarketplaceAuthError,
    MarketplacePermanentError,
    MarketplaceRetryableError,
)
from odoo.addons.queue_job.tests.common import trap_jobs

from .common import TOKEN, MarketplaceCase, jobs_of, load_sandbox_module, make_user, perform_jobs

UNMAPPED = "550123"


class TestSandbox(MarketplaceCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.module = load_sandbox_module()
        cls.server = cls.module.make_server("127.0.0.1", 0, None)
        threading.Thread(target=cls.server.serve_forever, daemon=True).start()
        cls.addClassCleanup(cls.server.server_close)
        cls.addClassCleanup(cls.server.shutdown)
        host, port = cls.server.server_address[:2]
        cls.warehouse = cls.env.ref("stock.warehouse0")
        cls.config.write({"api_base_url": f"http://{host}:{port}/api/v1/", "warehouse_id": cls.warehouse.id})
        cls.products = cls.env["product.product"]
        for entry in cls.module.CATALOGUE:
            cls.products |= cls._product(entry)

    @classmethod
    def _product(cls, entry):
        """The catalogue entry in Odoo, mapped unless it is the one left unmapped."""
        if entry["unit"] == "kg":
            uom = unit = cls.env.ref("uom.product_uom_kgm")
        else:
            uom = unit = cls.env.ref("uom.product_uom_unit")
            if entry["unit_count"] > 1:
                unit = cls.env["uom.uom"].create(
                    {
                        "name": f"Box of {entry['unit_count']} ({entry['supplier_product_id']})",
                        "category_id": uom.category_id.id,
                        "uom_type": "bigger",
                        "factor_inv": entry["unit_count"],
                    }
                )
        mapped = entry["supplier_product_id"] != UNMAPPED
        product = cls.env["product.product"].create(
            {
                "name": entry["product_name"],
                "is_storable": True,
                "uom_id": uom.id,
                "uom_po_id": uom.id,
                "list_price": entry["price"] / entry["unit_count"],
                "cartona_id": mapped and entry["supplier_product_id"],
                "cartona_internal_id": mapped and entry["internal_product_id"],
                "cartona_uom_id": unit.id,
                # No sales tax: Cartona's prices stay the lines' prices.
                "taxes_id": [(5, 0, 0)],
            }
        )
        cls.env["stock.quant"]._update_available_quantity(product, cls.warehouse.lot_stock_id, 10000)
        return product

    def setUp(self):
        super().setUp()
        # A fresh Cartona for every test, as the database is rolled back.
        self.sandbox = self.server.sandbox = self.module.Sandbox(TOKEN, seed=11)

    def sale(self, hashed_id):
        return self.env["sale.order"].search(
            [("marketplace_config_id", "=", self.config.id), ("cartona_id", "=", hashed_id)]
        )

    def pull(self):
        """One pull, then the jobs it queued, as the job runner would run them."""
        with trap_jobs() as trap:
            stats = self.env["marketplace.order.pull"]._pull_and_process_orders(self.config)
            perform_jobs(trap)
        return stats

    def waiting(self):
        return {order["hashed_id"] for order in self.sandbox.pull_orders(per_page=200)}

    def test_pull_imports_acknowledges_and_parks(self):
        orders = [self.sandbox.new_order() for _i in range(8)]
        unmapped = {o["hashed_id"] for o in orders if any(UNMAPPED in line.values() for line in o["order_details"])}
        self.assertTrue(unmapped, "the seed should give an order of the unmapped product")
        self.assertLess(len(unmapped), len(orders))

        stats = self.pull()

        self.assertEqual(stats["created"], len(orders) - len(unmapped))
        self.assertEqual(stats["parked"], len(unmapped))
        for order in orders:
            sale = self.sale(order["hashed_id"])
            if order["hashed_id"] in unmapped:
                self.assertFalse(sale)
                continue
            self.assertEqual(len(sale.order_line), len(order["order_details"]))
            self.assertAlmostEqual(sale.amount_total, order["total_price"], places=2)
            self.assertEqual(sale.marketplace_status, "pending")
        # Acknowledged orders leave pull-orders; the parked ones keep coming back.
        acknowledged = {ack["hashed_id"] for ack in self.sandbox.acknowledgements}
        self.assertEqual(acknowledged, {o["hashed_id"] for o in orders} - unmapped)
        self.assertEqual(self.waiting(), unmapped)
        again = self.pull()
        self.assertEqual(again["created"], 0)
        self.assertEqual(again["parked"], len(unmapped))

        # Mapping the product lets the waiting orders in.
        self.products.filtered(lambda p: not p.cartona_id).write(
            {"cartona_id": UNMAPPED, "cartona_internal_id": "3307#1"}
        )
        self.assertEqual(self.pull()["created"], len(unmapped))
        self.assertFalse(self.waiting())

    def test_cartona_side_change_comes_back_once(self):
        hashed_id = self.sandbox.new_order()["hashed_id"]
        self.pull()
        self.assertFalse(self.waiting())
        self.sandbox.advance(hashed_id)  # approved on Cartona
        self.assertEqual(self.waiting(), {hashed_id})
        self.assertEqual(self.pull()["updated"], 1)
        self.assertEqual(self.sale(hashed_id).state, "sale")
        self.assertFalse(self.waiting())

    def test_supplier_status_is_recorded_not_sent_back(self):
        hashed_id = self.sandbox.new_order()["hashed_id"]
        self.pull()
        sale = self.sale(hashed_id)
        with trap_jobs() as trap:
            sale.action_confirm()
            perform_jobs(trap)
        self.assertEqual(sale.marketplace_status, "approved")
        self.assertEqual(self.sandbox.orders[hashed_id]["order"]["status"], "approved")
        self.assertEqual([u["status"] for u in self.sandbox.status_updates], ["approved"])
        self.assertFalse(self.waiting())

    def test_delivered_with_otp_through_the_single_endpoint(self):
        hashed_id = self.sandbox.new_order()["hashed_id"]
        self.sandbox.orders[hashed_id]["otp"] = "4321"
        with self.raises(MarketplacePermanentError) as caught:
            self.api._update_single_order_status(self.config, hashed_id, "delivered", retailer_otp="0000")
        self.assertEqual(caught.exception.status_code, 422)
        self.assertIn("Invalid OTP", str(caught.exception))
        # Through the bulk endpoint an OTP order is refused item by item.
        answer = self.api._bulk_update_order_status(self.config, [{"hashed_id": hashed_id, "status": "delivered"}])
        self.assertFalse(answer["data"][0]["success"])
        self.api._update_single_order_status(self.config, hashed_id, "delivered", retailer_otp="4321")
        self.assertEqual(self.sandbox.orders[hashed_id]["order"]["status"], "delivered")

    def test_prices_and_stock_are_published_in_cartona_units(self):
        mapped = self.products.filtered("cartona_id")
        self.env["marketplace.product.sync"]._sync_products(self.config, mapped, ["price", "stock"])
        published = self.sandbox.published
        self.assertEqual(set(published), set(mapped.mapped("cartona_id")))
        oil = published["311001"]  # boxes of 12
        self.assertEqual((oil["selling_price"], oil["available_stock_quantity"]), (474.0, 10000 // 12))
        self.assertEqual(set(mapped.mapped("marketplace_sync_status")), {"synced"})
        answer = self.api._bulk_update_products(
            self.config, [{"supplier_product_id": "311001", "available_stock_quantity": -1}]
        )
        self.assertFalse(answer[0]["data"][0]["success"])
        self.assertEqual(published["311001"]["available_stock_quantity"], 10000 // 12)

    def test_untracked_stock_is_unlimited_and_a_withdrawn_product_is_not_sold(self):
        untracked = self.env["product.product"].create({"name": "Delivery bags", "cartona_id": UNMAPPED})
        self.env["marketplace.product.sync"]._sync_products(self.config, untracked, ["stock"])
        row = self.api._get_products(self.config, supplier_product_id=UNMAPPED)["data"][0]
        self.assertEqual((row["is_unlimited_stock"], row["in_stock"]), (True, True))
        self.env["marketplace.product.sync"]._withdraw_products(self.config, ["311001"])
        oil = next(entry for entry in self.module.CATALOGUE if entry["supplier_product_id"] == "311001")
        self.assertFalse(self.sandbox._sellable(oil))
        answer = self.api._bulk_update_products(self.config, [{"supplier_product_id": "311001", "in_stock": "yes"}])
        self.assertFalse(answer[0]["data"][0]["success"])

    def test_token_and_outages(self):
        self.sandbox.token = "another"
        with self.raises(MarketplaceAuthError):
            self.api._pull_orders(self.config)
        self.sandbox.token = TOKEN
        self.sandbox.fail_rate = 1.0
        with self.raises(MarketplaceRetryableError) as caught:
            self.api._pull_orders(self.config)
        self.assertEqual((caught.exception.status_code, caught.exception.seconds), (503, 5))

    def test_order_details_edited_with_cartona_s_rules(self):
        order = self.sandbox.new_order()
        hashed_id, line = order["hashed_id"], order["order_details"][0]
        edit = [
            {"id": line["id"], "amount": 1},
            {"id": 999999, "amount": 1},
            {"id": line["id"], "amount": 0},
            {"supplier_product_id": "518001", "amount": 2, "price": 29.5},
            {"supplier_product_id": "000000", "amount": 1},
        ]
        answer = self.api._update_order_details(self.config, [{"hashed_id": hashed_id, "order_details": edit}])
        results = answer["data"][0]["order_details"]
        self.assertEqual([result["success"] for result in results], [True, False, False, True, False])
        self.assertIn("not found", results[1]["message"])
        self.assertIn("above 0", results[2]["message"])
        edited = self.sandbox.orders[hashed_id]["order"]
        price_key = "price" if "price" in line else "selling_price"
        self.assertEqual(edited["order_details"][0]["amount"], 1)
        self.assertEqual(edited["order_details"][-1]["id"], results[3]["id"])
        total = round(sum(item[price_key] * item["amount"] for item in edited["order_details"]), 2)
        self.assertEqual((edited["total_price"], answer["data"][0]["total_price"]), (total, total))
        # Out for delivery: no edit any more.
        self.sandbox.advance(hashed_id, "assigned_to_salesman")
        answer = self.api._update_order_details(self.config, [{"hashed_id": hashed_id, "order_details": edit[:1]}])
        self.assertFalse(answer["data"][0]["success"])

    def test_supplier_edit_reaches_cartona_and_comes_back_as_is(self):
        salesman = make_user(self.env, "sandbox-salesman", "salesman")
        hashed_id = next(
            order["hashed_id"]
            for order in iter(self.sandbox.new_order, None)
            if order["delivered_by"] == "delivered_by_supplier" and order["order_details"][0]["amount"] > 1
        )
        self.pull()
        sale = self.sale(hashed_id)
        line = sale.order_line.sorted("cartona_line_id")[0]
        with trap_jobs() as trap:
            line.with_user(salesman).product_uom_qty -= 1
            self.env.flush_all()
            self.env.cr.precommit.run()
            self.assertEqual(len(jobs_of(trap, "_push_order_edits")), 1)
            perform_jobs(trap)
        order = self.sandbox.orders[hashed_id]["order"]
        self.assertEqual(order["order_details"][0]["amount"], line.product_uom_qty)
        self.assertAlmostEqual(sale.amount_total, order["total_price"], places=2)
        self.assertEqual(sale.marketplace_sync_status, "synced")
        # Cartona moves the order on: the pull finds the lines as they are, and sends nothing back.
        self.sandbox.advance(hashed_id)
        lines = sale.order_line.read(["cartona_line_id", "product_uom_qty", "price_unit", "write_date"])
        with trap_jobs() as trap:
            self.assertEqual(self.env["marketplace.order.pull"]._pull_and_process_orders(self.config)["updated"], 1)
            self.env.cr.precommit.run()
            self.assertEqual(len(jobs_of(trap, "_push_order_edits")), 0)
            perform_jobs(trap)
        self.assertEqual(
            sale.order_line.read(["cartona_line_id", "product_uom_qty", "price_unit", "write_date"]), lines
        )
        self.assertEqual(sale.state, "sale")
        self.assertFalse(sale.activity_ids)
        self.assertFalse(self.waiting())
