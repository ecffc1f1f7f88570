from collections import Counter
from datetime import datetime, timedelta

import responses
from psycopg2 import IntegrityError

from odoo.tools import mute_logger

from odoo.addons.cartona_marketplace import const
from odoo.addons.queue_job.job import Job
from odoo.addons.queue_job.tests.common import trap_jobs

from .common import ImportCase, perform_jobs


class PollerCase(ImportCase):
    """Cartona (``self.cartona``) lists the orders not acknowledged yet."""

    def setUp(self):
        super().setUp()
        self.poller = self.env["marketplace.poller"]
        self.cartona = self.serve_cartona()
        self.http.post(self.url(const.ENDPOINT_PRODUCTS_BULK_UPDATE), json=[])

    def pulls(self):
        """The pages pulled: ``pull-orders`` requests but the one each
        acknowledgement makes to read its orders again."""
        acknowledgements = self.env["marketplace.sync.log"].search_count(
            [("operation_type", "=", "order_ack"), ("message", "like", "Acknowledged")]
        )
        return len(self.cartona.requests) - acknowledgements

    def next_polls(self, trap):
        """``[(config id, delay)]`` of the polls waiting in ``trap``, checking
        that each waits its delay (counted from the start of the poll before)."""
        polls = [job for job in trap.enqueued_jobs if job.method_name == "_poll"]
        for job in polls:
            wait = (job.eta - datetime.now()).total_seconds()
            self.assertTrue(job.args[1] - 2 < wait <= job.args[1], f"waits {wait} s, not {job.args[1]}")
        return [tuple(job.args) for job in polls]

    def step(self, trap):
        """Run the waiting jobs as the runner would; return the next polls."""
        perform_jobs(trap)
        return self.next_polls(trap)

    def run_job(self, record):
        """Run a stored job the way the job runner does."""
        job = Job.load(self.env, record.uuid)
        job.set_started()
        job.store()
        job.perform()
        job.set_done()
        job.store()

    def waiting(self, config=None):
        config = config or self.config
        return self.env["queue.job"].search(
            [("identity_key", "=", self.poller._identity(config.id)), ("state", "=", "pending")]
        )


