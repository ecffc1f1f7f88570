"""The catalogue mapping assistant: Cartona's catalogue read page by page,
an Odoo product proposed for each of its products, reviewed and applied."""

import json
import threading

import responses

from odoo.exceptions import AccessError, UserError

from odoo.addons.cartona_marketplace import const
from odoo.addons.queue_job.tests.common import trap_jobs

from .common import TOKEN, CartonaCase, MarketplaceCase, load_sandbox_module, make_user, perform_jobs

CATALOGUE = [
    {
        "suppler_prodcut_id": "311001",
        "suppler_prodcut_name": "زيت عباد الشمس - 1 لتر -- كرتونة",
        "internal_product_id": "311#1",
        "unit": "box",
        "unit_count": 12,
    },
    {"supplier_product_id": "518001", "product_name": "أرز مصري - 1 كجم", "unit": "packet", "unit_count": 1},
    {
        "supplier_product_id": "220731",
        "product_name": "مشروب غازي - 330 ملل -- كرتونة",
        "internal_product_id": "6221000000017",
        "unit": "box",
        "unit_count": 12,
    },
    {"supplier_product_id": "220790", "product_name": "سكر أبيض - 1 كجم", "unit": "kg", "unit_count": 1},
    {"supplier_product_id": "330412", "product_name": "مكرونة - 400 جم", "unit": "packet", "unit_count": 1},
    {"product_name": "an item without its id"},
]


