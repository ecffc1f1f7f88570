"""One rule reads Cartona's per-item answers, for products and order statuses alike."""

from odoo.addons.cartona_marketplace.cartona import payloads
from odoo.addons.cartona_marketplace.cartona.answers import item_refusal, order_edit_results, refusal_scope
from odoo.addons.cartona_marketplace.exceptions import MarketplacePermanentError

from .common import MarketplaceCase

NO_REASON = "Cartona refused this item without saying why"
REFUSED = [
    ({"success": False, "message": "unknown product"}, "unknown product"),
    ({"success": "false"}, NO_REASON),
    ({"status": "error", "error": "not allowed"}, "not allowed"),
    ({"status": "Rejected", "message": "closed"}, "closed"),
    ({"status": 422, "message": "bad stock"}, "bad stock"),
    ({"error": "boom"}, "boom"),
    ({"status": "approved", "error": "cannot go back"}, "cannot go back"),
    ({"success": 0, "message": "bad\x00 \x1b[31mtext\n"}, "bad [31mtext"),
]
ACCEPTED = [
    {"success": True},
    {"success": True, "error": "the flag decides"},
    {"status": "approved"},
    {"status": 200},
    {"message": "done"},
    {},
]


class TestItemRefusal(MarketplaceCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.product = cls.env["product.product"].create(
            {"name": "Tea", "cartona_id": "SP1", "cartona_internal_id": "479"}
        )
        partner = cls.env["res.partner"].create({"name": "Retailer"})
        cls.order = cls.env["sale.order"].create({"partner_id": partner.id, "cartona_id": "H1"})

    def product_side(self, item):
        return (
            self.env["marketplace.product.sync"]
            ._bulk_item_errors(
                [(self.product, {"supplier_product_id": "SP1"})], [dict(item, supplier_product_id="SP1")]
            )
            .get("SP1")
        )

    def order_side(self, item):
        try:
            self.order._marketplace_check_bulk_answer({"success": True, "data": [dict(item, hashed_id="H1")]})
        except MarketplacePermanentError as exc:
            return str(exc)
        return None

    def test_refused_shapes_read_the_same_on_both_sides(self):
        for item, reason in REFUSED:
            with self.subTest(item=item):
                self.assertEqual(item_refusal(item), reason)
                self.assertEqual(self.product_side(item), reason)
                self.assertEqual(self.order_side(item), reason)

    def test_accepted_shapes_read_the_same_on_both_sides(self):
        for item in ACCEPTED:
            with self.subTest(item=item):
                self.assertIsNone(item_refusal(item))
                self.assertIsNone(self.product_side(item))
                self.assertIsNone(self.order_side(item))

    def test_reason_is_bounded_and_non_objects_are_no_answer(self):
        self.assertEqual(len(item_refusal({"success": False, "message": "x" * 5000})), 301)
        for item in (None, "error", ["error"], 422):
            self.assertIsNone(item_refusal(item))

    def test_each_side_finds_its_own_item(self):
        refused = {"success": False, "message": "no"}
        self.assertEqual(
            self.env["marketplace.product.sync"]._bulk_item_errors(
                [(self.product, {"supplier_product_id": "SP1"})], [dict(refused, internal_product_id="479")]
            ),
            {"SP1": "no"},
        )
        self.assertEqual(
            self.env["marketplace.product.sync"]._bulk_item_errors(
                [(self.product, {"supplier_product_id": "SP1"})], [dict(refused)]
            ),
            {},
        )
        self.assertIsNone(self.order_side({"success": True}))
        self.assertIsNone(
            self.order._marketplace_check_bulk_answer({"success": True, "data": [dict(refused, hashed_id="OTHER")]})
        )
        with self.assertRaises(MarketplacePermanentError):
            self.order._marketplace_check_bulk_answer({"success": True, "data": [refused]})

    def test_order_edit_answers_read_in_either_shape(self):
        lines = [{"id": 1, "success": True}, {"id": 2, "success": False, "message": "unknown line"}]
        nested = [
            {"hashed_id": "H1", "success": True, "total_price": 940, "order_details": lines},
            {"hashed_id": "OTHER", "success": False, "order_details": [{"id": 3, "success": False}]},
        ]
        self.assertEqual(order_edit_results(nested, "H1"), (None, lines, 940))
        self.assertEqual(order_edit_results(lines, "H1"), (None, lines, None))
        self.assertEqual([item_refusal(line) for line in lines], [None, "unknown line"])
        refused = {"hashed_id": "H1", "success": False, "message": "order locked", "order_details": []}
        self.assertEqual(order_edit_results(refused, "H1"), ("order locked", [], None))
        self.assertEqual(order_edit_results(None, "H1"), (None, [], None))

    def test_only_ascii_line_ids_go_back_as_numbers(self):
        self.assertEqual(payloads.line_amount("52001", 3), {"id": 52001, "amount": 3})
        # Other digits are no number of Cartona's: sent as written, never as another line.
        for line_id in ("١٢", "²", "12a"):
            with self.subTest(line_id):
                self.assertEqual(payloads.line_cancel(line_id), {"id": line_id, "cancelled": True})


class TestRequestRefusal(MarketplaceCase):
    def test_a_refusal_is_about_items_only_when_it_names_one(self):
        keys = ["SP1", "SP12", "904#2", None]
        about_items = [
            '{"message": "bad price", "supplier_product_id": "SP12"}',
            "Cartona rejected POST supplier-product/bulk-update (422): unknown product 904#2",
            '{"errors": {"3.selling_price": ["below the minimum"]}}',
            "items[0].available_stock_quantity must be positive",
        ]
        about_the_request = [
            '{"message": "The selected supplier code is invalid."}',
            '{"errors": {"0.supplier_code": ["is invalid"], "1.supplier_code": ["is invalid"]}}',
            "Unknown supplier",
        ]
        naming_nothing = [
            "unknown product SP123 or SP1x",  # not one of the keys
            "the price 0.5 is too low",
            "Cartona rejected POST supplier-product/bulk-update (422): ",
        ]
        for text in about_items:
            self.assertEqual(refusal_scope(422, text, keys), "items", text)
        for text in about_the_request:
            self.assertEqual(refusal_scope(422, text, keys), "request", text)
        for text in naming_nothing:
            self.assertIsNone(refusal_scope(422, text, keys), text)
        self.assertEqual(refusal_scope(404, '{"supplier_product_id": "SP1"}', keys), "request", "no such endpoint")
