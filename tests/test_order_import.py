import json
from datetime import timedelta
from unittest.mock import ANY, patch

import psycopg2
import responses

from odoo import fields
from odoo.exceptions import UserError

from odoo.addons.cartona_marketplace import const
from odoo.addons.cartona_marketplace.cartona.payloads import phone_key
from odoo.addons.cartona_marketplace.exceptions import MarketplaceDataError
from odoo.addons.queue_job.tests.common import trap_jobs

from .common import ImportCase, bad_orders, perform_jobs


class TestImportPage(ImportCase):
    def test_page_imports_each_order_once_with_its_status(self):
        with trap_jobs() as trap:
            stats = self.pull(self.page)
        self.assertEqual(stats["created"], 4)
        pending, approved, shipped, editing = (self.sale(h) for h in ("Qx7mK2aP", "Lr4tN8wQ", "Pz2cV6yE", "Mn9bH3kT"))
        self.assertEqual(pending.state, "draft")
        self.assertEqual(approved.state, "sale")
        self.assertEqual(shipped.state, "sale")
        self.assertEqual(shipped.picking_ids.state, "assigned")
        self.assertEqual(editing.state, "draft")
        self.assertEqual(editing.marketplace_status, "editing")
        # One acknowledgement for the page, in one bulk request once committed.
        trap.assert_jobs_count(1, only=self.config._acknowledge_orders)
        trap.assert_enqueued_job(
            self.config._acknowledge_orders,
            args=(sorted(["Qx7mK2aP", "Lr4tN8wQ", "Pz2cV6yE", "Mn9bH3kT"]), ANY, ANY),
        )
        self.http.post(self.url("order/update-order-status"), json=[])
        self.http.post(self.url("supplier-product/bulk-update"), json=[])
        perform_jobs(trap)
        ack = [c for c in self.http.calls if c.request.url.endswith("order/update-order-status")]
        self.assertEqual(len(ack), 1)
        self.assertEqual(
            sorted(item["hashed_id"] for item in json.loads(ack[0].request.body)),
            sorted(["Qx7mK2aP", "Lr4tN8wQ", "Pz2cV6yE", "Mn9bH3kT"]),
        )
        self.assertEqual({item["status"] for item in json.loads(ack[0].request.body)}, {"synced"})
        self.assertEqual(self.config.total_orders_pulled, 4)
        self.assertTrue(self.config.last_pull_date)

    def test_an_unanswered_acknowledgement_is_left_to_the_next_pull(self):
        # Sent again later, it could land after Cartona changed the order and
        # mark that change as read: the next pull acknowledges the latest state.
        with trap_jobs() as trap:
            self.pull(self.page)
        self.http.post(self.url("order/update-order-status"), status=503, json={"message": "Server Error"})
        self.http.post(self.url("supplier-product/bulk-update"), json=[])
        perform_jobs(trap)  # would raise a retryable error if the job were to be retried
        log = self.env["marketplace.sync.log"].search([("operation_type", "=", "order_ack")], limit=1)
        self.assertEqual(log.status, "warning")
        self.assertIn("the next pull reads them again", log.message)
        with trap_jobs() as trap:
            stats = self.pull(self.page)
        self.assertEqual(stats["unchanged"], 4)
        trap.assert_enqueued_job(
            self.config._acknowledge_orders,
            args=(sorted(["Qx7mK2aP", "Lr4tN8wQ", "Pz2cV6yE", "Mn9bH3kT"]), ANY, ANY),
        )

    def test_an_order_changed_after_the_pull_read_it_is_not_acknowledged(self):
        # Cartona's "synced" names no version: sent now, it would mark the
        # delivery as read, and Odoo would never hear of it.
        with trap_jobs() as trap:
            self.pull(self.page)
        self.http.reset()
        delivered = self.order_data("Pz2cV6yE", status="delivered")
        changed_page = [delivered if order["hashed_id"] == "Pz2cV6yE" else order for order in self.page]
        self.serve_pages(changed_page)
        self.http.post(self.url("order/update-order-status"), json=[])
        self.http.post(self.url("supplier-product/bulk-update"), json=[])
        perform_jobs(trap)
        acks = [c for c in self.http.calls if c.request.url.endswith("order/update-order-status")]
        self.assertEqual(
            sorted(item["hashed_id"] for item in json.loads(acks[0].request.body)),
            sorted(["Qx7mK2aP", "Lr4tN8wQ", "Mn9bH3kT"]),
        )
        log = self.logs(("operation_type", "=", "order_ack"), ("status", "=", "info"))
        self.assertIn("Pz2cV6yE", log.message)
        # The next pull imports the delivery, and acknowledges it.
        with trap_jobs() as trap:
            stats = self.pull(changed_page)
        self.assertEqual((stats["updated"], stats["unchanged"]), (1, 3))
        self.assertEqual(self.sale("Pz2cV6yE").marketplace_status, "delivered")
        trap.assert_enqueued_job(
            self.config._acknowledge_orders,
            args=(sorted(order["hashed_id"] for order in changed_page), ANY, ANY),
        )

    def test_an_order_no_longer_listed_is_not_acknowledged(self):
        # Acknowledged meanwhile (by a later pull's acknowledgement): nothing to send.
        with trap_jobs() as trap:
            self.pull(self.page)
        self.http.reset()
        self.serve_pages([])
        self.http.post(self.url("supplier-product/bulk-update"), json=[])
        perform_jobs(trap)
        self.assertFalse([c for c in self.http.calls if c.request.url.endswith("order/update-order-status")])

    def test_a_late_acknowledgement_is_not_sent(self):
        # Requeued, or left in a queue that did not run: the orders may have
        # changed on Cartona since, and the next pull acknowledges what they are now.
        from odoo.addons.queue_job.job import Job

        self.pull(self.page)
        record = self.env["queue.job"].search([("method_name", "=", "_acknowledge_orders")])
        # queue_job guards its records' fields: queued 10 minutes ago, by SQL.
        hashed_ids, read, _queued_at = record.args
        queued_at = fields.Datetime.to_string(fields.Datetime.now() - timedelta(minutes=10))
        self.env.cr.execute(
            "UPDATE queue_job SET args = %s WHERE id = %s", [json.dumps([hashed_ids, read, queued_at]), record.id]
        )
        self.env.invalidate_all()
        Job.load(self.env, record.uuid).perform()
        self.assertFalse([c for c in self.http.calls if c.request.url.endswith("order/update-order-status")])
        log = self.env["marketplace.sync.log"].search([("operation_type", "=", "order_ack")], limit=1)
        self.assertIn("queued 600 s ago", log.message)

    def test_stock_of_a_whole_page_goes_out_in_one_request(self):
        # A failing order makes the page run again with a savepoint per
        # order, and Odoo runs the precommit hooks at each: each adds its
        # rows, and one drain sends them. (Real jobs here: the drain's
        # identity is looked up in the database.)
        self.env.flush_all()
        self.env.cr.precommit.run()  # publish the products the set-up mapped
        # ... which the set-up's drain did.
        self.env["marketplace.publication"].search([]).unlink()
        self.env["queue.job"].search([("method_name", "=", "_publish_pending")]).unlink()
        # A product of another company: Odoo refuses the order once created.
        other_company = self.env["res.company"].create({"name": "Other company"})
        self.env["product.product"].create(
            {"name": "Elsewhere", "cartona_id": "OTHER1", "company_id": other_company.id}
        )
        failing = self.order_data("Lr4tN8wQ", hashed_id="Refused9")
        failing["order_details"][2].update(supplier_product_id="OTHER1", internal_product_id=None)
        stats = self.pull([*self.page, failing])
        self.assertEqual((stats["created"], stats["failed"]), (4, 1))
        self.env.flush_all()
        self.env.cr.precommit.run()  # what the commit does
        new = self.env["queue.job"].search([("method_name", "=", "_publish_pending")])
        self.assertEqual(len(new), 1)
        rows = self.env["marketplace.publication"].search([])
        self.assertTrue({self.soda, self.sugar, self.tea} <= set(rows.product_id))
        from odoo.addons.queue_job.job import Job

        self.http.add(responses.POST, self.url(const.ENDPOINT_PRODUCTS_BULK_UPDATE), json=[])
        calls = len(self.http.calls)
        Job.load(self.env, new.uuid).perform()
        [request] = [call.request for call in self.http.calls[calls:]]
        self.assertEqual(
            {item["supplier_product_id"] for item in json.loads(request.body)},
            set(rows.product_id.mapped("cartona_id")),
        )
        self.assertFalse(self.env["marketplace.publication"].search([]))

    def test_order_keeps_what_a_supplier_needs(self):
        self.pull(self.page)
        order = self.sale("Qx7mK2aP")
        self.assertEqual(order.marketplace_order_number, "C-2026-118204")
        self.assertEqual(order.client_order_ref, "C-2026-118204")
        self.assertEqual(order.delivered_by, "delivered_by_supplier")
        self.assertEqual(order.marketplace_supplier_code, "1")
        self.assertEqual(str(order.cartona_estimated_delivery_day), "2026-11-27")
        self.assertEqual(order.cartona_note, "الرجاء الاتصال قبل التوصيل")
        self.assertEqual(
            (order.cartona_credit, order.cartona_installment_cost, order.cartona_wallet_top_up), (80, 2400, 50)
        )
        self.assertTrue(order.cartona_otp_required)
        self.assertEqual(order.company_id, self.config.company_id)
        self.assertEqual(order.warehouse_id, self.warehouse)
        partner = order.partner_id
        self.assertEqual(partner.name, "سوبر ماركت الأمل")
        self.assertEqual(partner.cartona_id, "B01142")
        self.assertEqual(partner.street2, "بجوار الصيدلية")
        self.assertEqual(partner.cartona_phone_key, "+201112223334")
        # The editing order is the same retailer, its phone written another way.
        self.assertEqual(self.sale("Mn9bH3kT").partner_id, partner)
        self.assertEqual(partner.street, "الدقي، الجيزة", "details follow Cartona's latest")
        line = order.order_line.filtered(lambda sol: sol.product_id == self.oil)
        self.assertEqual((line.cartona_line_id, line.cartona_unit, line.cartona_unit_count), ("52001", "box", 12))
        self.assertEqual(line.cartona_supplier_discount, 10)
        self.assertFalse(self.sale("Lr4tN8wQ").partner_id.cartona_id)

    def test_box_of_12_line_and_delivery_moves_pieces(self):
        self.pull(self.page)
        order = self.sale("Qx7mK2aP")
        line = order.order_line.filtered(lambda sol: sol.product_id == self.oil)
        self.assertEqual(line.product_uom, self.box12)
        self.assertEqual(line.product_uom_qty, 4)
        self.assertEqual(line.price_unit, 470)
        self.assertEqual(line.price_subtotal, 1880)
        order.action_confirm()
        move = order.picking_ids.move_ids.filtered(lambda m: m.product_id == self.oil)
        self.assertEqual(move.product_qty, 48, "4 boxes of 12 move 48 pieces")

    def test_totals_equal_cartona_with_offers_and_price_included_tax(self):
        tax = self.env["account.tax"].create(
            {"name": "VAT 14% incl.", "amount": 14, "type_tax_use": "sale", "price_include_override": "tax_included"}
        )
        self.config.tax_ids = tax
        own = self.env["account.tax"].create(
            {"name": "Own 5% incl.", "amount": 5, "type_tax_use": "sale", "price_include_override": "tax_included"}
        )
        self.soda.taxes_id = own
        self.pull(self.page)
        for data in self.page:
            order = self.sale(data["hashed_id"])
            self.assertAlmostEqual(order.amount_total, data["total_price"], places=2, msg=data["hashed_id"])
            soda = order.order_line.filtered(lambda sol: sol.product_id == self.soda)
            if soda:
                self.assertEqual(soda.tax_id, own, "the product's own tax")
            self.assertEqual((order.order_line - soda).tax_id, tax, "the configuration's, for products with none")
        offer = self.sale("Lr4tN8wQ").order_line.filtered(lambda sol: sol.product_id == self.soda)
        self.assertEqual(sorted(offer.mapped("price_unit")), [175, 200], "offer lines stay separate")
        self.assertFalse(self.logs(("status", "=", "warning"), ("res_model", "=", "sale.order")))

    def test_total_mismatch_is_a_warning(self):
        data = self.order_data("Lr4tN8wQ", total_price=1400)
        self.pull([data])
        order = self.sale("Lr4tN8wQ")
        self.assertEqual(order.amount_total, 1370)
        warning = self.logs(("status", "=", "warning"), ("res_id", "=", order.id))
        self.assertIn("1400", warning.message)
        self.assertIn("1400", order.message_ids[0].body)

    def test_supplier_code_filters_orders(self):
        self.config.supplier_code = "3"
        with trap_jobs() as trap:
            stats = self.pull(self.page)
        self.assertEqual((stats["created"], stats["ignored"]), (1, 3))
        self.assertTrue(self.sale("Pz2cV6yE"))
        self.assertFalse(self.sale("Qx7mK2aP"))
        trap.assert_enqueued_job(self.config._acknowledge_orders, args=(["Pz2cV6yE"], ANY, ANY))
        self.assertEqual(self.http.calls[0].request.params["internal_supplier_code"], "3")
        # A malformed order of another account is not ours to log or keep.
        self.http.reset()
        foreign = self.order_data("Qx7mK2aP", hashed_id="Foreign1", status="shipped")
        self.assertEqual(self.pull([foreign])["ignored"], 1)
        self.assertFalse(self.env["marketplace.parked.order"].search([("cartona_id", "=", "Foreign1")]))


