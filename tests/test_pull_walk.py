"""The pull walks what Cartona really serves, and acknowledges only what Odoo holds.

Cartona may serve fewer orders a page than asked, and the orders it is told
are read leave the list, shifting the pages after them: a walk ends on an
empty page, and the window moves only once a walk read all of it."""

from datetime import timedelta

from odoo import Command, fields
from odoo.exceptions import ValidationError

from odoo.addons.cartona_marketplace import const
from odoo.addons.cartona_marketplace.cartona import payloads
from odoo.addons.cartona_marketplace.models.marketplace_order_lines import (
    HELD_CONFIRMED_SUMMARY,
    HELD_EDIT_SUMMARY,
)
from odoo.addons.queue_job.tests.common import trap_jobs

from .common import BASE_URL, TOKEN, ImportCase, perform_jobs
from .test_order_edits import EditCase


def orders(count, prefix="W"):
    """``count`` pending orders of one line of rice."""
    return [
        {
            "hashed_id": f"{prefix}{i}",
            "status": "pending",
            "total_price": 30,
            "retailer": {"retailer_name": f"Shop {i}", "retailer_code": f"{prefix}-R{i}"},
            "order_details": [{"id": 9000 + i, "internal_product_id": "518#1", "amount": 1, "selling_price": 30}],
        }
        for i in range(1, count + 1)
    ]


