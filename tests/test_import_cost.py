"""What a page of orders costs in queries: the lookups are paid per page, so an
extra order costs no more than Odoo's own create + confirm of the same order."""

import contextlib
import functools
import json

from odoo import Command

from .common import ImportCase

PRODUCTS = ("311#1", "518#1", "904#2", "1679#2", "479")


class TestImportCost(ImportCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.processor = cls.env["marketplace.order.processor"]
        cls.serial = 0
        cls.products = {
            product.cartona_internal_id: product for product in (cls.oil, cls.rice, cls.soda, cls.sugar, cls.tea)
        }
        # Odoo refuses a line of another company's product: the order fails once created.
        other_company = cls.env["res.company"].create({"name": "Other company"})
        cls.env["product.product"].create(
            {"name": "Elsewhere", "cartona_internal_id": "OTHER#1", "company_id": other_company.id}
        )
        # The retailer is known, as it is once it has ordered before.
        cls.retailer = cls.env["marketplace.customer"]._find_or_create(
            cls.config, cls.processor._validate_order_data(cls._orders(1, 1)[0]).retailer
        )

    @classmethod
    def _orders(cls, count, lines, status="approved"):
        orders = []
        for _n in range(count):
            cls.serial += 1
            details = [
                {
                    "id": cls.serial * 100 + i,
                    "internal_product_id": PRODUCTS[i % len(PRODUCTS)],
                    "product_name": "Cost",
                    "unit": "packet",
                    "unit_count": 1,
                    "amount": 1,
                    "selling_price": 10,
                }
                for i in range(lines)
            ]
            orders.append(
                {
                    "hashed_id": f"Cost{cls.serial:05d}",
                    "supplier_code": "1",
                    "status": status,
                    "total_price": 10 * lines,
                    "receipt_id": f"C-COST-{cls.serial}",
                    "retailer": {
                        "retailer_name": "Cost market",
                        "retailer_code": "COST-1",
                        "retailer_number": "+201000000999",
                    },
                    "order_details": details,
                }
            )
        return orders

    def queries(self, func, *args):
        count = self.cr.sql_log_count
        func(*args)
        self.env.flush_all()
        return self.cr.sql_log_count - count

    def imported(self, orders):
        stats, _ack = self.processor._process_page(self.config, orders)
        self.assertEqual(stats["created"], len(orders), stats)

    def baseline(self, orders, savepoints=False):
        """Odoo's own: the same sale orders, with the same partner and products,
        created and confirmed through the ORM; with ``savepoints``, each in a
        savepoint, as the import isolates an order when one of its page fails."""
        for order in orders:
            with self.env.cr.savepoint() if savepoints else contextlib.nullcontext():
                sale = self.env["sale.order"].create(
                    {
                        "partner_id": self.retailer.id,
                        "client_order_ref": order["receipt_id"],
                        "warehouse_id": self.warehouse.id,
                        "order_line": [
                            Command.create(
                                {
                                    "product_id": self.products[line["internal_product_id"]].id,
                                    "product_uom_qty": line["amount"],
                                    "price_unit": line["selling_price"],
                                }
                            )
                            for line in order["order_details"]
                        ],
                    }
                )
                sale.action_confirm()

    def per_extra(self, func, small, large):
        """Queries of ``func`` on a page of new orders of the ``large`` shape
        (orders, lines) minus one of the ``small`` shape."""
        # Once first: caches and first-time paths out of the count.
        func(self._orders(*small))
        return self.queries(func, self._orders(*large)) - self.queries(func, self._orders(*small))

    def test_extra_orders_cost_no_more_than_odoo_create_and_confirm(self):
        # Pages of 2 and 10 new orders of 2 lines: the difference is what 8
        # more orders cost, against Odoo's own in one batch.
        imported = self.per_extra(self.imported, (2, 2), (10, 2))
        baseline = self.per_extra(self.baseline, (2, 2), (10, 2))
        self.assertLessEqual(imported, baseline, f"8 more orders: {imported} queries imported, {baseline} in Odoo")

    def test_a_page_falling_back_costs_no_more_than_odoo_with_a_savepoint_per_order(self):
        def failing_page(orders):
            failing = json.loads(json.dumps(orders[0]))
            failing["hashed_id"] += "X"
            failing["order_details"][0]["internal_product_id"] = "OTHER#1"
            stats, _ack = self.processor._process_page(self.config, [*orders, failing])
            self.assertEqual((stats["created"], stats["failed"]), (len(orders), 1), stats)

        imported = self.per_extra(failing_page, (2, 2), (10, 2))
        baseline = self.per_extra(functools.partial(self.baseline, savepoints=True), (2, 2), (10, 2))
        # Each order is processed twice: together, then alone.
        self.assertLessEqual(imported, 2 * baseline, f"8 more orders: {imported} queries imported, {baseline} in Odoo")

    def test_extra_lines_cost_no_more_than_odoo_create_and_confirm(self):
        imported = self.per_extra(self.imported, (2, 2), (2, 10))
        baseline = self.per_extra(self.baseline, (2, 2), (2, 10))
        self.assertLessEqual(imported, baseline, f"16 more lines: {imported} queries imported, {baseline} in Odoo")

    def test_unchanged_orders_cost_nothing_more_than_their_page(self):
        small, large = self._orders(2, 2), self._orders(10, 2)
        self.imported(small + large)

        def pulled_again(orders):
            stats, ack = self.processor._process_page(self.config, orders)
            self.assertEqual((stats["unchanged"], len(ack)), (len(orders), len(orders)))

        extra = self.queries(pulled_again, large) - self.queries(pulled_again, small)
        # The lookups are the page's, and so is the savepoint.
        self.assertEqual(extra, 0)