class TestRepullAndAck(ImportCase):
    def test_repull_writes_nothing_and_acknowledges_again(self):
        self.pull(self.page)
        orders = self.env["sale.order"].search([("marketplace_config_id", "=", self.config.id)])
        self.env.flush_all()
        self.env.cr.execute("SELECT id, write_date FROM sale_order WHERE id IN %s", [tuple(orders.ids)])
        before = dict(self.env.cr.fetchall())
        self.http.reset()
        with trap_jobs() as trap:
            stats = self.pull(self.page)
        self.assertEqual(stats["unchanged"], 4)
        self.env.flush_all()
        self.env.cr.execute("SELECT id, write_date FROM sale_order WHERE id IN %s", [tuple(orders.ids)])
        self.assertEqual(dict(self.env.cr.fetchall()), before)
        self.assertEqual(self.env["sale.order"].search_count([("marketplace_config_id", "=", self.config.id)]), 4)
        trap.assert_jobs_count(1, only=self.config._acknowledge_orders)
        # Cartona is told again: the orders it still lists are read.
        self.http.post(self.url(const.ENDPOINT_ORDER_STATUS), json=[])
        perform_jobs(trap)
        self.assertEqual(self.acknowledged(), sorted(orders.mapped("cartona_id")))

    def test_failed_and_parked_orders_are_never_acknowledged(self):
        bad = self.order_data("Lr4tN8wQ", hashed_id="Bad1", order_details=[{"id": 1, "supplier_product_id": "220731"}])
        unknown = self.order_data("Lr4tN8wQ", hashed_id="Unknown1")
        unknown["order_details"][2]["supplier_product_id"] = "999999"
        unknown["order_details"][2]["internal_product_id"] = "999#9"
        good = self.order_data("Qx7mK2aP")
        with trap_jobs() as trap:
            stats = self.pull([bad, unknown, good])
        self.assertEqual((stats["failed"], stats["parked"], stats["created"]), (1, 1, 1))
        trap.assert_jobs_count(1, only=self.config._acknowledge_orders)
        trap.assert_enqueued_job(self.config._acknowledge_orders, args=(["Qx7mK2aP"], ANY, ANY))
        self.http.post(self.url(const.ENDPOINT_ORDER_STATUS), json=[])
        self.http.post(self.url(const.ENDPOINT_PRODUCTS_BULK_UPDATE), json=[])  # the stock the order reserves
        perform_jobs(trap)
        self.assertEqual(self.acknowledged(), ["Qx7mK2aP"])
        self.assertFalse(self.sale("Bad1"))
        self.assertFalse(self.sale("Unknown1"))


