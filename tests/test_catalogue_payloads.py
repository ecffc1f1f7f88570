"""Cartona's catalogue items, read defensively, without a database."""

from odoo.addons.cartona_marketplace.cartona.payloads import parse_catalogue

from .common import PlainCase


class TestCataloguePayloads(PlainCase):
    def test_both_spellings_and_missing_keys(self):
        items, problems = parse_catalogue(
            [
                # The older document's spelling (sic), every key it lists.
                {
                    "suppler_prodcut_id": 311001,
                    "suppler_prodcut_name": "زيت عباد الشمس - 1 لتر",
                    "internal_product_id": "311#1",
                    "base_product_id": 311,
                    "base_product_name": "زيت عباد الشمس",
                    "unit": "box",
                    "unit_count": "12",
                    "selling_price": 474,
                    "available_stock_quantity": 10,
                    "in_stock": True,
                    "is_published": True,
                    "min_order": 1,
                    "max_order": 5,
                },
                # The spelling of the orders, and little else.
                {"supplier_product_id": "518001", "product_name": "أرز مصري"},
                # An id and nothing more.
                {"supplier_product_id": "220790"},
            ]
        )
        assert problems == []
        oil, rice, bare = items
        assert (oil.supplier_product_id, oil.name, oil.internal_product_id, oil.unit, oil.unit_count) == (
            "311001",
            "زيت عباد الشمس - 1 لتر",
            "311#1",
            "box",
            12.0,
        )
        assert (oil.base_product_id, oil.selling_price, oil.is_published) == ("311", 474.0, True)
        assert (rice.supplier_product_id, rice.name, rice.unit_count) == ("518001", "أرز مصري", None)
        assert (bare.name, bare.internal_product_id, bare.unit) == (None, None, None)

    def test_unreadable_items_are_listed_and_the_rest_goes_on(self):
        items, problems = parse_catalogue(
            [
                "not an object",
                {"product_name": "no id"},
                {"supplier_product_id": "1", "unit_count": "twelve"},
                {"supplier_product_id": "2", "unit_count": -3},
                {"supplier_product_id": "3\x00", "product_name": "NUL in the id"},
                {"supplier_product_id": ["4"]},
                {"supplier_product_id": "5", "product_name": "kept"},
                {"supplier_product_id": "5", "product_name": "listed twice"},
            ]
        )
        assert [item.supplier_product_id for item in items] == ["5"]
        assert items[0].name == "kept"
        assert len(problems) == 7
        assert problems[0].startswith("#1: ") and "JSON object" in problems[0]
        assert "supplier_product_id is required" in problems[1]
        assert "Cartona product 1: unit_count" in problems[2]
        assert "Cartona product 2: unit_count must be a positive number" in problems[3]
        assert "control character" in problems[4]
        assert "must be a string" in problems[5]
        assert "listed twice" in problems[6]
