import hashlib
import json
import re
from datetime import timedelta
from unittest.mock import ANY

import responses

from odoo import fields

from odoo.addons.cartona_marketplace import const
from odoo.addons.cartona_marketplace.exceptions import MarketplaceDataError, MarketplacePermanentError
from odoo.addons.queue_job.tests.common import trap_jobs

from .common import CartonaCase, ImportCase, bad_orders, perform_jobs

# What no stored or logged text may carry (tab and newlines aside).
RAW_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
LOGGER = "odoo.addons.cartona_marketplace"
GOOD = ["Lr4tN8wQ", "Mn9bH3kT", "Qx7mK2aP"]


class TestBadStrings(ImportCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # What fails an order; the side fields left empty are tested with the hostile corpus.
        cls.cases = [case for case in bad_orders("control_character") if "field" in case]

    def processor(self):
        return self.env["marketplace.order.processor"]

    def mixed_page(self):
        """The good orders of the example page around the bad ones, the last
        one with tabs and line ends (CRLF too) in its free text."""
        bad = [case["payload"] for case in self.cases]
        free_text = self.order_data("Mn9bH3kT", note_message="Ring twice\r\nLeave it at the door\tthanks")
        free_text["order_details"][0]["comment"] = "same brand\nonly"
        return [self.order_data("Qx7mK2aP"), *bad[:7], self.order_data("Lr4tN8wQ"), *bad[7:], free_text]

    def assert_clean(self, *texts):
        for text in texts:
            self.assertFalse(RAW_CONTROL.search(text or ""), f"raw control character in {text!r}")

    def order_errors(self):
        return self.logs(("status", "=", "error"), ("operation_type", "=", "order_process"))

    def test_each_bad_string_names_its_field(self):
        self.assertGreaterEqual(len(self.cases), 12)
        for case in self.cases:
            with self.subTest(case=case["case"]):
                with self.raises(MarketplaceDataError) as caught:
                    self.processor()._process_marketplace_order(self.config, case["payload"])
                self.assertEqual(caught.exception.field, case["field"])
                self.assertIn(case["field"], str(caught.exception))
                self.assert_clean(str(caught.exception))

    def test_bad_orders_fail_alone_once_and_later_pulls_go_on(self):
        page = self.mixed_page()
        with self.assertLogs(LOGGER, "WARNING") as logged, trap_jobs() as trap:
            stats = self.pull(page)
        self.assertEqual((stats["created"], stats["failed"]), (3, len(self.cases)), stats)
        self.assertEqual(self.sale("Mn9bH3kT").cartona_note, "Ring twice\r\nLeave it at the door\tthanks")
        self.assertEqual(self.sale("Mn9bH3kT").order_line.cartona_comment, "same brand\nonly")
        self.assertFalse(self.env["sale.order"].search([("cartona_id", "like", "Bad%")]))
        # The good orders are acknowledged, in one request for the page.
        trap.assert_jobs_count(1, only=self.config._acknowledge_orders)
        self.http.post(self.url(const.ENDPOINT_ORDER_STATUS), json=[])
        self.http.post(self.url(const.ENDPOINT_PRODUCTS_BULK_UPDATE), json=[])
        perform_jobs(trap)
        acks = [call for call in self.http.calls if call.request.url.endswith(const.ENDPOINT_ORDER_STATUS)]
        self.assertEqual(len(acks), 1)
        self.assertEqual(sorted(item["hashed_id"] for item in json.loads(acks[0].request.body)), GOOD)

        # Each bad order: one error naming its field; it waits, visible, with
        # its payload kept whole; no raw control character stored or logged.
        errors = self.order_errors()
        self.assertEqual(len(errors), len(self.cases))
        waiting = self.env["marketplace.parked.order"].search([("marketplace_config_id", "=", self.config.id)])
        self.assertEqual(len(waiting), len(self.cases))
        for case in self.cases:
            with self.subTest(case=case["case"]):
                # An order whose id itself is bad waits under its escaped id.
                hashed_id = case["payload"]["hashed_id"].replace("\x00", "\\u0000")
                kept = waiting.filtered(lambda p, h=hashed_id: p.cartona_id == h)
                self.assertIn(case["field"], kept.reason)
                log = errors.filtered(lambda log, k=kept: log.res_model == k._name and log.res_id == k.id)
                self.assertIn(case["field"], log.message)
                if case["case"] != "nested deeper than 32 levels":
                    self.assertEqual(json.loads(kept.payload), case["payload"])
        for log in errors:
            self.assert_clean(log.message, log.error_details)
        for parked in waiting:
            self.assert_clean(parked.cartona_id, parked.payload, parked.reason)
        for activity in self.config.activity_ids:
            self.assert_clean(activity.summary, activity.note)
        self.assert_clean(*logged.output)

        # Pulled again unchanged: nothing new is logged, the waiting orders are
        # seen again, the good ones acknowledged again.
        waiting.last_seen = fields.Datetime.now() - timedelta(minutes=5)
        self.http.reset()
        with trap_jobs() as trap:
            stats = self.pull(page)
        self.assertEqual((stats["unchanged"], stats["failed"]), (3, len(self.cases)), stats)
        self.assertEqual(self.order_errors(), errors)
        self.assertTrue(all(p.last_seen > fields.Datetime.now() - timedelta(minutes=1) for p in waiting))
        trap.assert_enqueued_job(self.config._acknowledge_orders, args=(GOOD, ANY, ANY))

        # A bad order that changes is logged once more; a fixed one imports.
        changed = json.loads(json.dumps(page))
        changed[1]["note_message"] = "new note"
        changed[2]["order_details"][0]["internal_product_id"] = "518#1"
        self.http.reset()
        stats = self.pull(changed)
        self.assertEqual((stats["created"], stats["failed"]), (1, len(self.cases) - 1), stats)
        self.assertEqual(len(self.order_errors() - errors), 1)
        self.assertTrue(self.sale("BadInput02"))

    def test_order_nested_as_deep_as_json_allows_fails_alone(self):
        # Nearly as deep as Python's JSON decoder goes: refused, and kept cut,
        # without recursing that deep again.
        self.config.supplier_code = "1"  # an order's supplier code is then compared
        depth = 900
        head = json.dumps(self.order_data("Qx7mK2aP"))
        deep = json.dumps(self.order_data("Lr4tN8wQ", hashed_id="Deep1", supplier_code=None))
        body = f'[{head}, {deep[:-1]}, "supplier_code": {"[" * depth}{"]" * depth}}}]'
        self.http.get(self.url(const.ENDPOINT_PULL_ORDERS), body=body)
        self.http.get(self.url(const.ENDPOINT_PULL_ORDERS), json=[])
        with trap_jobs() as trap:
            stats = self.env["marketplace.order.pull"]._pull_and_process_orders(self.config)
        self.assertEqual((stats["created"], stats["failed"]), (1, 1), stats)
        trap.assert_enqueued_job(self.config._acknowledge_orders, args=(["Qx7mK2aP"], ANY, ANY))
        parked = self.env["marketplace.parked.order"].search([("cartona_id", "=", "Deep1")])
        self.assertIn("nested deeper than 32 levels", parked.reason)
        self.assertIn("…", parked.payload, "kept cut to what can be stored")
        self.assertEqual(len(self.order_errors()), 1)


class TestFailureBookkeeping(ImportCase):
    def test_order_whose_id_cannot_be_kept_stops_nothing(self):
        watermark = self.config.last_pull_date
        # An id too big for the database's unique index could be written
        # neither as a sale order nor as a waiting order: refused when read,
        # named in one readable line. (Hex digits do not compress.)
        chunks = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(250)]
        huge = self.order_data("Lr4tN8wQ", hashed_id="".join(chunks))
        page = [self.order_data("Qx7mK2aP"), huge, self.order_data("Mn9bH3kT")]
        with self.assertLogs(LOGGER, "ERROR") as logged, trap_jobs() as trap:
            stats = self.pull(page)
        self.assertEqual((stats["created"], stats["unidentified"]), (2, 1), stats)
        self.assertFalse([record for record in logged.records if "could not be recorded" in record.getMessage()])
        error = self.logs(("status", "=", "error"), ("operation_type", "=", "order_process"))
        self.assertEqual(len(error), 1)
        self.assertIn("hashed_id is longer than 255 characters (16000)", error.message)
        self.assertLess(len(error.message), 200)
        trap.assert_jobs_count(1, only=self.config._acknowledge_orders)
        trap.assert_enqueued_job(self.config._acknowledge_orders, args=(["Mn9bH3kT", "Qx7mK2aP"], ANY, ANY))
        self.assertFalse(self.env["marketplace.parked.order"].search([("marketplace_config_id", "=", self.config.id)]))
        # Not kept anywhere: the watermark waits for a pull that reads it.
        self.assertEqual(self.config.last_pull_date, watermark)
        # The next pull goes on.
        self.http.reset()
        stats = self.pull([self.order_data("Lr4tN8wQ")])
        self.assertEqual(stats["created"], 1)