class TestParkedOrders(ImportCase):
    def _unknown(self):
        data = self.order_data("Lr4tN8wQ")
        data["order_details"][2].update(supplier_product_id="888001", internal_product_id="888#1")
        return data

    def test_unknown_product_parked_then_imported_once_mapped(self):
        data = self._unknown()
        with trap_jobs() as trap:
            self.pull([data])
        trap.assert_jobs_count(0, only=self.config._acknowledge_orders)
        self.assertFalse(self.sale("Lr4tN8wQ"), "no placeholder order")
        parked = self.env["marketplace.parked.order"].search([("cartona_id", "=", "Lr4tN8wQ")])
        self.assertIn("888001", parked.reason)
        self.assertIn("888001", self.logs(("status", "=", "error"), ("res_model", "=", parked._name)).message)
        activity = self.config.activity_ids
        self.assertEqual(len(activity), 1)
        self.assertIn("888001", activity.note)
        # Pulled again, still unmapped: still parked, no second activity.
        self.http.reset()
        self.pull([data])
        self.assertEqual(len(self.config.activity_ids), 1)
        self.assertEqual(self.config.parked_order_count, 1)
        # Mapped: the next pull imports it and acknowledges it.
        self.env["product.product"].create({"name": "New biscuits", "cartona_id": "888001"})
        self.http.reset()
        with trap_jobs() as trap:
            self.pull([data])
        self.assertEqual(self.sale("Lr4tN8wQ").state, "sale")
        self.assertFalse(parked.exists())
        trap.assert_enqueued_job(self.config._acknowledge_orders, args=(["Lr4tN8wQ"], ANY, ANY))

    def test_parked_order_imported_even_if_cartona_stops_sending_it(self):
        data = self._unknown()
        self.pull([data])
        parked = self.env["marketplace.parked.order"].search([("cartona_id", "=", "Lr4tN8wQ")])
        parked.last_seen = fields.Datetime.now() - timedelta(minutes=5)
        first_seen = parked.first_seen
        # The window of the next pull still reaches back to the parked order.
        self.env["product.product"].create({"name": "New biscuits", "cartona_internal_id": "888#1"})
        self.http.reset()
        with trap_jobs() as trap:
            self.pull([])
        date_from = fields.Datetime.to_datetime(self.http.calls[0].request.params["from"])
        self.assertLess(date_from, first_seen)
        self.assertTrue(self.sale("Lr4tN8wQ"))
        self.assertFalse(parked.exists())
        # Imported from the kept payload: acknowledged when Cartona sends it again.
        trap.assert_jobs_count(0, only=self.config._acknowledge_orders)