class TestPullWalk(ImportCase):
    def setUp(self):
        super().setUp()
        self.state = self.env["marketplace.sync.state"]._of(self.config, "order_pull")
        self.http.post(self.url(const.ENDPOINT_PRODUCTS_BULK_UPDATE), json=[])  # the stock the orders reserve

    def acks(self, trap):
        return [job for job in trap.enqueued_jobs if job.method_name == "_acknowledge_orders"]

    def test_a_page_shorter_than_asked_does_not_end_the_walk(self):
        cartona = self.serve_cartona(*orders(5), max_per_page=2)
        with trap_jobs():
            stats = self.env["marketplace.order.pull"]._pull_and_process_orders(self.config)
        self.assertEqual(stats["created"], 5, "Cartona serves 2 a page where 50 were asked")
        self.assertEqual([params["page"] for params in cartona.requests], ["1", "2", "3", "4"])
        self.assertTrue(self.state.last_pull_date, "the walk ended on an empty page: it read the whole window")

    def test_after_an_outage_a_capped_cron_walk_reads_every_order_before_moving_the_window(self):
        """Cartona serves 2 orders a page; the pull asks 50. Orders acknowledged
        between two runs leave the list, shifting the pages under the walk."""
        now = fields.Datetime.now()
        self.state.last_pull_date = now - timedelta(hours=5)
        cartona = self.serve_cartona(max_per_page=2)
        cartona.list(*orders(5), when=now - timedelta(hours=3))
        api = self.env["marketplace.order.pull"]
        watermarks = []
        with trap_jobs() as trap:
            for _run in range(6):
                api._pull_next_page(self.config)
                watermarks.append(self.state.last_pull_date)
                perform_jobs(trap)  # the acknowledgements go out between two runs
        self.assertEqual([bool(self.sale(f"W{i}")) for i in range(1, 6)], [True] * 5, "no order fell out of the window")
        self.assertFalse(cartona.listed)
        self.assertEqual(set(watermarks[:-1]), {now - timedelta(hours=5)}, "walks that acknowledged keep the window")
        self.assertGreaterEqual(watermarks[-1], now, "a walk that acknowledged nothing read the whole window")

    def test_acknowledgements_read_the_window_again_page_by_page(self):
        """Three pages: three acknowledgements, each reads the pull's window again
        and stops where its orders are (on the first page, once those before
        them are acknowledged)."""
        self.config.pull_page_size = 2
        self.state.last_pull_date = fields.Datetime.now() - timedelta(hours=1)
        cartona = self.serve_cartona(*orders(6))
        with trap_jobs() as trap:
            self.env["marketplace.order.pull"]._pull_and_process_orders(self.config)
            acks = self.acks(trap)
            self.assertEqual([job.args[1]["page"] for job in acks], [1, 2, 3])
            pulled = len(cartona.requests)
            perform_jobs(trap)
        self.assertEqual(cartona.acknowledged, [f"W{i}" for i in range(1, 7)])
        rereads = cartona.requests[pulled:]
        self.assertEqual([params["page"] for params in rereads], ["1", "1", "1"])
        window = cartona.requests[0]["from"]
        self.assertEqual({params.get("from") for params in rereads}, {window}, "the pull's window, not all of it")

    def test_an_acknowledgement_reads_on_to_the_page_its_orders_were_read_on(self):
        self.config.pull_page_size = 2
        cartona = self.serve_cartona(*orders(4))
        with trap_jobs() as trap:
            self.env["marketplace.order.pull"]._pull_and_process_orders(self.config)
            first, second = self.acks(trap)
            trap.enqueued_jobs.remove(first)  # the first page is not acknowledged
            pulled = len(cartona.requests)
            perform_jobs(trap)
        self.assertEqual([params["page"] for params in cartona.requests[pulled:]], ["1", "2"])
        self.assertEqual(cartona.acknowledged, ["W3", "W4"])
        self.assertEqual(second.args[1]["page"], 2)

    def test_an_acknowledgement_reads_no_further_than_the_page_its_orders_were_read_on(self):
        cartona = self.serve_cartona(*orders(2))
        with trap_jobs() as trap:
            self.env["marketplace.order.pull"]._pull_and_process_orders(self.config)
            # The retailer changes W1, and many orders come before the acknowledgement.
            cartona.list(*orders(120, prefix="N"))
            cartona.list(dict(orders(1)[0], note_message="Ring twice"))
            pulled = len(cartona.requests)
            perform_jobs(trap)
        self.assertEqual(len(cartona.requests) - pulled, 1, "page 1 only, not the 3 pages of the list")
        self.assertEqual(cartona.acknowledged, ["W2"])
        log = self.logs(("operation_type", "=", "order_ack"), ("status", "=", "info"))
        self.assertIn("W1", log.message)

    def others(self, count):
        """``count`` orders of another supplier account on the token: read, and ignored."""
        self.config.supplier_code = "3"
        return [dict(order, supplier_code="1") for order in orders(count, prefix="Other")]

    def test_a_pull_stopped_by_the_page_cap_keeps_its_window(self):
        """Cartona lists a page more than the cap: the pull reads up to the cap
        and, not having read the whole window, keeps it."""
        self.config.pull_page_size = 1
        window = self.state.last_pull_date
        cartona = self.serve_cartona(*self.others(const.MAX_PULL_PAGES + 1))
        with trap_jobs():
            stats = self.pull_now()
        self.assertEqual(stats["ignored"], const.MAX_PULL_PAGES)
        self.assertEqual([int(params["page"]) for params in cartona.requests], list(range(1, const.MAX_PULL_PAGES + 1)))
        self.assertEqual(self.state.last_pull_date, window)
        # A page shorter, and the empty page before the cap ends the walk: the window moves.
        cartona.listed.popitem()
        cartona.listed.popitem()
        with trap_jobs():
            self.pull_now()
        self.assertGreater(self.state.last_pull_date, window)

    def test_the_cron_walk_stops_at_the_page_cap(self):
        self.config.pull_page_size = 1
        window = self.state.last_pull_date
        cartona = self.serve_cartona(*self.others(const.MAX_PULL_PAGES + 1))
        with trap_jobs():
            runs = 1
            while self.pull_next_page()[0]:
                runs += 1
        self.assertEqual(runs, const.MAX_PULL_PAGES)
        self.assertEqual(len(cartona.requests), const.MAX_PULL_PAGES)
        self.assertEqual(self.state.last_pull_date, window, "the walk did not read the whole window")
        self.assertEqual(self.state.pull_next_page, 1, "the next run starts a new walk")

    def test_the_hash_is_of_what_the_import_uses(self):
        """Cartona adds a field, or writes the keys in another order: the order
        is unchanged, and acknowledged."""
        data = orders(1)[0]
        cartona = self.serve_cartona(data)
        with trap_jobs() as trap:
            self.env["marketplace.order.pull"]._pull_and_process_orders(self.config)
            cartona.listed.clear()
            cartona.list(dict(reversed(list(dict(data, updated_at="2026-12-06 03:00:00").items()))))
            perform_jobs(trap)
        self.assertEqual(cartona.acknowledged, ["W1"])
        self.assertEqual(payloads.payload_hash(data), payloads.payload_hash(dict(data, updated_at="now")))
        self.assertNotEqual(payloads.payload_hash(data), payloads.payload_hash(dict(data, note_message="Ring twice")))

    def test_an_acknowledgement_queued_by_the_previous_version_leaves_its_orders_to_the_next_pull(self):
        data = orders(1)[0]
        cartona = self.serve_cartona(data)
        old_hash = "0" * 64  # a hash of the raw payload, as the previous version kept
        with trap_jobs() as trap:
            self.config.with_delay()._acknowledge_orders(["W1"], {"W1": old_hash})
            perform_jobs(trap)
        self.assertFalse(cartona.requests)
        self.assertFalse(cartona.acknowledged)
        with trap_jobs() as trap:
            self.env["marketplace.order.pull"]._pull_and_process_orders(self.config)
            perform_jobs(trap)
        self.assertEqual(cartona.acknowledged, ["W1"])