class TestPoller(PollerCase):
    def test_speeds_up_under_traffic(self):
        self.cartona.list(*self.page[:2])
        with trap_jobs() as trap:
            self.env["marketplace.order.pull"]._cron_pull_orders()
            self.assertEqual(self.next_polls(trap), [(self.config.id, 3)], "orders came: poll again in 3 s")
            self.cartona.list(*self.page[2:])
            self.assertEqual(self.step(trap), [(self.config.id, 6)], "the walk's empty page: twice the wait")
            self.assertEqual(self.step(trap), [(self.config.id, 3)])
            self.assertTrue(self.sale("Pz2cV6yE"), "the poll imported the new orders")
            self.assertEqual(self.step(trap), [(self.config.id, 6)], "one idle poll: twice the wait")
            # A change on Cartona is news too.
            self.cartona.list(self.order_data(self.page[0]["hashed_id"], status="approved"))
            self.assertEqual(self.step(trap), [(self.config.id, 3)], "orders again: fast again")
        self.assertEqual(self.pulls(), 5)

    def test_backs_off_when_idle_down_to_the_cron(self):
        with trap_jobs() as trap:
            self.poller._schedule(self.config, 0)
            delays = []
            while polls := self.next_polls(trap):
                delays.append(polls[0][1])
                self.step(trap)
            self.assertEqual(delays, [3, 6, 12, 24, 48])
            self.assertEqual(self.pulls(), 5)
            # The minute cron polls from now on, and starts the poller again
            # once orders come.
            self.env["marketplace.order.pull"]._cron_pull_orders()
            self.assertEqual(self.next_polls(trap), [])
            self.cartona.list(*self.page[:1])
            self.env["marketplace.order.pull"]._cron_pull_orders()
            self.assertEqual(self.next_polls(trap), [(self.config.id, 3)])
        self.assertEqual(self.pulls(), 7)

    def test_orders_that_come_back_the_same_are_no_traffic(self):
        """An order waiting for a product comes back at every pull until it is
        imported: the poller backs off all the same."""
        waiting = self.order_data("Qx7mK2aP")
        for line in waiting["order_details"]:
            line.update(supplier_product_id="999999", internal_product_id="999#9")
        self.cartona.list(waiting)
        with trap_jobs() as trap:
            self.poller._schedule(self.config, 0)
            self.assertEqual([self.step(trap)[0][1] for _i in range(3)], [6, 12, 24])
        self.assertEqual(self.env["marketplace.parked.order"].search_count([("cartona_id", "=", "Qx7mK2aP")]), 1)

    def test_outage_backs_off_too(self):
        self.http.replace(responses.GET, self.url(const.ENDPOINT_PULL_ORDERS), status=503, body="down")
        with trap_jobs() as trap:
            self.poller._schedule(self.config, 0)
            self.assertEqual(self.step(trap), [(self.config.id, 6)])
        self.assertIn("503", self.config.last_error)

    def test_respects_the_floor(self):
        with self.assertRaises(IntegrityError), mute_logger("odoo.sql_db"):
            self.config.pull_poll_floor = 0
            self.env.flush_all()
        self.config.pull_poll_floor = 10
        self.cartona.list(*self.page[:1])
        with trap_jobs() as trap:
            self.poller._schedule(self.config, 0)
            self.assertEqual(self.next_polls(trap), [(self.config.id, 10)])
            self.assertEqual(self.step(trap), [(self.config.id, 10)], "under traffic: the floor")
            self.assertEqual(self.step(trap), [(self.config.id, 20)])
            self.assertEqual(self.step(trap), [(self.config.id, 40)])
            self.assertEqual(self.step(trap), [], "80 s is past the cron's minute")
            # A chain started under an older, lower floor waits the new one.
            self.poller._poll(self.config.id, 1)
            self.assertEqual(self.next_polls(trap), [(self.config.id, 20)])

    def test_stops_when_disabled_or_archived(self):
        for change in ({"auto_pull_orders": False}, {"active": False}):
            with self.subTest(change=change), trap_jobs() as trap:
                self.config.write({"auto_pull_orders": True, "active": True})
                self.poller._schedule(self.config, 0)
                self.config.write(change)
                self.assertEqual(self.step(trap), [])
                self.assertEqual(self.pulls(), 0)
        self.config.unlink()
        self.assertIn("Stopped", self.poller._poll(self.config.id, 3))

    def test_one_per_configuration(self):
        other = self.config.copy({"name": "Other account", "auth_token": "another-token"})
        # Stored jobs, as in production: the identity key lets one wait per configuration.
        self.poller._schedule(self.config, 0)
        self.poller._schedule(self.config, 12)
        self.poller._schedule(other, 0)
        self.assertEqual(len(self.waiting()), 1)
        self.assertEqual(self.waiting().channel, "root.marketplace_poll")
        self.assertEqual(len(self.waiting(other)), 1)
        # The cron leaves a configuration whose poll waits to its poller.
        self.env["marketplace.order.pull"]._cron_pull_orders()
        self.assertEqual(self.pulls(), 0)
        # The pull lock keeps one pull at a time: a poll that meets a running
        # pull skips it, and waits longer.
        self.env.cr.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [const.PULL_LOCK_KEY, self.config.id])
        self.assertEqual(self.env["marketplace.order.pull"]._pull_next_page(self.config), (False, Counter()))

    def test_a_stuck_poll_does_not_stop_the_cron(self):
        """No job runner, or its job left enqueued: a poll overdue by more than
        the cron's minute no longer keeps the cron from pulling."""
        self.poller._schedule(self.config, 0)
        stuck = self.waiting()
        stuck = stuck.with_context(_job_edit_sentinel=stuck.EDIT_SENTINEL)  # as the runner writes it
        overdue = datetime.now() - timedelta(seconds=const.POLL_CRON_SECONDS + 5)
        stuck.write({"eta": overdue})
        self.cartona.list(*self.page[:1])
        self.env["marketplace.order.pull"]._cron_pull_orders()
        self.assertEqual(self.pulls(), 1)
        self.assertTrue(self.sale(self.page[0]["hashed_id"]))
        # Stuck enqueued, or never given an eta: the same.
        for vals in ({"state": "enqueued"}, {"eta": False, "date_created": overdue}):
            stuck.write(vals)
            self.env["marketplace.order.pull"]._cron_pull_orders()
        self.assertEqual(self.pulls(), 3)
        # A poll due soon still has the configuration to itself.
        stuck.write({"state": "pending", "eta": datetime.now() + timedelta(seconds=3)})
        self.env["marketplace.order.pull"]._cron_pull_orders()
        self.assertEqual(self.pulls(), 3)

    def test_resumes_after_a_restart(self):
        self.config.pull_page_size = 1
        self.cartona.list(*self.page[:1])
        self.env["marketplace.order.pull"]._cron_pull_orders()
        left = self.waiting()
        self.assertEqual(len(left), 1, "the poll is stored, with its eta: it outlives the server")
        self.assertTrue(left.eta)
        # The server restarts: the runner finds the job pending and runs it.
        self.env.invalidate_all()
        self.cartona.list(*self.page[1:2])
        self.run_job(left)
        self.assertEqual(left.state, "done")
        self.assertTrue(self.sale("Lr4tN8wQ"))
        successor = self.waiting()
        self.assertEqual(len(successor), 1)
        self.assertNotEqual(successor, left)
        self.assertEqual(successor.args, [self.config.id, 3])
        # A chain that is lost (a failed job, a job deleted) is started again
        # by the minute cron once orders come.
        successor.unlink()
        self.cartona.list(*self.page[2:3])
        self.env["marketplace.order.pull"]._cron_pull_orders()
        self.assertEqual(len(self.waiting()), 1)

    def test_idle_poll_costs_one_request_and_few_queries(self):
        self.poller._poll(self.config.id, 3)  # warm the caches
        self.waiting().unlink()
        self.http.calls.reset()
        self.env.invalidate_all()  # a job starts with nothing in its cache
        # Among them, the pull window's bounds: the oldest waiting order and held change.
        with self.assertQueryCount(16):
            self.poller._poll(self.config.id, 3)
        self.assertEqual(len(self.http.calls), 1)
        self.assertEqual(self.waiting().args, [self.config.id, 6])


class TestPromptPushes(PollerCase):
    def test_order_jobs_go_first_and_at_once(self):
        """What goes out to Cartona waits for nothing but the commit: no eta,
        and in the marketplace channel (one job at a time) an order's status
        push and acknowledgement pass the product publications waiting there."""
        jobs = self.env["queue.job"]
        self.env["marketplace.publication"]._add(self.config, self.oil, ["stock"])
        self.cartona.list(*self.page[:1])
        self.env["marketplace.order.pull"]._pull_and_process_orders(self.config)
        self.sale("Qx7mK2aP").action_confirm()
        publish, ack, push = (
            jobs.search([("method_name", "=", name)])
            for name in ("_publish_pending", "_acknowledge_orders", "_push_marketplace_status")
        )
        self.assertEqual((bool(publish), len(ack), len(push)), (True, 1, 1))
        for job in publish | ack | push:
            self.assertEqual((job.channel, job.eta), ("root.marketplace", False))
        self.assertEqual((ack.priority, push.priority), (5, 5))
        self.assertEqual(set(publish.mapped("priority")), {10})