class TestMalformedOrders(ImportCase):
    def test_each_malformed_order_names_its_field(self):
        cases = [case for case in bad_orders("malformed") if "field" in case]
        self.assertGreaterEqual(len(cases), 20)
        processor = self.env["marketplace.order.processor"]
        for case in cases:
            with self.subTest(case=case["case"]):
                with self.raises(MarketplaceDataError) as caught:
                    processor._process_marketplace_order(self.config, case["payload"])
                self.assertEqual(caught.exception.field, case["field"])
                self.assertIn(case["field"], str(caught.exception))

    def test_bad_orders_are_logged_and_the_page_goes_on(self):
        watermark = self.config.last_pull_date
        cases = [case for case in bad_orders("malformed") if "field" in case]
        page = [case["payload"] for case in cases]
        page.insert(5, self.order_data("Qx7mK2aP"))
        page.append(self.order_data("Lr4tN8wQ"))
        partners_before = self.env["res.partner"].search_count([])
        with trap_jobs() as trap:
            stats = self.pull(page)
        self.assertEqual(stats["created"], 2)
        self.assertEqual(stats["unidentified"], 4, "no usable hashed_id")
        self.assertEqual(stats["failed"] + stats["unidentified"], len(cases))
        errors = self.logs(("status", "=", "error"), ("operation_type", "=", "order_process"))
        self.assertEqual(len(errors), len(cases))
        for case in cases:
            self.assertTrue(any(case["field"] in log.message for log in errors), case["case"])
        trap.assert_enqueued_job(self.config._acknowledge_orders, args=(["Lr4tN8wQ", "Qx7mK2aP"], ANY, ANY))
        # Failed orders wait with their reason; without an id, the window stays.
        waiting = self.env["marketplace.parked.order"].search([("marketplace_config_id", "=", self.config.id)])
        self.assertEqual(len(waiting), stats["failed"])
        self.assertEqual(self.config.last_pull_date, watermark)
        # Nothing half-created: only the two good retailers are new.
        self.assertEqual(self.env["res.partner"].search_count([]), partners_before + 2)
        self.assertFalse(self.env["sale.order"].search([("cartona_id", "like", "Bad%")]))

    def test_order_failing_in_odoo_rolls_back_alone(self):
        good = self.order_data("Qx7mK2aP")
        failing = self.order_data("Lr4tN8wQ")
        # A product of another company: Odoo refuses the line, after the
        # retailer was created in the same savepoint.
        other_company = self.env["res.company"].create({"name": "Other company"})
        self.env["product.product"].create(
            {"name": "Elsewhere", "cartona_id": "OTHER1", "company_id": other_company.id}
        )
        failing["order_details"][2].update(supplier_product_id="OTHER1", internal_product_id=None)
        stats = self.pull([failing, good])
        self.assertEqual((stats["created"], stats["failed"]), (1, 1))
        self.assertFalse(self.sale("Lr4tN8wQ"))
        self.assertFalse(self.env["res.partner"].search([("name", "=", "بقالة الحاج سيد")]))