class MappingCase(CartonaCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.config.write({"batch_size": 2, "supplier_code": "1"})
        cls.manager = make_user(
            cls.env, "mp-manager", "mp_manager", "sales_manager", groups=("uom.group_uom", "base.group_allow_export")
        )
        product = cls.env["product.product"]
        cls.oil = product.create({"name": "زيت عباد الشمس 1 لتر", "default_code": "311#1"})
        cls.rice = product.create({"name": "ارز مصرى ١ كيلو", "default_code": "RICE-1"})
        cls.soda = product.create({"name": "Soda can", "barcode": "6221000000017", "default_code": "SODA"})
        cls.sugar = product.create({"name": "White sugar", "cartona_id": "220790"})
        cls.pasta = product.create({"name": "Spaghetti 400 g", "default_code": "PAS-400"})
        cls.soap = product.create({"name": "Dish soap"})

    def serve_catalogue(self, items=None):
        items = items or CATALOGUE

        def answer(request):
            page, per_page = int(request.params["page"]), int(request.params["per_page"])
            return 200, {}, json.dumps(items[(page - 1) * per_page : page * per_page])

        self.http.add_callback(responses.GET, self.url(const.ENDPOINT_PRODUCTS), callback=answer)

    def run_assistant(self, user=None, items=None):
        self.serve_catalogue(items)
        config = self.config.with_user(user or self.manager)
        action = config.action_open_mapping_assistant()
        self.assertEqual(action["res_model"], "marketplace.mapping.line")
        lines = self.env["marketplace.mapping.line"].search(action["domain"])
        return lines, action["context"]

    def apply(self, lines, context, button="action_apply"):
        """The list's header button, as the manager, on the selected ``lines``."""
        return getattr(lines.with_user(self.manager).with_context(**context), button)()

    def apply_shown(self, context, domain):
        """Apply with no line selected, on a list filtered on ``domain`` (as the
        web client sends it): the proposals it shows, once confirmed."""
        lines = self.env["marketplace.mapping.line"].with_user(self.manager)
        context = dict(context, active_domain=[("wizard_id", "=", context["mapping_wizard_id"]), *domain])
        action = lines.with_context(**context).action_apply()
        self.assertEqual((action["res_model"], action["target"]), ("marketplace.mapping.apply", "new"))
        return lines.env[action["res_model"]].browse(action["res_id"])

    def likely_pasta(self):
        """An Odoo pasta whose name says one word more than Cartona's: a likely proposal."""
        return self.env["product.product"].create({"name": "مكرونة فاخرة 400 جم"})

    def cartona_line(self, lines, cartona_id):
        return lines.filtered(lambda line: line.cartona_id == cartona_id)


class TestProposals(MappingCase):
    def test_every_page_is_read_and_each_product_gets_a_proposal(self):
        lines, _context = self.run_assistant()
        gets = [call.request for call in self.http.calls]
        # Full pages of two, then an empty one.
        self.assertEqual([int(r.params["page"]) for r in gets], [1, 2, 3, 4])
        self.assertTrue(all(r.params["internal_supplier_code"] == "1" for r in gets))
        found = {
            line.cartona_id: (line.product_id, line.method, line.confidence_level)
            for line in lines.filtered(lambda line: line.side == "cartona")
        }
        self.assertEqual(
            found,
            {
                "311001": (self.oil, "internal_id", "high"),
                "518001": (self.rice, "name", found["518001"][2]),
                "220731": (self.soda, "barcode", "high"),
                "220790": (self.sugar, "mapped", "high"),
                "330412": (self.env["product.product"], False, "none"),
            },
        )
        self.assertIn(found["518001"][2], ("high", "medium"))
        self.assertEqual(self.cartona_line(lines, "311001").name, "زيت عباد الشمس - 1 لتر -- كرتونة")
        odoo_only = lines.filtered(lambda line: line.side == "odoo").product_id
        self.assertIn(self.pasta, odoo_only)
        self.assertIn(self.soap, odoo_only)
        self.assertNotIn(self.oil, odoo_only)
        (unreadable,) = lines.filtered(lambda line: line.side == "unreadable")
        self.assertIn("#6", unreadable.name)
        self.assertIn("supplier_product_id is required", unreadable.name)

    def test_the_walk_stops_at_the_page_cap(self):
        self.patch(const, "MAX_CATALOGUE_PAGES", 2)
        lines, _context = self.run_assistant()
        self.assertEqual(len(self.http.calls), 2)
        self.assertEqual(len(lines.filtered(lambda line: line.side == "cartona")), 4)
        self.assertFalse(lines.wizard_id.complete)
        self.assertIn("first 2 pages only", lines.wizard_id._open()["name"])

    def test_a_refused_catalogue_read_is_shown_and_logged(self):
        self.http.add(responses.GET, self.url(const.ENDPOINT_PRODUCTS), status=401, json={"message": "no"})
        action = self.config.with_user(self.manager).action_open_mapping_assistant()
        self.assertEqual(action["params"]["type"], "danger")
        self.assertEqual(self.config.connection_status, "error")
        self.assertFalse(self.env["marketplace.mapping.wizard"].search([]))

    def test_a_marketplace_user_cannot_run_it(self):
        user = make_user(self.env, "mp-user", "mp_user")
        with self.raises(AccessError):
            self.config.with_user(user).action_open_mapping_assistant()
        self.assertFalse(self.http.calls)


class TestApply(MappingCase):
    def test_reviewed_proposals_are_applied_in_one_step(self):
        lines, context = self.run_assistant()
        as_manager = lines.with_user(self.manager)
        # The person corrects one proposal and clears another.
        self.cartona_line(as_manager, "330412").write({"product_id": self.pasta.id})
        self.cartona_line(as_manager, "518001").write({"product_id": False})
        self.assertEqual(self.cartona_line(lines, "330412").method, "manual")
        self.assertEqual(self.cartona_line(lines, "330412").confidence_level, "high")
        self.assertEqual(self.cartona_line(lines, "518001").confidence_level, "none")
        confirmation = self.apply_shown(context, [("side", "=", "cartona")])
        self.assertEqual(confirmation.label, "Apply 4 proposals")
        self.assertFalse(self.oil.cartona_id, "nothing is written before the person confirms")
        action = confirmation.action_confirm()
        self.assertIn("4 Odoo products", action["params"]["message"])
        self.assertEqual((self.oil.cartona_id, self.oil.cartona_internal_id), ("311001", "311#1"))
        self.assertEqual((self.pasta.cartona_id, self.pasta.cartona_internal_id), ("330412", False))
        self.assertEqual((self.soda.cartona_id, self.soda.cartona_internal_id), ("220731", "6221000000017"))
        self.assertFalse(self.rice.cartona_id)
        # One Cartona box of 12 is one Odoo unit of 12 pieces, made once.
        box = self.oil.cartona_uom_id
        self.assertEqual((box.name, box.factor_inv, box.uom_type), ("Box of 12", 12, "bigger"))
        self.assertEqual(box.category_id, self.env.ref("uom.product_uom_categ_unit"))
        self.assertEqual(self.soda.cartona_uom_id, box)
        self.assertEqual(self.pasta.cartona_uom_id, self.pasta.uom_id)
        # The product template shows the variant's mapping.
        template = self.oil.product_tmpl_id
        self.assertEqual((template.cartona_internal_id, template.cartona_uom_id), ("311#1", box))
        # A second run finds them all mapped, and makes no second box.
        lines, context = self.run_assistant()
        self.assertEqual(self.cartona_line(lines, "330412").method, "mapped")
        self.apply(lines, context)
        self.assertEqual(self.env["uom.uom"].search_count([("name", "=", "Box of 12")]), 1)

    def test_selected_lines_only(self):
        lines, context = self.run_assistant()
        self.apply(self.cartona_line(lines, "311001"), context)
        self.assertEqual(self.oil.cartona_id, "311001")
        self.assertFalse(self.soda.cartona_id)

    def test_nothing_selected_asks_for_what_the_list_shows(self):
        pasta = self.likely_pasta()
        lines, context = self.run_assistant()
        self.assertEqual(self.cartona_line(lines, "330412").product_id, pasta)
        self.assertEqual(self.cartona_line(lines, "330412").confidence_level, "medium")
        # The list filtered on "Sure": the likely pasta is not among what Apply writes.
        confirmation = self.apply_shown(context, [("confidence_level", "=", "high")])
        self.assertEqual((confirmation.label, confirmation.summary), ("Apply 4 proposals", "4 Sure"))
        self.assertFalse(self.oil.cartona_id)
        confirmation.action_confirm()
        self.assertEqual(
            (self.oil.cartona_id, self.rice.cartona_id, self.soda.cartona_id), ("311001", "518001", "220731")
        )
        self.assertFalse(pasta.cartona_id)
        # Unfiltered, the person is told how sure the proposals are before confirming.
        confirmation = self.apply_shown(context, [])
        self.assertEqual((confirmation.label, confirmation.summary), ("Apply 5 proposals", "4 Sure, 1 Likely"))
        confirmation.action_confirm()
        self.assertEqual(pasta.cartona_id, "330412")

    def test_apply_all_sure_in_one_click(self):
        pasta = self.likely_pasta()
        lines, context = self.run_assistant()
        action = self.apply(lines.browse(), context, "action_apply_sure")
        self.assertIn("4 Odoo products", action["params"]["message"])
        self.assertEqual((self.oil.cartona_id, self.rice.cartona_id), ("311001", "518001"))
        self.assertFalse(pasta.cartona_id, "a likely proposal is applied only when chosen")
        # Selected, it is.
        self.apply(self.cartona_line(lines, "330412"), context)
        self.assertEqual(pasta.cartona_id, "330412")

    def test_no_internal_id_on_cartona_keeps_the_products(self):
        # Orders that name the rice only by its internal ID keep finding it.
        self.rice.cartona_internal_id = "RICE#1"
        lines, context = self.run_assistant()
        self.assertFalse(self.cartona_line(lines, "518001").cartona_internal_id)
        self.apply(self.cartona_line(lines, "518001"), context)
        self.assertEqual((self.rice.cartona_id, self.rice.cartona_internal_id), ("518001", "RICE#1"))

    def test_a_unit_below_one_piece_is_refused_on_its_line(self):
        items = [dict(item) for item in CATALOGUE]
        items[0]["unit_count"] = 0.5
        lines, context = self.run_assistant(items=items)
        action = self.apply(lines, context)
        self.assertEqual(action["params"]["type"], "warning")
        self.assertIn("311001", action["params"]["message"])
        self.assertIn("3 Odoo products", action["params"]["message"])
        self.assertFalse(self.oil.cartona_id)
        self.assertEqual(self.soda.cartona_id, "220731")

    def test_a_unit_of_the_same_size_is_reused_whatever_its_name(self):
        box = self.env["uom.uom"].create(
            {"name": "Box of 12", "category_id": self.oil.uom_id.category_id.id, "uom_type": "bigger", "factor_inv": 12}
        )
        self.soap.cartona_uom_id = box
        items = [dict(item) for item in CATALOGUE]
        del items[0]["unit"]  # Cartona leaves the unit out
        lines, context = self.run_assistant(items=items)
        self.apply(self.cartona_line(lines, "311001"), context)
        self.assertEqual(self.oil.cartona_uom_id, box)
        self.assertFalse(self.env["uom.uom"].search([("name", "=", "Unit of 12")]))

    def test_a_cartona_id_of_another_product_is_refused_naming_both(self):
        lines, context = self.run_assistant()
        self.soap.cartona_internal_id = "311#1"
        with self.raises(UserError) as caught:
            self.apply(lines, context)
        message = str(caught.exception)
        self.assertIn("311#1", message)
        self.assertIn("Dish soap", message)
        self.assertIn(self.oil.display_name, message)
        self.assertFalse(self.oil.cartona_id)
        # An archived holder is not in the product list: the refusal says where to look.
        self.soap.active = False
        with self.assertRaises(UserError) as caught:
            self.apply(lines, context)
        self.assertIn("Dish soap (archived)", str(caught.exception))

    def test_one_product_for_two_cartona_products_is_refused(self):
        lines, context = self.run_assistant()
        self.cartona_line(lines, "330412").write({"product_id": self.oil.id})
        with self.assertRaises(UserError) as caught:
            self.apply(lines, context)
        self.assertIn("311001, 330412", str(caught.exception))

    def test_keys_move_between_products_of_one_run(self):
        self.soap.write({"cartona_id": "311001", "cartona_internal_id": "311#1"})
        lines, context = self.run_assistant()
        self.assertEqual(self.cartona_line(lines, "311001").product_id, self.soap)
        self.cartona_line(lines, "311001").write({"product_id": self.oil.id})
        self.cartona_line(lines, "330412").write({"product_id": self.soap.id})
        self.apply(lines, context)
        self.assertEqual((self.oil.cartona_id, self.soap.cartona_id), ("311001", "330412"))

    def test_internal_references_are_sent_to_cartona(self):
        lines, context = self.run_assistant()
        self.cartona_line(lines, "330412").write({"product_id": self.pasta.id})
        self.http.post(
            self.url(const.ENDPOINT_PRODUCTS_BULK_UPDATE), json=[{"supplier_product_id": "518001", "success": True}]
        )
        with trap_jobs() as trap:
            self.apply(lines, context, "action_apply_and_send_refs")
            trap.assert_jobs_count(1, only=self.config._publish_internal_refs)
            self.env.flush_all()
            self.env.cr.precommit.clear()  # the mapping's own publication is not this test's
            perform_jobs(trap)
        sent = [
            item for call in self.http.calls if call.request.method == "POST" for item in json.loads(call.request.body)
        ]
        # The oil's reference is Cartona's already; the others are told theirs (in batches of two).
        self.assertEqual(
            sorted((item["supplier_product_id"], item["internal_product_id"]) for item in sent),
            [("220731", "SODA"), ("330412", "PAS-400"), ("518001", "RICE-1")],
        )
        self.assertEqual((self.pasta.cartona_internal_id, self.rice.cartona_internal_id), ("PAS-400", "RICE-1"))
        self.assertEqual(self.soda.cartona_internal_id, "SODA")


class TestCsv(MappingCase):
    """Mappings go out and come back with Odoo's own export and import."""

    def test_variants_round_trip(self):
        box = self.env["uom.uom"].create(
            {"name": "Box of 6", "category_id": self.oil.uom_id.category_id.id, "uom_type": "bigger", "factor_inv": 6}
        )
        products = (self.oil | self.rice).with_user(self.manager)
        fields = ["id", "cartona_id", "cartona_internal_id", "cartona_uom_id"]
        rows = products.export_data(fields)["datas"]
        rows[0][1:] = ["311001", "311#1", "Box of 6"]
        rows[1][1:] = ["518001", "518#1", "Units"]
        result = self.env["product.product"].with_user(self.manager).load(fields, rows)
        self.assertEqual(result["messages"], [])
        self.assertEqual(
            (self.oil.cartona_id, self.oil.cartona_internal_id, self.oil.cartona_uom_id), ("311001", "311#1", box)
        )
        self.assertEqual(self.rice.cartona_id, "518001")
        exported = products.export_data(fields)["datas"]
        self.assertEqual(exported[0][1:], ["311001", "311#1", "Box of 6"])

    def test_products_import_their_variant_mapping(self):
        fields = ["name", "cartona_id", "cartona_internal_id", "marketplace_stock_sync_enabled"]
        rows = [["Imported tea", "440918", "2210#3", "0"]]
        result = self.env["product.template"].with_user(self.manager).load(fields, rows)
        self.assertEqual(result["messages"], [])
        variant = self.env["product.template"].browse(result["ids"]).product_variant_ids
        self.assertEqual((variant.cartona_id, variant.cartona_internal_id), ("440918", "2210#3"))
        self.assertFalse(variant.marketplace_stock_sync_enabled)
        # And an existing single-variant product, by its export id.
        template = self.soap.product_tmpl_id.with_user(self.manager)
        rows = template.export_data(["id", "cartona_id"])["datas"]
        self.env["product.template"].with_user(self.manager).load(["id", "cartona_id"], [[rows[0][0], "990001"]])
        self.assertEqual(self.soap.cartona_id, "990001")

    def test_the_product_form_shows_the_mapping(self):
        arch = (
            self.env["product.template"]
            .with_user(self.manager)
            .get_view(self.env.ref("product.product_template_form_view").id)["arch"]
        )
        for name in ("cartona_id", "cartona_internal_id", "cartona_uom_id", "marketplace_stock_sync_enabled"):
            self.assertIn(f'name="{name}"', arch)


class TestAgainstSandbox(MarketplaceCase):
    """The project's sandbox serves the catalogue and takes the supplier's references."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        module = load_sandbox_module()
        cls.server = module.make_server("127.0.0.1", 0, module.Sandbox(TOKEN, seed=5))
        threading.Thread(target=cls.server.serve_forever, daemon=True).start()
        cls.addClassCleanup(cls.server.server_close)
        cls.addClassCleanup(cls.server.shutdown)
        host, port = cls.server.server_address[:2]
        cls.config.write({"api_base_url": f"http://{host}:{port}/api/v1/", "batch_size": 3})
        cls.rice = cls.env["product.product"].create({"name": "ارز مصرى ١ كيلو", "default_code": "RICE-1"})

    def test_references_sent_come_back_in_the_catalogue(self):
        action = self.config.action_open_mapping_assistant()
        lines = self.env["marketplace.mapping.line"].search(action["domain"])
        rice = lines.filtered(lambda line: line.cartona_id == "518001")
        self.assertEqual((rice.product_id, rice.cartona_internal_id), (self.rice, "518#1"))
        with trap_jobs() as trap:
            lines.with_context(**action["context"]).action_apply_and_send_refs()
            self.env.cr.precommit.clear()
            perform_jobs(trap)
        self.assertEqual((self.rice.cartona_id, self.rice.cartona_internal_id), ("518001", "RICE-1"))
        served = self.server.sandbox.products(filters={"supplier_product_id": "518001"})
        self.assertEqual(served[0]["internal_product_id"], "RICE-1")