class TestHeldChanges(EditCase):
    """Cartona changes lines Odoo keeps as they are: the order is not
    acknowledged until Odoo has them, and a person is told once."""

    def pull_acks(self, data):
        self.http.reset()
        with trap_jobs() as trap:
            self.pull([data])
        return [job for job in trap.enqueued_jobs if job.method_name == "_acknowledge_orders"]

    def held(self, order, summary):
        return order.activity_ids.filtered(lambda activity: activity.summary == summary)

    def test_retailer_change_during_an_edit_is_not_acknowledged_until_applied(self):
        oil, rice = self.line(self.draft, "52001"), self.line(self.draft, "52002")
        trap = self.edit(self.draft, Command.update(oil.id, {"product_uom_qty": 3}))
        # Before the edit reaches Cartona, the retailer takes more rice and adds sugar.
        data = self.order_data("Qx7mK2aP", total_price=4 * 470 + 25 * 30 + 2 * 1.15)
        data["order_details"][1]["amount"] = 25
        data["order_details"].append(
            {"id": 52003, "supplier_product_id": "220790", "product_name": "Sugar", "amount": 2, "price": 1.15}
        )
        for _pull in range(2):
            self.assertFalse(self.pull_acks(data), "Cartona would never send the change again")
        self.assertEqual((oil.product_uom_qty, rice.product_uom_qty), (3, 20), "the user's edit stands")
        self.assertEqual(len(self.draft.order_line), 2)
        todo = self.held(self.draft, HELD_EDIT_SUMMARY)
        self.assertEqual(len(todo), 1, "told once, not at every pull")
        self.assertIn("Sugar: 2", todo.note)
        self.assertEqual(len(self.logs(("message", "like", "while an edit made in Odoo"))), 1)
        # The edit reaches Cartona, which then has both changes: Odoo takes them.
        self.serve_edits()
        self.push(trap)
        data["order_details"][0]["amount"] = 3
        data["total_price"] = 3 * 470 + 25 * 30 + 2 * 1.15
        acks = self.pull_acks(data)
        self.assertEqual(acks[0].args[0], ["Qx7mK2aP"])
        self.assertEqual(
            sorted(self.draft.order_line.mapped(lambda line: (line.cartona_line_id, line.product_uom_qty))),
            [("52001", 3), ("52002", 25), ("52003", 2)],
        )
        self.assertFalse(self.held(self.draft, HELD_EDIT_SUMMARY), "the to-do is done")

    def test_cartona_without_the_edit_yet_is_acknowledged(self):
        """Cartona's lines are what Odoo knew of them: only the user's edit,
        on its way, differs. Nothing to tell anyone."""
        oil = self.line(self.draft, "52001")
        self.edit(self.draft, Command.update(oil.id, {"product_uom_qty": 3}))
        self.assertTrue(self.pull_acks(self.order_data("Qx7mK2aP", note_message="Call first")))
        self.assertFalse(self.draft.activity_ids)

    def test_change_of_a_confirmed_order_is_not_acknowledged_until_applied(self):
        data = self.order_data("Lr4tN8wQ")
        data["order_details"][1]["amount"] = 9
        for _pull in range(2):
            self.assertFalse(self.pull_acks(data))
        todo = self.held(self.confirmed, HELD_CONFIRMED_SUMMARY)
        self.assertEqual(len(todo), 1)
        # However far the window moves, it reaches back to the held change.
        state = self.env["marketplace.sync.state"]._of(self.config, "order_pull")
        state.last_pull_date = fields.Datetime.now() + timedelta(days=1)
        self.assertEqual(
            self.env["marketplace.order.pull"]._pull_date_from(self.config, state),
            todo.create_date - timedelta(minutes=60),
        )
        # A person agrees with the retailer and sets Odoo's line to Cartona's.
        self.edit(self.confirmed, Command.update(self.line(self.confirmed, "52102").id, {"product_uom_qty": 9}))
        self.assertTrue(self.pull_acks(data))
        self.assertFalse(self.held(self.confirmed, HELD_CONFIRMED_SUMMARY))

    def test_a_product_tax_set_after_the_import_is_no_change_of_cartona_s_lines(self):
        # Imported without taxes (or with the configuration's, before 18.0.1.4.0); the
        # supplier then gives the products a VAT excluded from the price.
        vat = self.env["account.tax"].create({"name": "VAT 14 % excluded", "amount": 14, "price_include": False})
        self.confirmed.order_line.product_id.taxes_id = vat
        before = self.confirmed.order_line.read(["price_unit", "tax_id"])
        acks = self.pull_acks(self.order_data("Lr4tN8wQ", note_message="Call first"))
        self.assertEqual(acks[0].args[0], ["Lr4tN8wQ"], "Cartona's same lines are acknowledged")
        self.assertFalse(self.held(self.confirmed, HELD_CONFIRMED_SUMMARY))
        self.assertEqual(self.confirmed.order_line.read(["price_unit", "tax_id"]), before)


class TestSamePullRefused(ImportCase):
    def test_two_configurations_pulling_the_same_orders_are_refused(self):
        configs = self.env["marketplace.config"]
        self.config.supplier_code = "1"
        twin = {"name": "Twin", "api_base_url": BASE_URL, "auth_token": TOKEN}
        for vals in (
            dict(twin, supplier_code="1"),
            dict(twin, supplier_code=" 1 ", api_base_url=BASE_URL.rstrip("/")),
            dict(twin, supplier_code="1", api_base_url=BASE_URL.upper().replace("/CARTONA/API/V1/", "/cartona/api/v1")),
            dict(twin, api_base_url=BASE_URL + "/"),
        ):
            with self.subTest(vals=vals):
                with self.assertRaises(ValidationError) as caught:  # in a savepoint, as Odoo's is
                    configs.create(vals)
                self.assertIn("as Cartona (test)", str(caught.exception))
        # Another account on the token, or another token: fine.
        self.assertTrue(configs.create(dict(twin, supplier_code="2")))
        self.assertTrue(configs.create(dict(twin, name="Other", supplier_code="1", auth_token="other-token")))