class TestPullWindow(ImportCase):
    def test_first_pull_has_no_lower_bound_even_with_a_waiting_order(self):
        # A configuration that never pulled walks what Cartona held before going live.
        self.config.last_pull_date = False
        self.env["marketplace.parked.order"].create(
            {"marketplace_config_id": self.config.id, "cartona_id": "Wt5old", "payload": "{}", "reason": "test"}
        )
        self.config.pull_page_size = 1
        self.serve_pages([self.order_data("Lr4tN8wQ")], [])
        self.env["marketplace.order.pull"]._cron_pull_orders()
        self.env["marketplace.order.pull"]._cron_pull_orders()
        for call in self.http.calls:
            self.assertNotIn("from", call.request.params)
            self.assertEqual(call.request.params["to"], fields.Datetime.to_string(self.config.import_orders_from))

    def test_an_order_without_a_usable_id_keeps_the_cron_walk_s_window(self):
        watermark = self.config.last_pull_date
        unidentified = self.order_data("Qx7mK2aP", hashed_id=None)
        self.config.pull_page_size = 1
        self.serve_pages([unidentified], [])
        with trap_jobs():
            self.env["marketplace.order.pull"]._cron_pull_orders()  # the page of the unidentified order
            self.env["marketplace.order.pull"]._cron_pull_orders()  # the empty page that ends the walk
        self.assertEqual(self.config.pull_next_page, 1, "the walk ended")
        self.assertEqual(self.config.last_pull_date, watermark, "it may be lost behind the window")

    def test_a_price_with_more_decimals_than_odoo_keeps_is_no_change_of_a_confirmed_order(self):
        data = self.order_data("Lr4tN8wQ")
        data["order_details"][0]["price"] = 175.123456789
        with trap_jobs():
            self.pull([data])
        sale = self.sale("Lr4tN8wQ")
        self.assertEqual(sale.state, "sale")
        self.http.reset()
        with trap_jobs() as trap:
            stats = self.pull([dict(data, note_message="Ring twice")])
        self.assertEqual((stats["updated"], stats["held"]), (1, 0), stats)
        self.assertEqual(sale.cartona_note, "Ring twice")
        trap.assert_jobs_count(1, only=self.config._acknowledge_orders)

    def test_failed_order_keeps_the_window_open(self):
        self.pull([])
        self.http.reset()
        failing = self.order_data("Qx7mK2aP", status="approved")
        failing["order_details"][0]["selling_price"] = "470 EGP"  # a number as a string would do
        self.pull([failing])
        waiting = self.env["marketplace.parked.order"].search([("cartona_id", "=", "Qx7mK2aP")])
        self.assertIn("selling_price", waiting.reason)
        # Much later, the next pull still reaches back to it.
        first_seen = waiting.first_seen
        self.config.last_pull_date = first_seen + timedelta(days=3)
        self.http.reset()
        self.pull([self.order_data("Qx7mK2aP")])
        date_from = fields.Datetime.to_datetime(self.http.calls[0].request.params["from"])
        self.assertLess(date_from, first_seen)
        self.assertTrue(self.sale("Qx7mK2aP"))
        self.assertFalse(waiting.exists(), "imported: no longer waiting")