class TestIdsInUrls(CartonaCase):
    def test_hashed_id_cannot_change_the_path(self):
        self.http.add(
            responses.POST, re.compile(re.escape(self.url("order/")) + ".*"), json={"success": True}, status=200
        )
        self.api._update_single_order_status(self.config, "a/../b?x=1#", "delivered", retailer_otp="1234")
        request = self.http.calls[0].request
        self.assertEqual(request.url, self.url("order/update-order-status/a%2F..%2Fb%3Fx%3D1%23"))
        self.assertEqual(json.loads(request.body)["hashed_id"], "a/../b?x=1#")
        # A dot segment would be resolved away by the URL parser: refused.
        for hashed_id in ("..", ".", ""):
            with self.subTest(hashed_id=hashed_id), self.raises(MarketplacePermanentError):
                self.api._update_single_order_status(self.config, hashed_id, "delivered")
        self.assertEqual(len(self.http.calls), 1)


class TestWaitingOrdersLogged(ImportCase):
    def test_waiting_order_logged_once_per_distinct_payload(self):
        data = self.order_data("Lr4tN8wQ")
        data["order_details"][2].update(supplier_product_id="888001", internal_product_id="888#1")
        self.pull([data])
        waiting = self.logs(("status", "=", "error"), ("res_model", "=", "marketplace.parked.order"))
        self.assertEqual(len(waiting), 1)
        self.http.reset()
        self.pull([data])
        self.assertEqual(self.logs(("status", "=", "error"), ("res_model", "=", "marketplace.parked.order")), waiting)
        # Cartona changed the order, still unmapped: a person hears of it again.
        data["order_details"][0]["amount"] = 3
        self.http.reset()
        self.pull([data])
        self.assertEqual(len(self.logs(("status", "=", "error"), ("res_model", "=", "marketplace.parked.order"))), 2)
        self.assertEqual(len(self.config.activity_ids), 1, "one activity per waiting order")
