import importlib.util
from datetime import timedelta
from pathlib import Path

from odoo import Command, fields

from odoo.addons.queue_job.tests.common import trap_jobs

from .common import ImportCase, make_user

MIGRATIONS = Path(__file__).parent.parent / "migrations" / "18.0.1.1.0"


def run_migration(cr, name):
    spec = importlib.util.spec_from_file_location(name, MIGRATIONS / f"{name}.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    script.migrate(cr, "18.0.1.0.0")


class InboundCase(ImportCase):
    def pull_one(self, data):
        """Pull ``data`` alone; returns the acknowledgement jobs queued."""
        self.http.reset()
        with trap_jobs() as trap:
            self.pull([data])
        return [job for job in trap.enqueued_jobs if job.method_name == "_acknowledge_orders"]

    def waiting(self, hashed_id):
        return self.env["marketplace.parked.order"].search(
            [("marketplace_config_id", "=", self.config.id), ("cartona_id", "=", hashed_id)]
        )


class TestCartonaWordReachesImportedOrders(InboundCase):
    def test_cancellation_reaches_order_whose_product_was_archived(self):
        self.pull_one(self.order_data("Lr4tN8wQ"))
        order = self.sale("Lr4tN8wQ")
        self.assertEqual(order.state, "sale")
        self.soda.active = False
        acks = self.pull_one(self.order_data("Lr4tN8wQ", status="cancelled_by_retailer"))
        self.assertEqual(order.state, "cancel", "the warehouse must not ship a cancelled order")
        self.assertEqual(order.marketplace_status, "cancelled_by_retailer")
        self.assertFalse(self.waiting("Lr4tN8wQ"))
        self.assertEqual(acks[0].args[0], ["Lr4tN8wQ"])

    def test_cancellation_reaches_order_whose_cartona_id_changed(self):
        self.pull_one(self.order_data("Lr4tN8wQ"))
        order = self.sale("Lr4tN8wQ")
        lines = order.order_line
        self.soda.write({"cartona_id": "220731-B", "cartona_internal_id": "904#9"})
        acks = self.pull_one(self.order_data("Lr4tN8wQ", status="cancelled_by_retailer"))
        self.assertEqual(order.state, "cancel")
        self.assertEqual(order.order_line, lines, "known by their Cartona line ids, the lines stay")
        self.assertFalse(self.waiting("Lr4tN8wQ"))
        self.assertEqual(len(acks), 1)

    def test_new_line_with_unknown_product_waits_and_the_status_applies(self):
        self.pull_one(self.order_data("Qx7mK2aP"))
        order = self.sale("Qx7mK2aP")
        lines = order.order_line
        old_hash = order.cartona_payload_hash
        data = self.order_data("Qx7mK2aP", status="approved", note_message="Ring twice")
        data["order_details"].append(
            {"id": 52003, "supplier_product_id": "888001", "product_name": "Biscuits", "amount": 1, "selling_price": 5}
        )
        acks = self.pull_one(data)
        # Cartona's word applies; the lines stay until the product is mapped.
        self.assertEqual((order.state, order.marketplace_status), ("sale", "approved"))
        self.assertEqual(order.cartona_note, "Ring twice")
        self.assertEqual(order.order_line, lines)
        self.assertIn("888001", self.waiting("Qx7mK2aP").reason)
        # Not acknowledged, not marked as applied: nothing of the payload is lost.
        self.assertFalse(acks)
        self.assertEqual(order.cartona_payload_hash, old_hash)
        # Sent again, still unmapped: nothing is done twice.
        self.pull_one(data)
        self.assertEqual(len(self.config.activity_ids), 1)
        self.assertEqual(len(order.picking_ids), 1)
        # Mapped: the order no longer waits for a product, but for a person
        # (the order being confirmed, its lines stay): not acknowledged yet.
        self.env["product.product"].create({"name": "Biscuits", "cartona_id": "888001"})
        self.assertFalse(self.pull_one(data))
        self.assertFalse(self.waiting("Qx7mK2aP"))
        # The waiting order's to-do is done, and said so.
        self.assertFalse(self.config.activity_ids)
        self.assertIn("Cartona order Qx7mK2aP imported.", self.config.message_ids[0].body)
        self.assertEqual(order.activity_ids.summary, "Cartona changed a confirmed order")
        self.assertEqual(order.cartona_payload_hash, old_hash)


class TestCustomersEnteredByHand(InboundCase):
    def _order(self, hashed_id, number, code=None):
        data = self.order_data("Lr4tN8wQ", hashed_id=hashed_id)
        data["retailer"].update(retailer_number=number, retailer_code=code)
        return data

    def test_customer_entered_by_hand_is_found_by_mobile_in_any_form(self):
        shop = self.env["res.partner"].create({"name": "Hand-made shop", "mobile": "+20 100 123 4567"})
        self.assertEqual(shop.cartona_mobile_key, "+201001234567")
        for hashed_id, number in [("Hand1", "01001234567"), ("Hand2", "٠١٠٠١٢٣٤٥٦٧"), ("Hand3", "00201001234567")]:
            self.pull_one(self._order(hashed_id, number))
            self.assertEqual(self.sale(hashed_id).partner_id, shop, number)
        # The number the supplier wrote stays as written.
        self.assertEqual((shop.mobile, shop.phone), ("+20 100 123 4567", False))

    def test_phone_entered_in_arabic_digits_is_found(self):
        shop = self.env["res.partner"].create({"name": "Arabic digits", "phone": "٠١٠٠١٢٣٤٥٦٧"})
        self.pull_one(self._order("Ar1", "+20 100 123 4567", code="R900"))
        self.assertEqual(self.sale("Ar1").partner_id, shop)
        self.assertEqual(shop.cartona_id, "R900")

    def test_employees_and_companies_are_never_a_retailer(self):
        employee = make_user(self.env, "same-phone", "employee")
        employee.partner_id.mobile = "01001234567"
        self.env.company.partner_id.phone = "+20 100 123 4567"
        self.pull_one(self._order("Staff1", "01001234567", code="R902"))
        customer = self.sale("Staff1").partner_id
        self.assertNotIn(customer, employee.partner_id | self.env.company.partner_id)
        self.assertEqual(customer.cartona_id, "R902")
        self.assertFalse(employee.partner_id.cartona_id)
        self.assertFalse(employee.partner_id.sale_order_ids)

    def test_partner_with_another_retailer_code_is_another_retailer(self):
        other = self.env["res.partner"].create({"name": "Other", "mobile": "01001234567", "cartona_id": "R1"})
        self.pull_one(self._order("Code1", "01001234567", code="R2"))
        self.assertNotEqual(self.sale("Code1").partner_id, other)

    def test_a_local_number_is_read_in_the_partners_country(self):
        saudi = self.env["res.partner"].create(
            {"name": "Riyadh", "phone": "0501234567", "country_id": self.env.ref("base.sa").id}
        )
        self.assertEqual(saudi.cartona_phone_key, "+966501234567")
        saudi.country_id = False
        self.assertEqual(saudi.cartona_phone_key, "+20501234567", "Egypt when no country is set")

    def test_upgrade_computes_every_partners_keys(self):
        shop = self.env["res.partner"].create({"name": "Old shop", "phone": "01001234567"})
        self.env.flush_all()
        # What the old connector wrote: digits only, and only on its own partners.
        self.env.cr.execute(
            "UPDATE res_partner SET cartona_phone_key = CASE WHEN id = %s THEN NULL ELSE '1112223334' END "
            "WHERE id IN %s",
            [shop.id, (shop.id, self.env.user.partner_id.id)],
        )
        self.env.invalidate_all()
        run_migration(self.env.cr, "post-partner_phone_keys")
        self.assertEqual(shop.cartona_phone_key, "+201001234567")
        self.assertFalse(self.env.user.partner_id.cartona_phone_key)


class TestCartonaPrices(InboundCase):
    def setUp(self):
        super().setUp()
        self.pull_one(self.order_data("Qx7mK2aP"))
        self.order = self.sale("Qx7mK2aP")
        self.oil_line = self.order.order_line.filtered(lambda line: line.product_id == self.oil)

    def test_quantity_change_keeps_cartona_price(self):
        self.oil_line.product_uom_qty = 6
        self.assertEqual(self.oil_line.price_unit, 470)

    def test_update_prices_keeps_cartona_lines_and_prices_hand_added_lines(self):
        self.oil_line.discount = 5
        self.order.order_line = [Command.create({"product_id": self.rice.id, "product_uom_qty": 2})]
        added = self.order.order_line.filtered(lambda line: not line.cartona_imported)
        self.assertEqual(added.price_unit, 1.0, "a line added by hand gets the pricelist's price")
        added.price_unit = 9
        self.order.action_update_prices()
        self.assertEqual((self.oil_line.price_unit, self.oil_line.discount), (470, 5))
        self.assertEqual(added.price_unit, 1.0)
        added.product_uom_qty = 3
        self.assertEqual(added.price_unit, 1.0)

    def test_upgrade_marks_lines_imported_before(self):
        self.order.order_line = [Command.create({"product_id": self.rice.id, "product_uom_qty": 2})]
        added = self.order.order_line.filtered(lambda line: not line.cartona_imported)
        self.env.flush_all()
        self.env.cr.execute("UPDATE sale_order_line SET cartona_imported = NULL WHERE order_id = %s", [self.order.id])
        self.env.invalidate_all()
        run_migration(self.env.cr, "post-imported_lines")
        self.assertEqual((self.order.order_line - added).mapped("cartona_imported"), [True, True])
        self.assertFalse(added.cartona_imported)


class TestActivities(InboundCase):
    def _change_confirmed_order(self, amount):
        data = self.order_data("Lr4tN8wQ")
        data["order_details"][2]["amount"] = amount
        return data

    def test_responsible_is_the_creator_never_odoobot(self):
        admin = self.env.ref("base.user_admin")
        self.assertEqual(self.config.responsible_id, admin, "created by OdooBot: the administrator")
        manager = make_user(self.env, "marketplace_manager", "mp_manager")
        config = self.env["marketplace.config"].with_user(manager).create({"name": "Mine", "auth_token": "other"})
        self.assertEqual(config.responsible_id, manager)

    def test_activity_goes_to_the_responsible_once_across_pulls(self):
        self.pull_one(self.order_data("Lr4tN8wQ"))
        order = self.sale("Lr4tN8wQ")
        order.user_id = self.env.ref("base.user_root")
        self.pull_one(self._change_confirmed_order(3))
        self.pull_one(self._change_confirmed_order(4))
        activity = order.activity_ids
        self.assertEqual(len(activity), 1, "one problem, one activity")
        self.assertEqual(activity.user_id, self.config.responsible_id)

    def test_activity_goes_to_the_salesperson(self):
        salesman = make_user(self.env, "salesman", groups=("sales_team.group_sale_salesman",))
        self.config.user_id = salesman
        self.pull_one(self.order_data("Lr4tN8wQ"))
        self.pull_one(self._change_confirmed_order(3))
        self.assertEqual(self.sale("Lr4tN8wQ").activity_ids.user_id, salesman)

    def test_waiting_order_activity_never_goes_to_odoobot(self):
        data = self.order_data("Lr4tN8wQ")
        data["order_details"][2].update(supplier_product_id="888001", internal_product_id="888#1")
        self.pull_one(data)
        self.waiting("Lr4tN8wQ").unlink()  # released, then waiting again: the open activity is enough
        self.pull_one(data)
        self.assertEqual(len(self.config.activity_ids), 1)
        self.assertEqual(self.config.activity_ids.user_id, self.env.ref("base.user_admin"))


class TestReplayAfterMapping(InboundCase):
    def setUp(self):
        super().setUp()
        data = self.order_data("Lr4tN8wQ")
        data["order_details"][2].update(supplier_product_id="888001", internal_product_id="888#1")
        self.pull_one(data)
        self.parked = self.waiting("Lr4tN8wQ")
        # Tried a while ago; every mapping of the set-up is older.
        self.parked.last_seen = fields.Datetime.now() - timedelta(days=1)
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE product_product SET cartona_mapping_date = %s WHERE cartona_mapping_date IS NOT NULL",
            [fields.Datetime.now() - timedelta(days=2)],
        )
        self.env.invalidate_all()

    def test_stock_publishing_does_not_replay(self):
        published = self.soda.cartona_mapping_date
        # What publishing stock writes on a mapped product.
        self.soda.write({"marketplace_sync_status": "synced", "marketplace_published_qty": 41})
        self.soda.product_tmpl_id.write({"list_price": 3})
        self.assertEqual(self.soda.cartona_mapping_date, published)
        self.pull_one(self.order_data("Qx7mK2aP"))
        self.assertTrue(self.parked.exists(), "not replayed")
        self.assertFalse(self.sale("Lr4tN8wQ"))

    def test_a_mapping_replays(self):
        self.env["product.product"].create({"name": "Biscuits", "cartona_internal_id": "888#1"})
        self.pull_one(self.order_data("Qx7mK2aP"))
        self.assertFalse(self.parked.exists())
        self.assertEqual(self.sale("Lr4tN8wQ").state, "sale")

    def test_unarchiving_a_mapped_product_is_a_mapping(self):
        self.soda.active = False
        archived = self.soda.cartona_mapping_date
        self.soda.active = True
        self.assertGreater(self.soda.cartona_mapping_date, archived)
        self.soda.cartona_internal_id = "904#3"
        self.assertTrue(self.soda.cartona_mapping_date)