class TestCustomers(ImportCase):
    def test_phone_matches_across_formats(self):
        self.assertEqual(phone_key("+20 100 123 4567"), "+201001234567")
        self.assertEqual(phone_key("00201001234567"), "+201001234567")
        self.assertEqual(phone_key("01001234567"), "+201001234567")
        base = self.order_data("Lr4tN8wQ")
        for index, number in enumerate(["+201001234567", "00201001234567", "01001234567", "+20 100 123 4567"]):
            data = dict(base, hashed_id=f"Phone{index}")
            data["retailer"] = dict(base["retailer"], retailer_number=number)
            self.pull([data])
            self.http.reset()
        partners = self.env["sale.order"].search([("cartona_id", "like", "Phone%")]).partner_id
        self.assertEqual(len(partners), 1)

    def test_partner_found_by_phone_gets_the_code_and_keeps_its_details(self):
        partner = self.env["res.partner"].create({"name": "Known shop", "phone": "01009876543", "street": "Nile St."})
        data = self.order_data("Lr4tN8wQ")
        data["retailer"]["retailer_code"] = "R777"
        again = self.order_data("Lr4tN8wQ", hashed_id="Again1")
        again["retailer"]["retailer_code"] = "R777"
        self.pull([data])
        self.http.reset()
        self.pull([again])
        self.assertEqual(self.sale("Lr4tN8wQ").partner_id, partner)
        self.assertEqual(self.sale("Again1").partner_id, partner)
        self.assertEqual(partner.cartona_id, "R777")
        # The supplier's own customer: its name and address are the supplier's, order after order.
        self.assertEqual((partner.name, partner.street), ("Known shop", "Nile St."))

    def test_same_name_is_not_the_same_retailer(self):
        data = self.order_data("Lr4tN8wQ")
        other = self.order_data("Lr4tN8wQ", hashed_id="Other1")
        other["retailer"] = dict(data["retailer"], retailer_number="01110000000")
        self.pull([data, other])
        self.assertNotEqual(self.sale("Lr4tN8wQ").partner_id, self.sale("Other1").partner_id)


class TestQueryCount(ImportCase):
    def _order_with_lines(self, hashed_id, count):
        products = [
            self._product(
                f"Item {hashed_id} {i}",
                self.env.ref("uom.product_uom_unit"),
                self.env.ref("uom.product_uom_unit"),
                cartona_id=f"{hashed_id}-{i}",
            )
            for i in range(count)
        ]
        data = self.order_data("Qx7mK2aP", hashed_id=hashed_id, total_price=count * 5)
        data["order_details"] = [
            {"id": i, "supplier_product_id": product.cartona_id, "amount": 1, "selling_price": 5}
            for i, product in enumerate(products)
        ]
        return data

    def test_queries_do_not_grow_with_lines(self):
        processor = self.env["marketplace.order.processor"]
        small, large = self._order_with_lines("Small", 2), self._order_with_lines("Large", 20)
        # Warm the caches that a first import fills, then measure both.
        processor._process_page(self.config, [self._order_with_lines("Warm", 2)])
        self.env.flush_all()
        self.env.invalidate_all()
        counts = []
        for data in (small, large):
            before = self.cr.sql_log_count
            processor._process_page(self.config, [data])
            self.env.flush_all()
            counts.append(self.cr.sql_log_count - before)
            self.env.invalidate_all()
        self.assertEqual(counts[0], counts[1], f"2 lines: {counts[0]} queries, 20 lines: {counts[1]}")


class TestPageTogether(ImportCase):
    """A page's orders are processed together, in one savepoint; when one of
    them fails, the page is processed again with a savepoint per order.
    (Logs written apart share the test's transaction here: that a rolled-back
    batch logs once is shown on real transactions, in test_concurrency.)"""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        other_company = cls.env["res.company"].create({"name": "Other company"})
        cls.env["product.product"].create({"name": "Elsewhere", "cartona_id": "OTHER1", "company_id": other_company.id})

    def _savepoints(self, page):
        """The pull's outcomes, and how many savepoints it made and rolled back."""
        with self.assertLogs("odoo.sql_db", "DEBUG") as sql:
            stats = self.pull(page)
        count = {kind: sum(f"query: {kind}" in line for line in sql.output) for kind in ("SAVEPOINT", "ROLLBACK TO")}
        return stats, count

    def _new(self, hashed_id, source="Lr4tN8wQ", **changes):
        return self.order_data(source, hashed_id=hashed_id, receipt_id=f"C-{hashed_id}", **changes)

    def _failing(self, hashed_id):
        """A new order Odoo refuses once created: a line's product is another company's."""
        data = self._new(hashed_id)
        data["order_details"][2].update(supplier_product_id="OTHER1", internal_product_id=None)
        return data

    def test_savepoints_do_not_grow_with_the_orders_of_a_page(self):
        two = self._savepoints([self._new(f"Two{n}") for n in range(2)])
        six = self._savepoints([self._new(f"Six{n}") for n in range(6)])
        self.assertEqual((two[0]["created"], six[0]["created"]), (2, 6))
        self.assertEqual(two[1], six[1])
        self.assertEqual(six[1]["ROLLBACK TO"], 0)

    def test_a_failing_order_leaves_the_others_imported_and_every_trace_once(self):
        page = [self._new("Mismatch1", total_price=1400), self._new("Good1"), self._failing("Refused1")]
        stats, savepoints = self._savepoints(page)
        self.assertEqual((stats["created"], stats["failed"]), (2, 1), stats)
        self.assertGreaterEqual(savepoints["SAVEPOINT"], len(page) + 1, "the page was processed again order by order")
        sale = self.sale("Mismatch1")
        self.assertEqual(sale.state, "sale")
        self.assertEqual(len(self.logs(("status", "=", "warning"), ("res_id", "=", sale.id))), 1)
        self.assertEqual(len(sale.message_ids.filtered(lambda m: "1400" in (m.body or ""))), 1)
        self.assertEqual(len(self.logs(("status", "=", "error"), ("message", "like", "Refused1"))), 1)
        waiting = self.env["marketplace.parked.order"].search([("cartona_id", "=", "Refused1")])
        self.assertEqual(len(waiting), 1)
        self.assertEqual(self.sale("Good1").state, "sale")
        self.assertFalse(self.sale("Refused1"))
        self.assertEqual(len(self.logs(("status", "=", "success"), ("operation_type", "=", "order_process"))), 2)

    def test_an_order_that_failed_before_does_not_hold_its_page_back_again(self):
        failing = self._failing("Refused2")
        self.pull([self._new("First1"), failing, self._new("First2")])
        errors = self.logs(("status", "=", "error"))
        # Cartona sends it again, on a page of new orders: they are processed
        # together once, the failed order alone, and nothing is logged again.
        stats, savepoints = self._savepoints([self._new("Second1"), failing, self._new("Second2")])
        self.assertEqual((stats["created"], stats["failed"]), (2, 1), stats)
        # Only the failed order's own savepoint is rolled back, not the batch's.
        self.assertEqual(savepoints["ROLLBACK TO"], 1)
        self.assertEqual(self.logs(("status", "=", "error")), errors)

    def test_a_new_order_without_retailer_never_joins_the_batch(self):
        lacking = self._new("NoRetailer1")
        del lacking["retailer"]  # parsed: an update may omit it, a new order may not
        stats, savepoints = self._savepoints([self._new("Good2"), lacking, self._new("Good3")])
        self.assertEqual((stats["created"], stats["failed"]), (2, 1), stats)
        self.assertEqual(savepoints["ROLLBACK TO"], 1, "only its own savepoint")
        self.assertEqual(len(self.logs(("status", "=", "error"), ("message", "like", "NoRetailer1"))), 1)

    def test_the_same_order_twice_on_a_page_is_created_then_updated(self):
        stats, savepoints = self._savepoints(
            [self._new("Twice1", status="pending"), self._new("Other1"), self._new("Twice1", status="approved")]
        )
        self.assertEqual((stats["created"], stats["updated"]), (2, 1), stats)
        self.assertEqual(savepoints["ROLLBACK TO"], 0)
        sale = self.sale("Twice1")
        self.assertEqual((len(sale), sale.state, sale.marketplace_status), (1, "sale", "approved"))

    def test_new_orders_are_created_and_confirmed_together(self):
        with self.assertLogs("odoo.sql_db", "DEBUG") as sql:
            stats = self.pull([self._new(f"Batch{n}", status="approved") for n in range(6)])
        self.assertEqual(stats["created"], 6)
        inserts = {
            table: sum(f'query: INSERT INTO "{table}" (' in line for line in sql.output)
            for table in ("sale_order", "stock_move")
        }
        self.assertEqual(inserts, {"sale_order": 1, "stock_move": 1})
        sales = self.env["sale.order"].search([("cartona_id", "like", "Batch")])
        self.assertEqual(set(sales.mapped("state")), {"sale"})
        self.assertEqual(len(sales.picking_ids), 6, "a delivery per order")
        self.assertEqual(len(sales.picking_ids.group_id), 6)

    def test_each_status_of_a_page_does_what_it_does_alone(self):
        self.config.import_final_orders_live = True  # finished orders first seen, imported live
        page = [
            self._new("Mixed1", status="approved"),
            self._new("Mixed2", status="delivered"),
            self._new("Mixed3", status="cancelled_by_retailer", cancellation_reason="delayed_order"),
            self._new("Mixed4", status="pending"),
            self._new("Mixed5", status="assigned_to_salesman"),
        ]
        stats, savepoints = self._savepoints(page)
        self.assertEqual(stats["created"], 5)
        self.assertEqual(savepoints["ROLLBACK TO"], 0)
        approved, delivered, cancelled, pending, shipped = (self.sale(f"Mixed{n}") for n in range(1, 6))
        self.assertEqual((approved.state, approved.picking_ids.state), ("sale", "assigned"))
        self.assertEqual((delivered.state, delivered.picking_ids.state), ("sale", "done"))
        self.assertEqual(cancelled.state, "cancel")
        self.assertEqual((pending.state, pending.picking_ids), ("draft", self.env["stock.picking"]))
        self.assertEqual((shipped.state, shipped.picking_ids.state), ("sale", "assigned"))

    def test_an_order_failing_at_its_confirmation_fails_alone(self):
        status = type(self.env["marketplace.order.status"])
        reserve = status._reserve

        def refusing(self, sales):
            if "Unconfirmed2" in sales.mapped("cartona_id"):
                raise UserError(self.env._("refused"))
            return reserve(self, sales)

        page = [self._new(f"Unconfirmed{n}", status="approved") for n in range(1, 4)]
        with patch.object(status, "_reserve", refusing):
            stats, savepoints = self._savepoints(page)
        self.assertEqual((stats["created"], stats["failed"]), (2, 1), stats)
        self.assertGreaterEqual(savepoints["ROLLBACK TO"], 2, "the batch, then the order alone")
        self.assertEqual((self.sale("Unconfirmed1").state, self.sale("Unconfirmed3").state), ("sale", "sale"))
        self.assertFalse(self.sale("Unconfirmed2"))

    def test_a_serialization_failure_in_the_batch_ends_the_run(self):
        processor, lines = self.env["marketplace.order.processor"], type(self.env["marketplace.order.lines"])
        check_totals = lines._check_totals

        def conflicting(self, sale, order):
            if order.hashed_id == "Conflict2":
                raise psycopg2.errors.SerializationFailure("could not serialize access")
            return check_totals(self, sale, order)

        with (
            patch.object(lines, "_check_totals", conflicting),
            self.raises(psycopg2.errors.SerializationFailure),
        ):
            processor._process_page(self.config, [self._new("Conflict1"), self._new("Conflict2")])
        # The page's savepoint is rolled back, not Odoo's around the test: the
        # run retries whole, no order of it taken for a bad one.
        self.assertFalse(self.sale("Conflict1"))
        self.assertFalse(self.env["marketplace.parked.order"].search([]))
        self.assertFalse(self.logs(("status", "=", "error")))

    def test_writes_apart_join_the_transaction_inside_attached(self):
        log = self.env["marketplace.sync.log"]
        cursors = []
        log._run_detached(lambda env: cursors.append(env.cr))
        with log._attached():
            log._run_detached(lambda env: cursors.append(env.cr))
        log._run_detached(lambda env: cursors.append(env.cr))
        self.assertEqual([cr is self.env.cr for cr in cursors], [False, True, False])
